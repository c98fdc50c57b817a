// Linux calls and constants that glibc declares only under _GNU_SOURCE, and macros that Swift
// cannot import. Each is a thin, prefixed wrapper: no policy lives here.
#ifndef CSYNCSHIM_H
#define CSYNCSHIM_H

#include <stdint.h>
#include <sys/types.h>

/// File status from statx(2), flattened so that Swift imports plain fields.
typedef struct {
    uint64_t dev;
    uint64_t ino;
    uint32_t mode;
    uint32_t nlink;
    uint32_t uid;
    uint32_t gid;
    uint64_t rdev;
    int64_t size;
    int64_t blocks;
    int64_t atime_sec;
    int64_t atime_nsec;
    int64_t mtime_sec;
    int64_t mtime_nsec;
    int64_t ctime_sec;
    int64_t ctime_nsec;
} syncd_stat_t;

/// statx(2) relative to `dirfd`, never following a final symlink. Returns 0 or -1 with errno.
int syncd_statat(int dirfd, const char *name, syncd_stat_t *out);
/// statx(2) of an open descriptor.
int syncd_fstat(int fd, syncd_stat_t *out);

/// Raw getdents64(2): fills `buffer` with `struct linux_dirent64` records.
long syncd_getdents64(int fd, void *buffer, size_t size);

ssize_t syncd_copy_file_range(int in_fd, int64_t *in_off, int out_fd, int64_t *out_off, size_t len);
int syncd_ficlone(int dest_fd, int source_fd);
/// Starts writing the file's dirty pages to storage without waiting (sync_file_range(2) WRITE).
int syncd_start_writeback(int fd);
int64_t syncd_seek_data(int fd, int64_t offset);
int64_t syncd_seek_hole(int fd, int64_t offset);

int syncd_o_direct(void);
int syncd_o_noatime(void);
int syncd_o_path(void);
int syncd_o_tmpfile(void);
int syncd_at_empty_path(void);
int syncd_renameat_noreplace(int olddirfd, const char *oldname, int newdirfd, const char *newname);

uint64_t syncd_makedev(uint32_t major, uint32_t minor);
uint32_t syncd_major(uint64_t dev);
uint32_t syncd_minor(uint64_t dev);

ssize_t syncd_lgetxattr(const char *path, const char *name, void *value, size_t size);
ssize_t syncd_llistxattr(const char *path, char *list, size_t size);
int syncd_lsetxattr(const char *path, const char *name, const void *value, size_t size);
int syncd_lremovexattr(const char *path, const char *name);
ssize_t syncd_fgetxattr(int fd, const char *name, void *value, size_t size);
ssize_t syncd_flistxattr(int fd, char *list, size_t size);
int syncd_fsetxattr(int fd, const char *name, const void *value, size_t size);
int syncd_fremovexattr(int fd, const char *name);

ssize_t syncd_listxattr(const char *path, char *list, size_t size);
int syncd_setxattr(const char *path, const char *name, const void *value, size_t size);
int syncd_removexattr(const char *path, const char *name);

/// listxattrat(2) and getxattrat(2) (Linux 6.13 and later) on the entry `name` in `dirfd`,
/// without following a final symlink. Older kernels fail with ENOSYS.
ssize_t syncd_listxattrat(int dirfd, const char *name, char *list, size_t size);
ssize_t syncd_getxattrat(int dirfd, const char *name, const char *attribute, void *value, size_t size);

/// The filesystem type (statfs f_type) of an open descriptor, or -1 with errno.
int64_t syncd_fs_type(int fd);

/// Aligned memory for O_DIRECT reads; free with free(3).
void *syncd_aligned_alloc(size_t alignment, size_t size);

#endif
