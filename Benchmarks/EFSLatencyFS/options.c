// Command-line parsing and help text, in the layout that swift-argument-parser prints so
// that this tool reads like the rest of the package.
#include "efsfs.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help_text[] =
    "OVERVIEW: Mount a folder through FUSE with EFS-like latency on every operation.\n"
    "\n"
    "Serves BACKING at MOUNTPOINT as a multithreaded passthrough filesystem. Each\n"
    "request sleeps in the FUSE thread that serves it, so requests in flight overlap\n"
    "as RPCs to Amazon EFS do. Run as root: the mount uses allow_other and gives\n"
    "created files the caller's uid and gid. Unmount with 'fusermount3 -u MOUNTPOINT'.\n"
    "\n"
    "Delay classes:\n"
    "  metadata  getattr (lookup, stat), readlink, readdir, opendir, mkdir, mknod,\n"
    "            create, open, unlink, rmdir, symlink, link, rename, chmod, chown,\n"
    "            truncate, utimens, statfs, access, fsync, lseek and the xattr calls\n"
    "  read      each read request, and copy_file_range\n"
    "  write     each write request, fallocate, and copy_file_range\n"
    "flush and release have no delay, because the Linux NFS client closes files\n"
    "asynchronously.\n"
    "\n"
    "Fault rules (--fail OP:ERRNO[:SUBSTRING]):\n"
    "  OP         getattr, readlink, mknod, mkdir, unlink, rmdir, symlink, rename,\n"
    "             link, chmod, chown, truncate, open, create, read, write, statfs,\n"
    "             flush, fsync, setxattr, getxattr, listxattr, removexattr, opendir,\n"
    "             readdir, access, utimens, fallocate, copy_file_range, lseek, or any.\n"
    "             'lookup' and 'stat' are names for getattr. open(2) with O_CREAT of a\n"
    "             new file is 'create'.\n"
    "  ERRNO      A name such as EIO, ENOSPC, EACCES, EPERM, ENOENT, or a number.\n"
    "  SUBSTRING  Matched against the path inside the mount, which starts with '/'.\n"
    "             It may contain ':'. Empty or missing matches every path. rename and\n"
    "             link match either path.\n"
    "--fail-after N and --fail-times N apply to the --fail rule before them. Example:\n"
    "'--fail read:EIO:big.bin --fail-after 2 --fail-times 1' fails only the third read\n"
    "request on a path that contains 'big.bin'.\n"
    "\n"
    "USAGE: efs-latency-fs <backing> <mountpoint> [<options>]\n"
    "\n"
    "ARGUMENTS:\n"
    "  <backing>               Existing folder whose contents the mount serves.\n"
    "  <mountpoint>            Existing folder to mount on.\n"
    "\n"
    "OPTIONS:\n"
    "  --metadata-delay-us <microseconds>\n"
    "                          Delay of each metadata request, in microseconds.\n"
    "                          (default: 1000)\n"
    "  --read-delay-us <microseconds>\n"
    "                          Delay of each read request, in microseconds. (default:\n"
    "                          0)\n"
    "  --write-delay-us <microseconds>\n"
    "                          Delay of each write request, in microseconds.\n"
    "                          (default: 0)\n"
    "  --attr-timeout <seconds>\n"
    "                          How long the kernel caches attributes, in seconds.\n"
    "                          (default: 0)\n"
    "  --entry-timeout <seconds>\n"
    "                          How long the kernel caches a name lookup, in seconds.\n"
    "                          (default: 0)\n"
    "  --negative-timeout <seconds>\n"
    "                          How long the kernel caches a failed name lookup, in\n"
    "                          seconds. (default: 0)\n"
    "  --threads <count>       Maximum number of FUSE worker threads, which is the\n"
    "                          maximum number of requests in flight. (default: 64)\n"
    "  --no-xattr              Reject getxattr, setxattr and removexattr with ENOTSUP\n"
    "                          and list no xattrs, as an EFS (NFSv4.1) mount does.\n"
    "                          This includes the system.posix_acl_* ACL xattrs.\n"
    "  --no-seek-hole          Report every file as one data extent to SEEK_DATA and\n"
    "                          SEEK_HOLE, as the Linux NFSv4.1 client does.\n"
    "  --no-copy-file-range    Reject copy_file_range so that the kernel copies\n"
    "                          through read and write requests.\n"
    "  --no-fallocate          Reject fallocate with EOPNOTSUPP, as an NFSv4.1 mount\n"
    "                          does.\n"
    "  --auto-cache            Keep a file's page cache across opens while its mtime\n"
    "                          and size stay the same (libfuse auto_cache). Without\n"
    "                          it, each open drops the file's cached pages.\n"
    "  --default-permissions   Let the kernel check permissions from the file modes\n"
    "                          (default_permissions). Without it, only access(2) is\n"
    "                          checked against the caller.\n"
    "  --fail <rule>           Fail matching calls with an errno, as described above.\n"
    "                          Repeatable.\n"
    "  --fail-after <count>    Number of matching calls that succeed before the\n"
    "                          previous --fail rule starts failing. (default: 0)\n"
    "  --fail-times <count>    Number of calls that the previous --fail rule fails,\n"
    "                          after which calls succeed again; 0 means no limit.\n"
    "                          (default: 0)\n"
    "  -o <options>            Extra libfuse mount options, comma-separated.\n"
    "                          Repeatable.\n"
    "  -f, --foreground        Stay in the foreground instead of daemonizing.\n"
    "  -d, --debug             Log every FUSE request to stderr (implies -f).\n"
    "  -h, --help              Show help information.\n";

