// efs-latency-fs: a FUSE passthrough filesystem that adds EFS-like latency to each request
// and can inject errors, for benchmarking and hardening syncd. See README.md in this folder.
#include "efsfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct efsfs_config efsfs_config = {
    .backing_fd = -1,
    .metadata_delay_us = 1000,
    .read_delay_us = 0,
    .write_delay_us = 0,
    .attr_timeout = 0,
    .entry_timeout = 0,
    .negative_timeout = 0,
    .max_threads = 64,
};

static int open_backing_folder(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "Error: The backing folder '%s' cannot be opened: %s.\n", path,
                strerror(errno));
        exit(EFSFS_EXIT_USAGE);
    }

    // Every operation resolves paths with openat2(2), so check once that the kernel has it.
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
    long probe = syscall(SYS_openat2, fd, ".", &how, sizeof(how));
    if (probe < 0) {
        fprintf(stderr, "Error: openat2(2) failed on '%s': %s. Linux 5.6 or later is required.\n",
                path, strerror(errno));
        exit(1);
    }
    close((int)probe);
    return fd;
}

static void check_mountpoint(const char *path) {
    struct stat status;
    if (stat(path, &status) != 0) {
        fprintf(stderr, "Error: The mountpoint '%s' cannot be used: %s.\n", path,
                strerror(errno));
        exit(EFSFS_EXIT_USAGE);
    }
    if (!S_ISDIR(status.st_mode)) {
        fprintf(stderr, "Error: The mountpoint '%s' is not a folder.\n", path);
        exit(EFSFS_EXIT_USAGE);
    }
}

// Builds the libfuse argument list: mount options first, then the user's -o options, which
// libfuse applies last so that they win.
static struct fuse_args build_fuse_arguments(const char *program_name) {
    struct fuse_args arguments = FUSE_ARGS_INIT(0, NULL);
    fuse_opt_add_arg(&arguments, program_name);

    // allow_other lets every user and syncd's tests (running as any uid) use the mount.
    // Only root may set it unless /etc/fuse.conf has user_allow_other.
    fuse_opt_add_arg(&arguments, "-o");
    if (geteuid() == 0) {
        fuse_opt_add_arg(&arguments, "fsname=efs-latency-fs,subtype=efs-latency,allow_other");
    } else {
        fuse_opt_add_arg(&arguments, "fsname=efs-latency-fs,subtype=efs-latency");
    }
    if (efsfs_config.default_permissions) {
        fuse_opt_add_arg(&arguments, "-o");
        fuse_opt_add_arg(&arguments, "default_permissions");
    }
    if (efsfs_config.debug) {
        fuse_opt_add_arg(&arguments, "-d");
    }
    if (efsfs_config.fuse_options != NULL) {
        fuse_opt_add_arg(&arguments, "-o");
        fuse_opt_add_arg(&arguments, efsfs_config.fuse_options);
    }
    return arguments;
}

int main(int argc, char **argv) {
    efsfs_parse_arguments(argc, argv, &efsfs_config);
    efsfs_config.backing_fd = open_backing_folder(efsfs_config.backing_path);
    check_mountpoint(efsfs_config.mountpoint_path);

    // The kernel has already applied the caller's umask to the modes in each request.
    umask(0);

    // For a missing operation libfuse returns ENOSYS, and the kernel falls back to its generic
    // code: copy_file_range copies through read and write, lseek treats the whole file as
    // data, and fallocate fails with EOPNOTSUPP. An NFSv4.1 mount behaves the same way,
    // because COPY, SEEK and ALLOCATE are NFSv4.2 operations.
    struct fuse_operations operations = efsfs_operations;
    if (efsfs_config.no_copy_file_range) {
        operations.copy_file_range = NULL;
    }
    if (efsfs_config.no_seek_hole) {
        operations.lseek = NULL;
    }
    if (efsfs_config.no_fallocate) {
        operations.fallocate = NULL;
    }

    struct fuse_args arguments = build_fuse_arguments(argv[0]);
    struct fuse *fuse = fuse_new(&arguments, &operations, sizeof(operations), NULL);
    if (fuse == NULL) {
        fprintf(stderr, "Error: libfuse rejected the mount options.\n");
        return EFSFS_EXIT_USAGE;
    }
    if (fuse_mount(fuse, efsfs_config.mountpoint_path) != 0) {
        fprintf(stderr, "Error: Mounting on '%s' failed.\n", efsfs_config.mountpoint_path);
        fuse_destroy(fuse);
        return 1;
    }

    int status = 1;
    if (fuse_daemonize(efsfs_config.foreground ? 1 : 0) == 0) {
        struct fuse_session *session = fuse_get_session(fuse);
        if (fuse_set_signal_handlers(session) == 0) {
            struct fuse_loop_config *loop = fuse_loop_cfg_create();
            fuse_loop_cfg_set_max_threads(loop, efsfs_config.max_threads);
            fuse_loop_cfg_set_idle_threads(loop, efsfs_config.max_threads);
            status = fuse_loop_mt(fuse, loop) == 0 ? 0 : 1;
            fuse_loop_cfg_destroy(loop);
            fuse_remove_signal_handlers(session);
        }
    }

    fuse_unmount(fuse);
    fuse_destroy(fuse);
    fuse_opt_free_args(&arguments);
    close(efsfs_config.backing_fd);
    return status;
}
