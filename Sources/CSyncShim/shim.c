#define _GNU_SOURCE
#include "CSyncShim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

// The fields every caller needs; statx may skip the rest on network filesystems.
#define SYNCD_STATX_MASK (STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | \
                          STATX_ATIME | STATX_MTIME | STATX_CTIME | STATX_INO | STATX_SIZE | STATX_BLOCKS)

static void fill(const struct statx *in, syncd_stat_t *out) {
    out->dev = makedev(in->stx_dev_major, in->stx_dev_minor);
    out->ino = in->stx_ino;
    out->mode = in->stx_mode;
    out->nlink = in->stx_nlink;
    out->uid = in->stx_uid;
    out->gid = in->stx_gid;
    out->rdev = makedev(in->stx_rdev_major, in->stx_rdev_minor);
    out->size = (int64_t)in->stx_size;
    out->blocks = (int64_t)in->stx_blocks;
    out->atime_sec = in->stx_atime.tv_sec;
    out->atime_nsec = in->stx_atime.tv_nsec;
    out->mtime_sec = in->stx_mtime.tv_sec;
    out->mtime_nsec = in->stx_mtime.tv_nsec;
    out->ctime_sec = in->stx_ctime.tv_sec;
    out->ctime_nsec = in->stx_ctime.tv_nsec;
}

int syncd_statat(int dirfd, const char *name, syncd_stat_t *out) {
    struct statx buffer;
    if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, SYNCD_STATX_MASK, &buffer) != 0) return -1;
    fill(&buffer, out);
    return 0;
}

int syncd_fstat(int fd, syncd_stat_t *out) {
    struct statx buffer;
    if (statx(fd, "", AT_EMPTY_PATH, SYNCD_STATX_MASK, &buffer) != 0) return -1;
    fill(&buffer, out);
    return 0;
}

long syncd_getdents64(int fd, void *buffer, size_t size) {
    return syscall(SYS_getdents64, fd, buffer, size);
}

ssize_t syncd_copy_file_range(int in_fd, int64_t *in_off, int out_fd, int64_t *out_off, size_t len) {
    return copy_file_range(in_fd, (off_t *)in_off, out_fd, (off_t *)out_off, len, 0);
}

int syncd_ficlone(int dest_fd, int source_fd) { return ioctl(dest_fd, FICLONE, source_fd); }
int syncd_start_writeback(int fd) { return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); }
int64_t syncd_seek_data(int fd, int64_t offset) { return lseek(fd, offset, SEEK_DATA); }
int64_t syncd_seek_hole(int fd, int64_t offset) { return lseek(fd, offset, SEEK_HOLE); }

int syncd_o_direct(void) { return O_DIRECT; }
int syncd_o_noatime(void) { return O_NOATIME; }
int syncd_o_path(void) { return O_PATH; }
int syncd_o_tmpfile(void) { return O_TMPFILE; }
int syncd_at_empty_path(void) { return AT_EMPTY_PATH; }

int syncd_renameat_noreplace(int olddirfd, const char *oldname, int newdirfd, const char *newname) {
    return renameat2(olddirfd, oldname, newdirfd, newname, RENAME_NOREPLACE);
}

uint64_t syncd_makedev(uint32_t major, uint32_t minor) { return makedev(major, minor); }
uint32_t syncd_major(uint64_t dev) { return major(dev); }
uint32_t syncd_minor(uint64_t dev) { return minor(dev); }

ssize_t syncd_lgetxattr(const char *path, const char *name, void *value, size_t size) { return lgetxattr(path, name, value, size); }
ssize_t syncd_llistxattr(const char *path, char *list, size_t size) { return llistxattr(path, list, size); }
int syncd_lsetxattr(const char *path, const char *name, const void *value, size_t size) { return lsetxattr(path, name, value, size, 0); }
int syncd_lremovexattr(const char *path, const char *name) { return lremovexattr(path, name); }
ssize_t syncd_fgetxattr(int fd, const char *name, void *value, size_t size) { return fgetxattr(fd, name, value, size); }
ssize_t syncd_flistxattr(int fd, char *list, size_t size) { return flistxattr(fd, list, size); }
int syncd_fsetxattr(int fd, const char *name, const void *value, size_t size) { return fsetxattr(fd, name, value, size, 0); }
int syncd_fremovexattr(int fd, const char *name) { return fremovexattr(fd, name); }

ssize_t syncd_listxattr(const char *path, char *list, size_t size) { return listxattr(path, list, size); }
int syncd_setxattr(const char *path, const char *name, const void *value, size_t size) { return setxattr(path, name, value, size, 0); }
int syncd_removexattr(const char *path, const char *name) { return removexattr(path, name); }

#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif

ssize_t syncd_listxattrat(int dirfd, const char *name, char *list, size_t size) {
    return syscall(SYS_listxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, list, size);
}

ssize_t syncd_getxattrat(int dirfd, const char *name, const char *attribute, void *value, size_t size) {
    // struct xattr_args from <linux/xattr.h>, spelled out for older kernel headers.
    struct { uint64_t value; uint32_t size; uint32_t flags; } args = { (uint64_t)(uintptr_t)value, (uint32_t)size, 0 };
    return syscall(SYS_getxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, attribute, &args, sizeof args);
}

int64_t syncd_fs_type(int fd) {
    struct statfs buffer;
    if (fstatfs(fd, &buffer) != 0) return -1;
    return (int64_t)buffer.f_type;
}

void *syncd_aligned_alloc(size_t alignment, size_t size) {
    void *pointer = NULL;
    if (posix_memalign(&pointer, alignment, size) != 0) return NULL;
    return pointer;
}