struct named_value {
    const char *name;
    int value;
};

static const struct named_value errno_names[] = {
    {"EPERM", EPERM},         {"ENOENT", ENOENT},     {"EINTR", EINTR},
    {"EIO", EIO},             {"ENXIO", ENXIO},       {"E2BIG", E2BIG},
    {"EBADF", EBADF},         {"EAGAIN", EAGAIN},     {"ENOMEM", ENOMEM},
    {"EACCES", EACCES},       {"EFAULT", EFAULT},     {"EBUSY", EBUSY},
    {"EEXIST", EEXIST},       {"EXDEV", EXDEV},       {"ENODEV", ENODEV},
    {"ENOTDIR", ENOTDIR},     {"EISDIR", EISDIR},     {"EINVAL", EINVAL},
    {"ENFILE", ENFILE},       {"EMFILE", EMFILE},     {"ETXTBSY", ETXTBSY},
    {"EFBIG", EFBIG},         {"ENOSPC", ENOSPC},     {"ESPIPE", ESPIPE},
    {"EROFS", EROFS},         {"EMLINK", EMLINK},     {"ERANGE", ERANGE},
    {"EDEADLK", EDEADLK},     {"ENAMETOOLONG", ENAMETOOLONG},
    {"ENOLCK", ENOLCK},       {"ENOSYS", ENOSYS},     {"ENOTEMPTY", ENOTEMPTY},
    {"ELOOP", ELOOP},         {"ENODATA", ENODATA},   {"ENOTSUP", ENOTSUP},
    {"EOPNOTSUPP", EOPNOTSUPP}, {"EOVERFLOW", EOVERFLOW}, {"ETIMEDOUT", ETIMEDOUT},
    {"ECONNRESET", ECONNRESET}, {"ESTALE", ESTALE},   {"EDQUOT", EDQUOT},
    {"ENOTCONN", ENOTCONN},   {"ECANCELED", ECANCELED},
};

static const struct named_value op_names[] = {
    {"any", EFSFS_OP_ANY},
    {"getattr", EFSFS_OP_GETATTR},
    {"lookup", EFSFS_OP_GETATTR},
    {"stat", EFSFS_OP_GETATTR},
    {"readlink", EFSFS_OP_READLINK},
    {"mknod", EFSFS_OP_MKNOD},
    {"mkdir", EFSFS_OP_MKDIR},
    {"unlink", EFSFS_OP_UNLINK},
    {"rmdir", EFSFS_OP_RMDIR},
    {"symlink", EFSFS_OP_SYMLINK},
    {"rename", EFSFS_OP_RENAME},
    {"link", EFSFS_OP_LINK},
    {"chmod", EFSFS_OP_CHMOD},
    {"chown", EFSFS_OP_CHOWN},
    {"truncate", EFSFS_OP_TRUNCATE},
    {"open", EFSFS_OP_OPEN},
    {"read", EFSFS_OP_READ},
    {"write", EFSFS_OP_WRITE},
    {"statfs", EFSFS_OP_STATFS},
    {"flush", EFSFS_OP_FLUSH},
    {"fsync", EFSFS_OP_FSYNC},
    {"setxattr", EFSFS_OP_SETXATTR},
    {"getxattr", EFSFS_OP_GETXATTR},
    {"listxattr", EFSFS_OP_LISTXATTR},
    {"removexattr", EFSFS_OP_REMOVEXATTR},
    {"opendir", EFSFS_OP_OPENDIR},
    {"readdir", EFSFS_OP_READDIR},
    {"access", EFSFS_OP_ACCESS},
    {"create", EFSFS_OP_CREATE},
    {"utimens", EFSFS_OP_UTIMENS},
    {"fallocate", EFSFS_OP_FALLOCATE},
    {"copy_file_range", EFSFS_OP_COPY_FILE_RANGE},
    {"lseek", EFSFS_OP_LSEEK},
};

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

