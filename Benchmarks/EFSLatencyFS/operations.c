// The filesystem operations: a passthrough to the backing folder in which every call resolves
// its path relative to the backing folder's descriptor with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS) and then works on the last component with an *at() call that does not
// follow it. A symlink planted in the backing folder therefore cannot redirect a call outside it.
#include "efsfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

// A path inside the mount, split into an open descriptor of its parent directory in the
// backing folder and its last component.
struct parent_entry {
    int directory_fd;
    bool owns_fd;
    const char *name;
};

// An open directory: the stream and the entry that the last filler call did not accept.
struct directory_handle {
    DIR *stream;
    struct dirent *pending_entry;
    off_t offset;
};

static int open_directory_piece(int start_fd, const char *relative) {
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, start_fd, relative, &how, sizeof(how));
    return fd < 0 ? -errno : (int)fd;
}

// Opens the directory at `relative[0..<length]` below the backing folder. Paths of
// PATH_MAX bytes or more are opened in pieces that each end at a '/', because openat2
// rejects longer path arguments with ENAMETOOLONG.
static int open_directory_beneath(const char *relative, size_t length) {
    char piece[PATH_MAX];
    int current_fd = efsfs_config.backing_fd;
    size_t start = 0;

    while (start < length) {
        size_t end = length;
        if (end - start >= sizeof(piece)) {
            end = start + sizeof(piece) - 1;
            while (end > start && relative[end] != '/') {
                end -= 1;
            }
            if (end == start) {
                if (current_fd != efsfs_config.backing_fd) {
                    close(current_fd);
                }
                return -ENAMETOOLONG;
            }
        }

        memcpy(piece, relative + start, end - start);
        piece[end - start] = '\0';
        int next_fd = open_directory_piece(current_fd, piece);
        if (current_fd != efsfs_config.backing_fd) {
            close(current_fd);
        }
        if (next_fd < 0) {
            return next_fd;
        }
        current_fd = next_fd;
        start = end + 1;
    }
    return current_fd;
}

static int open_parent(const char *path, struct parent_entry *entry) {
    const char *relative = path[0] == '/' ? path + 1 : path;
    const char *last_slash = strrchr(relative, '/');

    entry->owns_fd = false;
    entry->directory_fd = efsfs_config.backing_fd;
    if (last_slash == NULL) {
        entry->name = relative[0] != '\0' ? relative : ".";
        return 0;
    }

    int fd = open_directory_beneath(relative, (size_t)(last_slash - relative));
    if (fd < 0) {
        return fd;
    }
    entry->directory_fd = fd;
    entry->owns_fd = true;
    entry->name = last_slash + 1;
    return 0;
}

static void close_parent(struct parent_entry *entry) {
    if (entry->owns_fd) {
        close(entry->directory_fd);
        entry->owns_fd = false;
    }
}

static int result_of(int status) {
    return status < 0 ? -errno : 0;
}

