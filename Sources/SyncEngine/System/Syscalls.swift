import CSyncShim
import Glibc

/// A failed system call: which call, and the errno it returned.
public struct Errno: Error, Equatable, Sendable {
    public var code: Int32
    public var call: String

    public var message: String {
        String(cString: strerror(code))
    }
}

/// Runs `body` until it does not fail with EINTR; on failure throws the call's name and errno.
///
/// Every wrapper below goes through here, so EINTR is handled in one place. `close` is not
/// retried: on Linux the descriptor is released even when close reports EINTR.
@inline(__always)
func valueOrErrno<T: FixedWidthInteger>(_ call: String, _ body: () -> T) throws(Errno) -> T {
    while true {
        let result = body()
        if result != -1 {
            return result
        }
        let code = errno
        if code != EINTR {
            throw Errno(code: code, call: call)
        }
    }
}

/// The engine's only calls into libc. Names are single path components relative to a
/// directory descriptor, and nothing here follows a symlink in the final component.
enum Sys {
    static let directoryFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC

    static func openDirectory(_ directory: Int32, _ name: UnsafePointer<CChar>) throws(Errno) -> Int32 {
        try valueOrErrno("openat") { openat(directory, name, directoryFlags) }
    }

    /// Opens a second descriptor for the same folder, with its own read position.
    static func reopenDirectory(_ fd: Int32) throws(Errno) -> Int32 {
        try valueOrErrno("openat") { openat(fd, ".", directoryFlags) }
    }

    static func openDirectory(path: String) throws(Errno) -> Int32 {
        // The task roots may be symlinks to folders (followed at the top only, as rsync does).
        try valueOrErrno("open") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    }

    static func openRead(_ directory: Int32, _ name: UnsafePointer<CChar>, extraFlags: Int32 = 0) throws(Errno) -> Int32 {
        // O_NOATIME keeps the source's access time; only the owner or root may ask for it.
        let flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | extraFlags
        if let fd = try? valueOrErrno("openat", { openat(directory, name, flags | syncd_o_noatime()) }) {
            return fd
        }
        return try valueOrErrno("openat") { openat(directory, name, flags) }
    }

    static func createExclusive(_ directory: Int32, _ name: UnsafePointer<CChar>, mode: mode_t = 0o600) throws(Errno) -> Int32 {
        try valueOrErrno("openat") { openat(directory, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) }
    }

    /// Opens an O_PATH descriptor, which names the inode for metadata calls without opening its content.
    static func openPath(_ directory: Int32, _ name: UnsafePointer<CChar>) throws(Errno) -> Int32 {
        try valueOrErrno("openat(O_PATH)") { openat(directory, name, syncd_o_path() | O_NOFOLLOW | O_CLOEXEC) }
    }

    static func reopen(_ fd: Int32, flags: Int32) throws(Errno) -> Int32 {
        let path = "/proc/self/fd/\(fd)"
        return try valueOrErrno("open") { open(path, flags | O_CLOEXEC) }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    static func stat(_ directory: Int32, _ name: UnsafePointer<CChar>) throws(Errno) -> FileStatus {
        var raw = syncd_stat_t()
        _ = try valueOrErrno("statx") { syncd_statat(directory, name, &raw) }
        return FileStatus(raw)
    }

    static func stat(_ fd: Int32) throws(Errno) -> FileStatus {
        var raw = syncd_stat_t()
        _ = try valueOrErrno("statx") { syncd_fstat(fd, &raw) }
        return FileStatus(raw)
    }

    static func mkdir(_ directory: Int32, _ name: UnsafePointer<CChar>, mode: mode_t) throws(Errno) {
        _ = try valueOrErrno("mkdirat") { mkdirat(directory, name, mode) }
    }

    static func unlink(_ directory: Int32, _ name: UnsafePointer<CChar>, isDirectory: Bool) throws(Errno) {
        _ = try valueOrErrno(isDirectory ? "unlinkat(AT_REMOVEDIR)" : "unlinkat") {
            unlinkat(directory, name, isDirectory ? AT_REMOVEDIR : 0)
        }
    }

    static func rename(_ fromDirectory: Int32, _ from: UnsafePointer<CChar>, _ toDirectory: Int32, _ to: UnsafePointer<CChar>) throws(Errno) {
        _ = try valueOrErrno("renameat") { renameat(fromDirectory, from, toDirectory, to) }
    }

    static func symlink(_ target: UnsafePointer<CChar>, _ directory: Int32, _ name: UnsafePointer<CChar>) throws(Errno) {
        _ = try valueOrErrno("symlinkat") { symlinkat(target, directory, name) }
    }

    /// Reads the link text of a symlink, byte for byte.
    static func readlink(_ directory: Int32, _ name: UnsafePointer<CChar>) throws(Errno) -> [UInt8] {
        var capacity = 256
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            let count = buffer.withUnsafeMutableBytes { raw in
                readlinkat(directory, name, raw.baseAddress!.assumingMemoryBound(to: CChar.self), capacity)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw Errno(code: errno, call: "readlinkat")
            }
            if count < capacity {
                return Array(buffer[..<count])
            }
            capacity *= 4
        }
    }

    static func mknod(_ directory: Int32, _ name: UnsafePointer<CChar>, mode: mode_t, device: UInt64) throws(Errno) {
        _ = try valueOrErrno("mknodat") { mknodat(directory, name, mode, dev_t(device)) }
    }

