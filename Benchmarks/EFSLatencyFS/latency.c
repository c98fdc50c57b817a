// Per-call delays and injected errors. Both run in the FUSE worker thread that serves the
// request, so requests in flight on different threads wait at the same time, as RPCs to a
// network filesystem do.
#include "efsfs.h"

#include <errno.h>
#include <string.h>
#include <time.h>

// Set when an operation has already paid for the getattr that libfuse's high-level layer runs
// right after it in the same thread, which happens after create, mkdir, mknod, symlink, link
// and each setattr step. NFS returns those attributes in the same compound as the change, so
// one request pays one delay.
static _Thread_local bool prepaid_getattr;

void efsfs_sleep_us(long microseconds) {
    if (microseconds <= 0) {
        return;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += microseconds / 1000000;
    deadline.tv_nsec += (microseconds % 1000000) * 1000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000;
    }

    // An absolute deadline keeps the total sleep correct when a signal interrupts it.
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR) {
    }
}

void efsfs_pay_delay(enum efsfs_delay_class delay_class) {
    switch (delay_class) {
    case EFSFS_DELAY_METADATA:
        efsfs_sleep_us(efsfs_config.metadata_delay_us);
        break;
    case EFSFS_DELAY_READ:
        efsfs_sleep_us(efsfs_config.read_delay_us);
        break;
    case EFSFS_DELAY_WRITE:
        efsfs_sleep_us(efsfs_config.write_delay_us);
        break;
    case EFSFS_DELAY_NONE:
        break;
    }
}

void efsfs_mark_prepaid(void) {
    prepaid_getattr = true;
}

bool efsfs_take_prepaid(void) {
    bool was_prepaid = prepaid_getattr;
    prepaid_getattr = false;
    return was_prepaid;
}

static bool rule_matches(const struct efsfs_fault_rule *rule, enum efsfs_op op,
                         const char *path, const char *second_path) {
    if (rule->op != EFSFS_OP_ANY && rule->op != op) {
        return false;
    }
    if (rule->substring[0] == '\0') {
        return true;
    }
    if (path != NULL && strstr(path, rule->substring) != NULL) {
        return true;
    }
    return second_path != NULL && strstr(second_path, rule->substring) != NULL;
}

// Returns 0, or the negative errno of the first --fail rule that fails this call. Every
// matching rule counts the call, so each rule's --fail-after counts on its own.
int efsfs_injected_error(enum efsfs_op op, const char *path, const char *second_path) {
    int result = 0;
    for (size_t index = 0; index < efsfs_config.fault_rule_count; index++) {
        struct efsfs_fault_rule *rule = &efsfs_config.fault_rules[index];
        if (!rule_matches(rule, op, path, second_path)) {
            continue;
        }

        unsigned long call_number = atomic_fetch_add(&rule->matched_calls, 1) + 1;
        if (call_number <= rule->skip_count) {
            continue;
        }
        if (rule->fail_count != 0 && call_number > rule->skip_count + rule->fail_count) {
            continue;
        }
        if (result == 0) {
            result = -rule->error_number;
        }
    }
    return result;
}