const char *efsfs_op_name(enum efsfs_op op) {
    for (size_t index = 0; index < COUNT_OF(op_names); index++) {
        if (op_names[index].value == (int)op) {
            return op_names[index].name;
        }
    }
    return "unknown";
}

// Prints one "Error: ..." line to stderr and exits with the usage status.
static _Noreturn void usage_error(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fputs("Error: ", stderr);
    vfprintf(stderr, format, arguments);
    fputs(" See 'efs-latency-fs --help'.\n", stderr);
    va_end(arguments);
    exit(EFSFS_EXIT_USAGE);
}

static long parse_count(const char *option, const char *text, long maximum) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 0 || value > maximum) {
        usage_error("The value '%s' is invalid for '%s': expected an integer from 0 to %ld.",
                    text, option, maximum);
    }
    return value;
}

static double parse_seconds(const char *option, const char *text) {
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(value >= 0) || value > 86400.0) {
        usage_error("The value '%s' is invalid for '%s': expected seconds from 0 to 86400.",
                    text, option);
    }
    return value;
}

static int parse_errno(const char *text, const char *rule) {
    for (size_t index = 0; index < COUNT_OF(errno_names); index++) {
        if (strcasecmp(errno_names[index].name, text) == 0) {
            return errno_names[index].value;
        }
    }
    char *end = NULL;
    long number = strtol(text, &end, 10);
    if (end != text && *end == '\0' && number > 0 && number < 4096) {
        return (int)number;
    }
    usage_error("The value '%s' is invalid for '--fail': unknown errno '%s'.", rule, text);
}

static void add_fault_rule(struct efsfs_config *config, const char *rule) {
    const char *first_colon = strchr(rule, ':');
    if (first_colon == NULL) {
        usage_error("The value '%s' is invalid for '--fail': expected OP:ERRNO[:SUBSTRING].",
                    rule);
    }
    const char *second_colon = strchr(first_colon + 1, ':');
    size_t errno_length = second_colon != NULL ? (size_t)(second_colon - first_colon - 1)
                                               : strlen(first_colon + 1);

    char *op_text = strndup(rule, (size_t)(first_colon - rule));
    char *errno_text = strndup(first_colon + 1, errno_length);
    const char *substring = second_colon != NULL ? second_colon + 1 : "";

    int op = -1;
    for (size_t index = 0; index < COUNT_OF(op_names); index++) {
        if (strcmp(op_names[index].name, op_text) == 0) {
            op = op_names[index].value;
        }
    }
    if (op < 0) {
        usage_error("The value '%s' is invalid for '--fail': unknown operation '%s'.", rule,
                    op_text);
    }

    struct efsfs_fault_rule *rules = realloc(
        config->fault_rules, (config->fault_rule_count + 1) * sizeof(struct efsfs_fault_rule));
    if (rules == NULL) {
        usage_error("Out of memory while reading '--fail %s'.", rule);
    }
    config->fault_rules = rules;

    struct efsfs_fault_rule *added = &rules[config->fault_rule_count];
    added->op = (enum efsfs_op)op;
    added->error_number = parse_errno(errno_text, rule);
    added->substring = strdup(substring);
    added->skip_count = 0;
    added->fail_count = 0;
    atomic_init(&added->matched_calls, 0);
    config->fault_rule_count += 1;

    free(op_text);
    free(errno_text);
}

static struct efsfs_fault_rule *last_fault_rule(struct efsfs_config *config,
                                                const char *option) {
    if (config->fault_rule_count == 0) {
        usage_error("'%s' must follow a '--fail' rule.", option);
    }
    return &config->fault_rules[config->fault_rule_count - 1];
}

static void append_fuse_options(struct efsfs_config *config, const char *options) {
    if (config->fuse_options == NULL) {
        config->fuse_options = strdup(options);
        return;
    }
    size_t length = strlen(config->fuse_options) + 1 + strlen(options) + 1;
    char *joined = malloc(length);
    if (joined == NULL) {
        usage_error("Out of memory while reading '-o %s'.", options);
    }
    snprintf(joined, length, "%s,%s", config->fuse_options, options);
    free(config->fuse_options);
    config->fuse_options = joined;
}

