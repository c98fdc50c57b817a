import CSyncShim
import Glibc

/// A failed system call made by the test support code, with the path it acted on.
public struct SystemCallError: Error, CustomStringConvertible {
    public var call: String
    public var path: String
    public var code: Int32

    public init(_ call: String, path: String, code: Int32 = errno) {
        self.call = call
        self.path = path
        self.code = code
    }

    public var description: String {
        "\(call) failed on \(path): \(String(cString: strerror(code))) (errno \(code))"
    }
}

// File type bits of st_mode, spelled out so that no Glibc macro import is needed.
let fileTypeMask: UInt32 = 0o170000
let typeFolder: UInt32 = 0o040000
let typeRegular: UInt32 = 0o100000
let typeSymlink: UInt32 = 0o120000
let typeFIFO: UInt32 = 0o010000
let typeCharacterDevice: UInt32 = 0o020000
let typeBlockDevice: UInt32 = 0o060000
let typeSocket: UInt32 = 0o140000

func typeName(_ mode: UInt32) -> String {
    switch mode & fileTypeMask {
    case typeFolder: return "folder"
    case typeRegular: return "file"
    case typeSymlink: return "symlink"
    case typeFIFO: return "fifo"
    case typeCharacterDevice: return "character device"
    case typeBlockDevice: return "block device"
    case typeSocket: return "socket"
    default: return "unknown type \(String(mode & fileTypeMask, radix: 8))"
    }
}

/// Calls `body` with `bytes` as a NUL-terminated C string.
func withCBytes<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
    let terminated = bytes + [0]
    return try terminated.withUnsafeBufferPointer { buffer in
        try buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: terminated.count) { try body($0) }
    }
}

/// An entry named relative to an open folder, or a whole path when `folder` is `AT_FDCWD`.
/// Every call goes through the folder descriptor, so depth is never limited by PATH_MAX.
struct Location {
    var folder: Int32
    var name: [UInt8]

    /// A path that reaches the entry through `/proc/self/fd`, for the calls (xattr, ACL) that
    /// take only a path. Its length is bounded by one name, not by the entry's depth.
    var procPath: [UInt8] {
        if folder == AT_FDCWD { return name }
        return Array("/proc/self/fd/\(folder)/".utf8) + name
    }

    func status() throws -> stat {
        var result = stat()
        let code = withCBytes(name) { fstatat(folder, $0, &result, AT_SYMLINK_NOFOLLOW) }
        if code != 0 { throw SystemCallError("fstatat", path: escapedPath(name)) }
        return result
    }

    /// Returns the status, or nil when the entry does not exist.
    func statusIfPresent() throws -> stat? {
        var result = stat()
        let code = withCBytes(name) { fstatat(folder, $0, &result, AT_SYMLINK_NOFOLLOW) }
        if code == 0 { return result }
        if errno == ENOENT { return nil }
        throw SystemCallError("fstatat", path: escapedPath(name))
    }

    /// Opens the entry as a folder without following a symlink.
    func openFolder() throws -> Int32 {
        let fd = withCBytes(name) { openat(folder, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        if fd < 0 { throw SystemCallError("openat", path: escapedPath(name)) }
        return fd
    }

    /// Opens the entry for reading without following a symlink and, where allowed, without
    /// updating its access time.
    func openForReading() throws -> Int32 {
        var fd = withCBytes(name) { openat(folder, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | syncd_o_noatime()) }
        if fd < 0 && errno == EPERM {
            fd = withCBytes(name) { openat(folder, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        }
        if fd < 0 { throw SystemCallError("openat", path: escapedPath(name)) }
        return fd
    }

    func readLink() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = withCBytes(name) { path in
            buffer.withUnsafeMutableBufferPointer { readlinkat(folder, path, UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), $0.count) }
        }
        if count < 0 { throw SystemCallError("readlinkat", path: escapedPath(name)) }
        return Array(buffer[0..<count])
    }
}

/// Lists the names in an open folder, without `.` and `..`, sorted as bytes.
func folderNames(_ folder: Int32, path: [UInt8]) throws -> [[UInt8]] {
    let copy = dup(folder)
    if copy < 0 { throw SystemCallError("dup", path: escapedPath(path)) }
    guard let stream = fdopendir(copy) else {
        close(copy)
        throw SystemCallError("fdopendir", path: escapedPath(path))
    }
    defer { closedir(stream) }
    rewinddir(stream)

    var names: [[UInt8]] = []
    while true {
        errno = 0
        guard let entry = readdir(stream) else {
            if errno != 0 { throw SystemCallError("readdir", path: escapedPath(path)) }
            break
        }
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            Array(raw.prefix { $0 != 0 })
        }
        if name == [0x2E] || name == [0x2E, 0x2E] { continue }
        names.append(name)
    }
    return names.sorted { $0.lexicographicallyPrecedes($1) }
}

/// Lists extended attribute names of an entry without following a symlink.
func extendedAttributeNames(_ location: Location) throws -> [String] {
    try withCBytes(location.procPath) { path in
        var size = syncd_llistxattr(path, nil, 0)
        if size < 0 {
            if errno == ENOTSUP { return [] }
            throw SystemCallError("llistxattr", path: escapedPath(location.name))
        }
        while true {
            var buffer = [CChar](repeating: 0, count: max(size, 1))
            let count = syncd_llistxattr(path, &buffer, buffer.count)
            if count < 0 && errno == ERANGE {
                size = syncd_llistxattr(path, nil, 0)
                continue
            }
            if count < 0 { throw SystemCallError("llistxattr", path: escapedPath(location.name)) }
            let bytes = buffer[0..<count].map { UInt8(bitPattern: $0) }
            return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.sorted()
        }
    }
}

/// Reads one extended attribute without following a symlink; nil when the entry lacks it.
func extendedAttributeValue(_ location: Location, _ name: String) throws -> [UInt8]? {
    try withCBytes(location.procPath) { path in
        while true {
            let size = syncd_lgetxattr(path, name, nil, 0)
            if size < 0 {
                if errno == ENODATA || errno == ENOTSUP { return nil }
                throw SystemCallError("lgetxattr \(name)", path: escapedPath(location.name))
            }
            var buffer = [UInt8](repeating: 0, count: max(size, 1))
            let count = syncd_lgetxattr(path, name, &buffer, buffer.count)
            if count < 0 && errno == ERANGE { continue }
            if count < 0 { throw SystemCallError("lgetxattr \(name)", path: escapedPath(location.name)) }
            return Array(buffer[0..<count])
        }
    }
}