// Gives a new entry the calling process's uid and gid, because the daemon runs as root and
// creates everything as root. In a set-group-ID directory the entry keeps the group that the
// backing filesystem gave it, as on a local filesystem.
static int give_to_caller(int directory_fd, const char *name, int fd, mode_t mode) {
    if (geteuid() != 0) {
        return 0;
    }
    struct fuse_context *context = fuse_get_context();
    uid_t uid = context->uid;
    gid_t gid = context->gid;

    struct stat parent;
    if (fstat(directory_fd, &parent) == 0 && (parent.st_mode & S_ISGID)) {
        gid = (gid_t)-1;
    }
    if (uid == 0 && (gid == (gid_t)-1 || gid == 0)) {
        return 0;
    }

    int status = fd >= 0 ? fchown(fd, uid, gid)
                         : fchownat(directory_fd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
    if (status < 0) {
        return -errno;
    }

    // chown(2) clears S_ISUID and S_ISGID of non-directories even when root calls it.
    if (!S_ISDIR(mode) && !S_ISLNK(mode) && (mode & (S_ISUID | S_ISGID))) {
        status = fd >= 0 ? fchmod(fd, mode & 07777)
                         : fchmodat(directory_fd, name, mode & 07777, AT_SYMLINK_NOFOLLOW);
        if (status < 0) {
            return -errno;
        }
    }
    return 0;
}

// Builds the /proc path through which the l*xattr calls reach `name` inside the already
// resolved parent directory without following a symlink.
static void format_proc_path(char *buffer, size_t size, const struct parent_entry *entry) {
    snprintf(buffer, size, "/proc/self/fd/%d/%s", entry->directory_fd, entry->name);
}

// Pays the delay of `delay_class`, then returns the error that a --fail rule injects, or 0.
static int begin_call(enum efsfs_op op, enum efsfs_delay_class delay_class, const char *path,
                      const char *second_path) {
    efsfs_pay_delay(delay_class);
    return efsfs_injected_error(op, path, second_path);
}

// Starts a setattr step (chmod, chown, truncate, utimens). libfuse runs the steps of one
// setattr request in a row and then a getattr, so only the first of them pays the delay.
static int begin_setattr_step(enum efsfs_op op, const char *path) {
    if (!efsfs_take_prepaid()) {
        efsfs_pay_delay(EFSFS_DELAY_METADATA);
    }
    return efsfs_injected_error(op, path, NULL);
}

static int finish_setattr_step(int result) {
    if (result == 0) {
        efsfs_mark_prepaid();
    }
    return result;
}

static void *efsfs_init(struct fuse_conn_info *connection, struct fuse_config *config) {
    config->use_ino = 1;
    config->hard_remove = 1;
    config->nullpath_ok = 0;
    config->attr_timeout = efsfs_config.attr_timeout;
    config->entry_timeout = efsfs_config.entry_timeout;
    config->negative_timeout = efsfs_config.negative_timeout;
    config->auto_cache = efsfs_config.auto_cache ? 1 : 0;
    config->kernel_cache = 0;
    config->direct_io = 0;

    // Each stat goes through getattr, so readdir does not also return attributes.
    connection->want &= ~(unsigned)(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
    if (connection->capable & FUSE_CAP_PARALLEL_DIROPS) {
        connection->want |= FUSE_CAP_PARALLEL_DIROPS;
    }
    // The same 1 MiB as the rsize and wsize that the EFS mount helper sets. The kernel still
    // caps readahead at the mount's read_ahead_kb, which is 128 KiB unless changed in sysfs.
    connection->max_readahead = 1U << 20;
    return NULL;
}

static int efsfs_getattr(const char *path, struct stat *status, struct fuse_file_info *file) {
    if (!efsfs_take_prepaid()) {
        efsfs_pay_delay(EFSFS_DELAY_METADATA);
    }
    int error = efsfs_injected_error(EFSFS_OP_GETATTR, path, NULL);
    if (error != 0) {
        return error;
    }

    // The kernel passes a handle only for regular files opened with open or create.
    if (file != NULL) {
        return result_of(fstat((int)file->fh, status));
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }
    error = result_of(fstatat(entry.directory_fd, entry.name, status, AT_SYMLINK_NOFOLLOW));
    close_parent(&entry);
    return error;
}

static int efsfs_readlink(const char *path, char *buffer, size_t size) {
    int error = begin_call(EFSFS_OP_READLINK, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }

    // FUSE expects a NUL-terminated target, truncated to fit the buffer.
    ssize_t length = readlinkat(entry.directory_fd, entry.name, buffer, size - 1);
    error = length < 0 ? -errno : 0;
    close_parent(&entry);
    if (error == 0) {
        buffer[length] = '\0';
    }
    return error;
}

static int efsfs_mknod(const char *path, mode_t mode, dev_t device) {
    int error = begin_call(EFSFS_OP_MKNOD, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }

    error = result_of(mknodat(entry.directory_fd, entry.name, mode, device));
    if (error == 0) {
        error = give_to_caller(entry.directory_fd, entry.name, -1, mode);
        if (error != 0) {
            unlinkat(entry.directory_fd, entry.name, 0);
        }
    }
    close_parent(&entry);
    if (error == 0) {
        efsfs_mark_prepaid();
    }
    return error;
}

static int efsfs_mkdir(const char *path, mode_t mode) {
    int error = begin_call(EFSFS_OP_MKDIR, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }

    error = result_of(mkdirat(entry.directory_fd, entry.name, mode));
    if (error == 0) {
        error = give_to_caller(entry.directory_fd, entry.name, -1, mode | S_IFDIR);
        if (error != 0) {
            unlinkat(entry.directory_fd, entry.name, AT_REMOVEDIR);
        }
    }
    close_parent(&entry);
    if (error == 0) {
        efsfs_mark_prepaid();
    }
    return error;
}

static int remove_entry(enum efsfs_op op, const char *path, int flags) {
    int error = begin_call(op, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }
    error = result_of(unlinkat(entry.directory_fd, entry.name, flags));
    close_parent(&entry);
    return error;
}

static int efsfs_unlink(const char *path) {
    return remove_entry(EFSFS_OP_UNLINK, path, 0);
}

static int efsfs_rmdir(const char *path) {
    return remove_entry(EFSFS_OP_RMDIR, path, AT_REMOVEDIR);
}

static int efsfs_symlink(const char *target, const char *path) {
    int error = begin_call(EFSFS_OP_SYMLINK, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }

    error = result_of(symlinkat(target, entry.directory_fd, entry.name));
    if (error == 0) {
        error = give_to_caller(entry.directory_fd, entry.name, -1, S_IFLNK | 0777);
        if (error != 0) {
            unlinkat(entry.directory_fd, entry.name, 0);
        }
    }
    close_parent(&entry);
    if (error == 0) {
        efsfs_mark_prepaid();
    }
    return error;
}

static int efsfs_rename(const char *from, const char *to, unsigned int flags) {
    int error = begin_call(EFSFS_OP_RENAME, EFSFS_DELAY_METADATA, from, to);
    if (error != 0) {
        return error;
    }
    struct parent_entry source;
    struct parent_entry destination;
    error = open_parent(from, &source);
    if (error != 0) {
        return error;
    }
    error = open_parent(to, &destination);
    if (error != 0) {
        close_parent(&source);
        return error;
    }

    error = result_of(renameat2(source.directory_fd, source.name, destination.directory_fd,
                                destination.name, flags));
    close_parent(&destination);
    close_parent(&source);
    return error;
}

static int efsfs_link(const char *from, const char *to) {
    int error = begin_call(EFSFS_OP_LINK, EFSFS_DELAY_METADATA, from, to);
    if (error != 0) {
        return error;
    }
    struct parent_entry source;
    struct parent_entry destination;
    error = open_parent(from, &source);
    if (error != 0) {
        return error;
    }
    error = open_parent(to, &destination);
    if (error != 0) {
        close_parent(&source);
        return error;
    }

    error = result_of(
        linkat(source.directory_fd, source.name, destination.directory_fd, destination.name, 0));
    close_parent(&destination);
    close_parent(&source);
    if (error == 0) {
        efsfs_mark_prepaid();
    }
    return error;
}

static int efsfs_chmod(const char *path, mode_t mode, struct fuse_file_info *file) {
    int error = begin_setattr_step(EFSFS_OP_CHMOD, path);
    if (error != 0) {
        return error;
    }
    if (file != NULL) {
        return finish_setattr_step(result_of(fchmod((int)file->fh, mode)));
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }

    // glibc implements AT_SYMLINK_NOFOLLOW through /proc and fails with EOPNOTSUPP on a
    // symlink, whose mode Linux cannot change anyway.
    error = result_of(fchmodat(entry.directory_fd, entry.name, mode, AT_SYMLINK_NOFOLLOW));
    close_parent(&entry);
    return finish_setattr_step(error);
}

static int efsfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *file) {
    int error = begin_setattr_step(EFSFS_OP_CHOWN, path);
    if (error != 0) {
        return error;
    }
    if (file != NULL) {
        return finish_setattr_step(result_of(fchown((int)file->fh, uid, gid)));
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }
    error = result_of(fchownat(entry.directory_fd, entry.name, uid, gid, AT_SYMLINK_NOFOLLOW));
    close_parent(&entry);
    return finish_setattr_step(error);
}

static int efsfs_truncate(const char *path, off_t size, struct fuse_file_info *file) {
    int error = begin_setattr_step(EFSFS_OP_TRUNCATE, path);
    if (error != 0) {
        return error;
    }
    if (file != NULL) {
        return finish_setattr_step(result_of(ftruncate((int)file->fh, size)));
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }

    int fd = openat(entry.directory_fd, entry.name,
                    O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    close_parent(&entry);
    if (fd < 0) {
        return -errno;
    }
    error = result_of(ftruncate(fd, size));
    close(fd);
    return finish_setattr_step(error);
}

static int efsfs_utimens(const char *path, const struct timespec times[2],
                         struct fuse_file_info *file) {
    int error = begin_setattr_step(EFSFS_OP_UTIMENS, path);
    if (error != 0) {
        return error;
    }
    if (file != NULL) {
        return finish_setattr_step(result_of(futimens((int)file->fh, times)));
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }
    error = result_of(utimensat(entry.directory_fd, entry.name, times, AT_SYMLINK_NOFOLLOW));
    close_parent(&entry);
    return finish_setattr_step(error);
}

// Opens the backing file. O_DIRECT is not passed on, because some backing filesystems reject
// it, but it turns on FUSE direct I/O so that reads and writes bypass the page cache of the
// mount and reach this daemon.
static int open_backing_file(const char *path, struct fuse_file_info *file, bool create,
                             mode_t mode) {
    enum efsfs_op op = create ? EFSFS_OP_CREATE : EFSFS_OP_OPEN;
    int error = begin_call(op, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }

    int flags = (file->flags & ~O_DIRECT) | O_NOFOLLOW | O_CLOEXEC;
    if (create) {
        flags |= O_CREAT;
    }
    int fd = openat(entry.directory_fd, entry.name, flags, mode);
    if (fd < 0) {
        error = -errno;
        close_parent(&entry);
        return error;
    }
    if (create) {
        error = give_to_caller(entry.directory_fd, entry.name, fd, mode);
        if (error != 0) {
            close(fd);
            unlinkat(entry.directory_fd, entry.name, 0);
            close_parent(&entry);
            return error;
        }
        efsfs_mark_prepaid();
    }
    close_parent(&entry);

    file->fh = (uint64_t)fd;
    file->direct_io = (file->flags & O_DIRECT) ? 1 : 0;
    return 0;
}

static int efsfs_open(const char *path, struct fuse_file_info *file) {
    return open_backing_file(path, file, false, 0);
}

static int efsfs_create(const char *path, mode_t mode, struct fuse_file_info *file) {
    return open_backing_file(path, file, true, mode);
}

static int efsfs_read(const char *path, char *buffer, size_t size, off_t offset,
                      struct fuse_file_info *file) {
    int error = begin_call(EFSFS_OP_READ, EFSFS_DELAY_READ, path, NULL);
    if (error != 0) {
        return error;
    }

    // FUSE treats a short read as end of file unless direct I/O is on, so read until the
    // buffer is full or the file ends.
    size_t total = 0;
    while (total < size) {
        ssize_t count = pread((int)file->fh, buffer + total, size - total, offset + (off_t)total);
        if (count < 0) {
            if (errno == EINTR) {
                continue;
            }
            return total > 0 ? (int)total : -errno;
        }
        if (count == 0) {
            break;
        }
        total += (size_t)count;
    }
    return (int)total;
}

static int efsfs_write(const char *path, const char *buffer, size_t size, off_t offset,
                       struct fuse_file_info *file) {
    int error = begin_call(EFSFS_OP_WRITE, EFSFS_DELAY_WRITE, path, NULL);
    if (error != 0) {
        return error;
    }

    size_t total = 0;
    while (total < size) {
        ssize_t count =
            pwrite((int)file->fh, buffer + total, size - total, offset + (off_t)total);
        if (count < 0) {
            if (errno == EINTR) {
                continue;
            }
            return total > 0 ? (int)total : -errno;
        }
        total += (size_t)count;
    }
    return (int)total;
}

static int efsfs_statfs(const char *path, struct statvfs *status) {
    int error = begin_call(EFSFS_OP_STATFS, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    return result_of(fstatvfs(efsfs_config.backing_fd, status));
}

// Closes a duplicate of the descriptor, so that the backing filesystem receives the close(2)
// that the caller made and can report a deferred write error.
static int efsfs_flush(const char *path, struct fuse_file_info *file) {
    int error = efsfs_injected_error(EFSFS_OP_FLUSH, path, NULL);
    if (error != 0) {
        return error;
    }
    int duplicate = dup((int)file->fh);
    if (duplicate < 0) {
        return -errno;
    }
    return result_of(close(duplicate));
}

static int efsfs_release(const char *path, struct fuse_file_info *file) {
    (void)path;
    close((int)file->fh);
    return 0;
}

static int efsfs_fsync(const char *path, int data_only, struct fuse_file_info *file) {
    int error = begin_call(EFSFS_OP_FSYNC, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    int fd = (int)file->fh;
    return result_of(data_only ? fdatasync(fd) : fsync(fd));
}

static int efsfs_fallocate(const char *path, int mode, off_t offset, off_t length,
                           struct fuse_file_info *file) {
    int error = begin_call(EFSFS_OP_FALLOCATE, EFSFS_DELAY_WRITE, path, NULL);
    if (error != 0) {
        return error;
    }
    return result_of(fallocate((int)file->fh, mode, offset, length));
}

// The xattr calls go through "/proc/self/fd/PARENT/NAME" with the l*xattr functions, because
// the f*xattr functions do not accept the O_PATH descriptors that open_parent returns.
static int efsfs_setxattr(const char *path, const char *name, const char *value, size_t size,
                          int flags) {
    // Linux's NFSv4.1 client rejects xattr calls from the server's capability flags without
    // an RPC, so there is no delay.
    if (efsfs_config.no_xattr) {
        return -EOPNOTSUPP;
    }
    int error = begin_call(EFSFS_OP_SETXATTR, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }
    char proc_path[PATH_MAX];
    format_proc_path(proc_path, sizeof(proc_path), &entry);
    error = result_of(lsetxattr(proc_path, name, value, size, flags));
    close_parent(&entry);
    return error;
}

static int efsfs_getxattr(const char *path, const char *name, char *value, size_t size) {
    if (efsfs_config.no_xattr) {
        return -EOPNOTSUPP;
    }
    int error = begin_call(EFSFS_OP_GETXATTR, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }
    char proc_path[PATH_MAX];
    format_proc_path(proc_path, sizeof(proc_path), &entry);
    ssize_t length = lgetxattr(proc_path, name, value, size);
    error = length < 0 ? -errno : (int)length;
    close_parent(&entry);
    return error;
}

static int efsfs_listxattr(const char *path, char *list, size_t size) {
    // NOTE: Linux's NFSv4.1 client (nfs4_listxattr in fs/nfs/nfs4proc.c) returns an empty
    // list rather than an error when the server has no xattrs or ACLs, so this does too.
    if (efsfs_config.no_xattr) {
        (void)list;
        (void)size;
        return 0;
    }
    int error = begin_call(EFSFS_OP_LISTXATTR, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }
    char proc_path[PATH_MAX];
    format_proc_path(proc_path, sizeof(proc_path), &entry);
    ssize_t length = llistxattr(proc_path, list, size);
    error = length < 0 ? -errno : (int)length;
    close_parent(&entry);
    return error;
}

static int efsfs_removexattr(const char *path, const char *name) {
    if (efsfs_config.no_xattr) {
        return -EOPNOTSUPP;
    }
    int error = begin_call(EFSFS_OP_REMOVEXATTR, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }
    char proc_path[PATH_MAX];
    format_proc_path(proc_path, sizeof(proc_path), &entry);
    error = result_of(lremovexattr(proc_path, name));
    close_parent(&entry);
    return error;
}

static int efsfs_opendir(const char *path, struct fuse_file_info *file) {
    int error = begin_call(EFSFS_OP_OPENDIR, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }
    int fd = openat(entry.directory_fd, entry.name,
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    error = fd < 0 ? -errno : 0;
    close_parent(&entry);
    if (error != 0) {
        return error;
    }

    struct directory_handle *handle = calloc(1, sizeof(*handle));
    if (handle == NULL) {
        close(fd);
        return -ENOMEM;
    }
    handle->stream = fdopendir(fd);
    if (handle->stream == NULL) {
        error = -errno;
        close(fd);
        free(handle);
        return error;
    }
    file->fh = (uint64_t)(uintptr_t)handle;
    return 0;
}

// Passes entries to `filler` with telldir() positions as offsets, so that a directory of any
// size is listed in as many readdir requests as the kernel's buffer needs. Each request pays
// one metadata delay, as one NFS READDIR does.
static int efsfs_readdir(const char *path, void *buffer, fuse_fill_dir_t filler, off_t offset,
                         struct fuse_file_info *file, enum fuse_readdir_flags flags) {
    (void)flags;
    int error = begin_call(EFSFS_OP_READDIR, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct directory_handle *handle = (struct directory_handle *)(uintptr_t)file->fh;
    if (offset != handle->offset) {
        seekdir(handle->stream, offset);
        handle->pending_entry = NULL;
        handle->offset = offset;
    }

    while (true) {
        if (handle->pending_entry == NULL) {
            errno = 0;
            handle->pending_entry = readdir(handle->stream);
            if (handle->pending_entry == NULL) {
                return errno != 0 ? -errno : 0;
            }
        }

        struct dirent *entry = handle->pending_entry;
        struct stat status;
        memset(&status, 0, sizeof(status));
        status.st_ino = entry->d_ino;
        status.st_mode = (mode_t)DTTOIF(entry->d_type);
        off_t next_offset = telldir(handle->stream);
        if (filler(buffer, entry->d_name, &status, next_offset, 0) != 0) {
            return 0;
        }
        handle->pending_entry = NULL;
        handle->offset = next_offset;
    }
}

static int efsfs_releasedir(const char *path, struct fuse_file_info *file) {
    (void)path;
    struct directory_handle *handle = (struct directory_handle *)(uintptr_t)file->fh;
    closedir(handle->stream);
    free(handle);
    return 0;
}

static int efsfs_fsyncdir(const char *path, int data_only, struct fuse_file_info *file) {
    int error = begin_call(EFSFS_OP_FSYNC, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct directory_handle *handle = (struct directory_handle *)(uintptr_t)file->fh;
    int fd = dirfd(handle->stream);
    return result_of(data_only ? fdatasync(fd) : fsync(fd));
}

static bool caller_in_group(struct fuse_context *context, gid_t group) {
    if (context->gid == group) {
        return true;
    }
    gid_t groups[256];
    int count = fuse_getgroups((int)(sizeof(groups) / sizeof(groups[0])), groups);
    for (int index = 0; index < count && index < 256; index++) {
        if (groups[index] == group) {
            return true;
        }
    }
    return false;
}

// Checks `mask` against the entry's mode bits for the calling process.
// NOTE: POSIX ACLs and search permission on the parent directories are not checked.
static int efsfs_access(const char *path, int mask) {
    int error = begin_call(EFSFS_OP_ACCESS, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    struct parent_entry entry;
    error = open_parent(path, &entry);
    if (error != 0) {
        return error;
    }
    struct stat status;
    error = result_of(fstatat(entry.directory_fd, entry.name, &status, AT_SYMLINK_NOFOLLOW));
    close_parent(&entry);
    if (error != 0 || mask == F_OK) {
        return error;
    }

    struct fuse_context *context = fuse_get_context();
    if (context->uid == 0) {
        bool any_execute_bit = (status.st_mode & 0111) != 0;
        if ((mask & X_OK) && !S_ISDIR(status.st_mode) && !any_execute_bit) {
            return -EACCES;
        }
        return 0;
    }

    mode_t granted;
    if (status.st_uid == context->uid) {
        granted = (status.st_mode >> 6) & 07;
    } else if (caller_in_group(context, status.st_gid)) {
        granted = (status.st_mode >> 3) & 07;
    } else {
        granted = status.st_mode & 07;
    }
    return ((mode_t)mask & granted) == (mode_t)mask ? 0 : -EACCES;
}

static ssize_t efsfs_copy_file_range(const char *path_in, struct fuse_file_info *file_in,
                                     off_t offset_in, const char *path_out,
                                     struct fuse_file_info *file_out, off_t offset_out,
                                     size_t length, int flags) {
    efsfs_pay_delay(EFSFS_DELAY_READ);
    efsfs_pay_delay(EFSFS_DELAY_WRITE);
    int error = efsfs_injected_error(EFSFS_OP_COPY_FILE_RANGE, path_in, path_out);
    if (error != 0) {
        return error;
    }
    ssize_t count = copy_file_range((int)file_in->fh, &offset_in, (int)file_out->fh,
                                    &offset_out, length, (unsigned)flags);
    return count < 0 ? -errno : count;
}

static off_t efsfs_lseek(const char *path, off_t offset, int whence,
                         struct fuse_file_info *file) {
    int error = begin_call(EFSFS_OP_LSEEK, EFSFS_DELAY_METADATA, path, NULL);
    if (error != 0) {
        return error;
    }
    off_t position = lseek((int)file->fh, offset, whence);
    return position < 0 ? -errno : position;
}

const struct fuse_operations efsfs_operations = {
    .init = efsfs_init,
    .getattr = efsfs_getattr,
    .readlink = efsfs_readlink,
    .mknod = efsfs_mknod,
    .mkdir = efsfs_mkdir,
    .unlink = efsfs_unlink,
    .rmdir = efsfs_rmdir,
    .symlink = efsfs_symlink,
    .rename = efsfs_rename,
    .link = efsfs_link,
    .chmod = efsfs_chmod,
    .chown = efsfs_chown,
    .truncate = efsfs_truncate,
    .open = efsfs_open,
    .read = efsfs_read,
    .write = efsfs_write,
    .statfs = efsfs_statfs,
    .flush = efsfs_flush,
    .release = efsfs_release,
    .fsync = efsfs_fsync,
    .setxattr = efsfs_setxattr,
    .getxattr = efsfs_getxattr,
    .listxattr = efsfs_listxattr,
    .removexattr = efsfs_removexattr,
    .opendir = efsfs_opendir,
    .readdir = efsfs_readdir,
    .releasedir = efsfs_releasedir,
    .fsyncdir = efsfs_fsyncdir,
    .access = efsfs_access,
    .create = efsfs_create,
    .utimens = efsfs_utimens,
    .fallocate = efsfs_fallocate,
    .copy_file_range = efsfs_copy_file_range,
    .lseek = efsfs_lseek,
};