    /// Links the file open as `fd` under a new name, through /proc so that no privilege is needed.
    static func link(fd: Int32, _ directory: Int32, _ name: UnsafePointer<CChar>) throws(Errno) {
        let path = "/proc/self/fd/\(fd)"
        _ = try valueOrErrno("linkat") { linkat(AT_FDCWD, path, directory, name, AT_SYMLINK_FOLLOW) }
    }

    static func chown(_ fd: Int32, uid: UInt32, gid: UInt32) throws(Errno) {
        _ = try valueOrErrno("fchown") { fchown(fd, uid, gid) }
    }

    static func chownNoFollow(_ directory: Int32, _ name: UnsafePointer<CChar>, uid: UInt32, gid: UInt32, emptyPathFlag: Bool = false) throws(Errno) {
        let flags = emptyPathFlag ? syncd_at_empty_path() : AT_SYMLINK_NOFOLLOW
        _ = try valueOrErrno("fchownat") { fchownat(directory, name, uid, gid, flags) }
    }

    static func chmod(_ fd: Int32, mode: UInt32) throws(Errno) {
        _ = try valueOrErrno("fchmod") { fchmod(fd, mode_t(mode)) }
    }

    static func chmodAt(_ directory: Int32, _ name: UnsafePointer<CChar>, mode: UInt32) throws(Errno) {
        _ = try valueOrErrno("fchmodat") { fchmodat(directory, name, mode_t(mode), 0) }
    }

    static func setTimes(_ fd: Int32, atime: timespec, mtime: timespec) throws(Errno) {
        var times = (atime, mtime)
        _ = try withUnsafePointer(to: &times) { pointer throws(Errno) in
            try pointer.withMemoryRebound(to: timespec.self, capacity: 2) { times throws(Errno) in
                try valueOrErrno("futimens") { futimens(fd, times) }
            }
        }
    }

    static func setTimesNoFollow(_ directory: Int32, _ name: UnsafePointer<CChar>, atime: timespec, mtime: timespec, follow: Bool = false) throws(Errno) {
        var times = (atime, mtime)
        _ = try withUnsafePointer(to: &times) { pointer throws(Errno) in
            try pointer.withMemoryRebound(to: timespec.self, capacity: 2) { times throws(Errno) in
                try valueOrErrno("utimensat") { utimensat(directory, name, times, follow ? 0 : AT_SYMLINK_NOFOLLOW) }
            }
        }
    }

    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64) throws(Errno) -> Int {
        try valueOrErrno("pread") { Glibc.pread(fd, buffer, count, off_t(offset)) }
    }

    static func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: Int64) throws(Errno) -> Int {
        try valueOrErrno("pwrite") { Glibc.pwrite(fd, buffer, count, off_t(offset)) }
    }

    static func truncate(_ fd: Int32, _ size: Int64) throws(Errno) {
        _ = try valueOrErrno("ftruncate") { ftruncate(fd, off_t(size)) }
    }

    /// Returns the next offset at or after `offset` that contains data, or nil when only a hole remains.
    static func seekData(_ fd: Int32, _ offset: Int64) throws(Errno) -> Int64? {
        let result = syncd_seek_data(fd, offset)
        if result >= 0 { return result }
        if errno == ENXIO { return nil }
        throw Errno(code: errno, call: "lseek(SEEK_DATA)")
    }

    static func seekHole(_ fd: Int32, _ offset: Int64) throws(Errno) -> Int64 {
        try valueOrErrno("lseek(SEEK_HOLE)") { syncd_seek_hole(fd, offset) }
    }

    static func copyFileRange(from source: Int32, _ sourceOffset: inout Int64, to destination: Int32, _ destinationOffset: inout Int64, count: Int) throws(Errno) -> Int {
        try valueOrErrno("copy_file_range") { syncd_copy_file_range(source, &sourceOffset, destination, &destinationOffset, count) }
    }

    static func clone(into destination: Int32, from source: Int32) throws(Errno) {
        _ = try valueOrErrno("ioctl(FICLONE)") { syncd_ficlone(destination, source) }
    }

    static func getdents(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ size: Int) throws(Errno) -> Int {
        try valueOrErrno("getdents64") { syncd_getdents64(fd, buffer, size) }
    }

    static func fileSystemType(_ fd: Int32) -> Int64 {
        syncd_fs_type(fd)
    }

    static func dropCache(_ fd: Int32) {
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
    }

    /// Starts writeback of the file's data and returns at once; failures only lose the head start.
    static func startWriteback(_ fd: Int32) {
        _ = syncd_start_writeback(fd)
    }

    /// Takes an exclusive advisory lock without waiting; fails with EWOULDBLOCK when it is held.
    static func lockExclusive(_ fd: Int32) throws(Errno) {
        _ = try valueOrErrno("flock") { flock(fd, LOCK_EX | LOCK_NB) }
    }

    static func flush(_ fd: Int32) throws(Errno) {
        _ = try valueOrErrno("fdatasync") { fdatasync(fd) }
    }

    static var effectiveUserID: UInt32 { geteuid() }
    static var effectiveGroupID: UInt32 { getegid() }

    /// Sets the file mode creation mask and returns the previous one.
    static func setUmask(_ mask: UInt32) -> UInt32 {
        UInt32(umask(mode_t(mask)))
    }

    /// Raises the open-file soft limit to the hard limit: the walk keeps a few descriptors per busy folder.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}
