// Shared declarations of efs-latency-fs: the configuration that the command line sets, the
// delay classes, the fault-injection rules and the filesystem operations table.
#ifndef EFSFS_H
#define EFSFS_H

// Package.swift defines FUSE_USE_VERSION 35 for this target. The 3.12 API is needed for
// fuse_loop_cfg_set_max_threads(), and libfuse 3.14 (Debian 12) provides it.
#undef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312

#include <fuse.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Exit status for usage errors, as swift-argument-parser and sysexits.h (EX_USAGE) use.
#define EFSFS_EXIT_USAGE 64

enum efsfs_delay_class {
    EFSFS_DELAY_NONE,
    EFSFS_DELAY_METADATA,
    EFSFS_DELAY_READ,
    EFSFS_DELAY_WRITE,
};

// Operations that a --fail rule can name. EFSFS_OP_ANY matches all of them.
enum efsfs_op {
    EFSFS_OP_ANY,
    EFSFS_OP_GETATTR,
    EFSFS_OP_READLINK,
    EFSFS_OP_MKNOD,
    EFSFS_OP_MKDIR,
    EFSFS_OP_UNLINK,
    EFSFS_OP_RMDIR,
    EFSFS_OP_SYMLINK,
    EFSFS_OP_RENAME,
    EFSFS_OP_LINK,
    EFSFS_OP_CHMOD,
    EFSFS_OP_CHOWN,
    EFSFS_OP_TRUNCATE,
    EFSFS_OP_OPEN,
    EFSFS_OP_READ,
    EFSFS_OP_WRITE,
    EFSFS_OP_STATFS,
    EFSFS_OP_FLUSH,
    EFSFS_OP_FSYNC,
    EFSFS_OP_SETXATTR,
    EFSFS_OP_GETXATTR,
    EFSFS_OP_LISTXATTR,
    EFSFS_OP_REMOVEXATTR,
    EFSFS_OP_OPENDIR,
    EFSFS_OP_READDIR,
    EFSFS_OP_ACCESS,
    EFSFS_OP_CREATE,
    EFSFS_OP_UTIMENS,
    EFSFS_OP_FALLOCATE,
    EFSFS_OP_COPY_FILE_RANGE,
    EFSFS_OP_LSEEK,
    EFSFS_OP_COUNT,
};

// One --fail rule: calls of `op` whose path contains `substring` fail with `error_number`
// after `skip_count` matching calls have succeeded, at most `fail_count` times (0: no limit).
struct efsfs_fault_rule {
    enum efsfs_op op;
    int error_number;
    char *substring;
    unsigned long skip_count;
    unsigned long fail_count;
    atomic_ulong matched_calls;
};

struct efsfs_config {
    const char *backing_path;
    const char *mountpoint_path;
    int backing_fd;

    long metadata_delay_us;
    long read_delay_us;
    long write_delay_us;

    double attr_timeout;
    double entry_timeout;
    double negative_timeout;

    unsigned max_threads;
    bool no_xattr;
    bool no_seek_hole;
    bool no_copy_file_range;
    bool no_fallocate;
    bool auto_cache;
    bool default_permissions;
    bool foreground;
    bool debug;

    // Extra libfuse options from -o, comma-separated, or NULL.
    char *fuse_options;

    struct efsfs_fault_rule *fault_rules;
    size_t fault_rule_count;
};

extern struct efsfs_config efsfs_config;

// options.c
int efsfs_parse_arguments(int argc, char **argv, struct efsfs_config *config);
const char *efsfs_op_name(enum efsfs_op op);

// latency.c
void efsfs_sleep_us(long microseconds);
void efsfs_pay_delay(enum efsfs_delay_class delay_class);
void efsfs_mark_prepaid(void);
bool efsfs_take_prepaid(void);
int efsfs_injected_error(enum efsfs_op op, const char *path, const char *second_path);

// operations.c
extern const struct fuse_operations efsfs_operations;

#endif