// Matches `argument` against an option that takes a value, as "--name value" or
// "--name=value". Returns the value, or NULL when the argument is another option.
static const char *option_value(const char *name, int argc, char **argv, int *index) {
    const char *argument = argv[*index];
    size_t name_length = strlen(name);
    if (strncmp(argument, name, name_length) != 0) {
        return NULL;
    }
    if (argument[name_length] == '=') {
        return argument + name_length + 1;
    }
    if (argument[name_length] != '\0') {
        return NULL;
    }
    if (*index + 1 >= argc) {
        usage_error("Missing value for '%s'.", name);
    }
    *index += 1;
    return argv[*index];
}

int efsfs_parse_arguments(int argc, char **argv, struct efsfs_config *config) {
    const char *positionals[2] = {NULL, NULL};
    int positional_count = 0;
    bool only_positionals = false;

    for (int index = 1; index < argc; index++) {
        const char *argument = argv[index];
        const char *value = NULL;

        if (only_positionals || argument[0] != '-' || argument[1] == '\0') {
            if (positional_count == 2) {
                usage_error("Unexpected argument '%s'.", argument);
            }
            positionals[positional_count++] = argument;
        } else if (strcmp(argument, "--") == 0) {
            only_positionals = true;
        } else if (strcmp(argument, "-h") == 0 || strcmp(argument, "--help") == 0) {
            fputs(help_text, stdout);
            exit(0);
        } else if ((value = option_value("--metadata-delay-us", argc, argv, &index))) {
            config->metadata_delay_us = parse_count("--metadata-delay-us", value, 60000000);
        } else if ((value = option_value("--read-delay-us", argc, argv, &index))) {
            config->read_delay_us = parse_count("--read-delay-us", value, 60000000);
        } else if ((value = option_value("--write-delay-us", argc, argv, &index))) {
            config->write_delay_us = parse_count("--write-delay-us", value, 60000000);
        } else if ((value = option_value("--attr-timeout", argc, argv, &index))) {
            config->attr_timeout = parse_seconds("--attr-timeout", value);
        } else if ((value = option_value("--entry-timeout", argc, argv, &index))) {
            config->entry_timeout = parse_seconds("--entry-timeout", value);
        } else if ((value = option_value("--negative-timeout", argc, argv, &index))) {
            config->negative_timeout = parse_seconds("--negative-timeout", value);
        } else if ((value = option_value("--threads", argc, argv, &index))) {
            config->max_threads = (unsigned)parse_count("--threads", value, 100000);
            if (config->max_threads == 0) {
                usage_error("The value '%s' is invalid for '--threads': expected at least 1.",
                            value);
            }
        } else if ((value = option_value("--fail-after", argc, argv, &index))) {
            last_fault_rule(config, "--fail-after")->skip_count =
                (unsigned long)parse_count("--fail-after", value, LONG_MAX);
        } else if ((value = option_value("--fail-times", argc, argv, &index))) {
            last_fault_rule(config, "--fail-times")->fail_count =
                (unsigned long)parse_count("--fail-times", value, LONG_MAX);
        } else if ((value = option_value("--fail", argc, argv, &index))) {
            add_fault_rule(config, value);
        } else if ((value = option_value("-o", argc, argv, &index))) {
            append_fuse_options(config, value);
        } else if (strcmp(argument, "--no-xattr") == 0) {
            config->no_xattr = true;
        } else if (strcmp(argument, "--no-seek-hole") == 0) {
            config->no_seek_hole = true;
        } else if (strcmp(argument, "--no-copy-file-range") == 0) {
            config->no_copy_file_range = true;
        } else if (strcmp(argument, "--no-fallocate") == 0) {
            config->no_fallocate = true;
        } else if (strcmp(argument, "--auto-cache") == 0) {
            config->auto_cache = true;
        } else if (strcmp(argument, "--default-permissions") == 0) {
            config->default_permissions = true;
        } else if (strcmp(argument, "-f") == 0 || strcmp(argument, "--foreground") == 0) {
            config->foreground = true;
        } else if (strcmp(argument, "-d") == 0 || strcmp(argument, "--debug") == 0) {
            config->debug = true;
            config->foreground = true;
        } else {
            usage_error("Unknown option '%s'.", argument);
        }
    }

    if (positional_count == 0) {
        usage_error("Missing expected argument '<backing>'.");
    }
    if (positional_count == 1) {
        usage_error("Missing expected argument '<mountpoint>'.");
    }
    config->backing_path = positionals[0];
    config->mountpoint_path = positionals[1];
    return 0;
}
