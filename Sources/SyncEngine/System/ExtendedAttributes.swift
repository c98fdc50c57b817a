import CSyncShim
import Glibc
import Synchronization

/// Extended attributes of one entry, read by name relative to its folder's descriptor.
///
/// Reads use listxattrat and getxattrat, or the entry's path under /proc/self/fd/DIR on kernels
/// before 6.13. Either way a symlink in the final component is never followed and no file has to
/// be opened. POSIX ACLs are the `system.posix_acl_access` and `system.posix_acl_default`
/// attributes, so they travel with the rest.
enum XattrIO {
    /// Whether the kernel has listxattrat and getxattrat (Linux 6.13 and later).
    static let atCallsWork = Atomic<Bool>(true)

    typealias Attributes = [(name: [UInt8], value: [UInt8])]

    /// Reads the entry's attributes, sorted by name; returns nil when the filesystem has no xattrs.
    static func read(directory: Int32, name: [UInt8], fd: Int32? = nil) throws(Errno) -> Attributes? {
        // The *xattrat calls need no /proc lookup, which serialises threads of one process.
        let entry: [CChar]? = fd == nil && atCallsWork.load(ordering: .relaxed) ? (name + [0]).map { CChar(bitPattern: $0) } : nil
        let path = entry == nil && fd == nil ? procPath(directory: directory, name: name) : [0]
        var names = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = names.withUnsafeMutableBytes { raw in
                let list = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                if let fd { return syncd_flistxattr(fd, list, raw.count) }
                if let entry { return syncd_listxattrat(directory, entry, list, raw.count) }
                return syncd_llistxattr(path, list, raw.count)
            }
            if count >= 0 {
                names.removeSubrange(count...)
                break
            }
            let code = errno
            if code == ERANGE { names = [UInt8](repeating: 0, count: names.count * 4); continue }
            if code == ENOSYS && entry != nil {
                atCallsWork.store(false, ordering: .relaxed)
                return try read(directory: directory, name: name, fd: fd)
            }
            if code == ENOTSUP || code == ENOSYS { return nil }
            if code == EINTR { continue }
            throw Errno(code: code, call: "listxattr")
        }

        var attributes: Attributes = []
        for nameBytes in names.split(separator: 0) {
            let attributeName = Array(nameBytes)
            if let value = try readValue(path: path, fd: fd, entry: entry, directory: directory, name: attributeName) {
                attributes.append((attributeName, value))
            }
        }
        return attributes.sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }

    /// Returns false when the entry's filesystem rejects `attribute` as unsupported (ENOTSUP),
    /// as NFS mounts without xattr support do, although they list no attributes without error.
    static func supports(directory: Int32, name: [UInt8], attribute: [UInt8]) -> Bool {
        let entry = atCallsWork.load(ordering: .relaxed) ? (name + [0]).map { CChar(bitPattern: $0) } : nil
        let path = entry == nil ? procPath(directory: directory, name: name) : [0]
        do {
            _ = try readValue(path: path, fd: nil, entry: entry, directory: directory, name: attribute)
            return true
        } catch {
            return error.code != ENOTSUP && error.code != EOPNOTSUPP
        }
    }

    private static func readValue(path: [CChar], fd: Int32?, entry: [CChar]?, directory: Int32, name: [UInt8]) throws(Errno) -> [UInt8]? {
        var value = [UInt8](repeating: 0, count: 256)
        while true {
            let count = (name + [0]).withUnsafeBufferPointer { namePointer in
                value.withUnsafeMutableBytes { raw in
                    let attribute = UnsafeRawPointer(namePointer.baseAddress!).assumingMemoryBound(to: CChar.self)
                    if let fd { return syncd_fgetxattr(fd, attribute, raw.baseAddress, raw.count) }
                    if let entry { return syncd_getxattrat(directory, entry, attribute, raw.baseAddress, raw.count) }
                    return syncd_lgetxattr(path, attribute, raw.baseAddress, raw.count)
                }
            }
            if count >= 0 {
                value.removeSubrange(count...)
                return value
            }
            let code = errno
            if code == ERANGE { value = [UInt8](repeating: 0, count: max(value.count * 4, 65536)); continue }
            // Removed between list and get: it is simply not there any more.
            if code == ENODATA { return nil }
            if code == EINTR { continue }
            throw Errno(code: code, call: "getxattr")
        }
    }

    static func set(directory: Int32, name: [UInt8], fd: Int32?, attribute: [UInt8], value: [UInt8]) throws(Errno) {
        let path = fd == nil ? procPath(directory: directory, name: name) : [0]
        let result = (attribute + [0]).withUnsafeBufferPointer { namePointer in
            value.withUnsafeBytes { raw in
                let attributeName = UnsafeRawPointer(namePointer.baseAddress!).assumingMemoryBound(to: CChar.self)
                if let fd { return syncd_fsetxattr(fd, attributeName, raw.baseAddress, raw.count) }
                return syncd_lsetxattr(path, attributeName, raw.baseAddress, raw.count)
            }
        }
        if result != 0 {
            throw Errno(code: errno, call: "setxattr")
        }
    }

    static func remove(directory: Int32, name: [UInt8], fd: Int32?, attribute: [UInt8]) throws(Errno) {
        let path = fd == nil ? procPath(directory: directory, name: name) : [0]
        let result = (attribute + [0]).withUnsafeBufferPointer { namePointer in
            let attributeName = UnsafeRawPointer(namePointer.baseAddress!).assumingMemoryBound(to: CChar.self)
            if let fd { return syncd_fremovexattr(fd, attributeName) }
            return syncd_lremovexattr(path, attributeName)
        }
        if result != 0 && errno != ENODATA {
            throw Errno(code: errno, call: "removexattr")
        }
    }

    /// Sets an attribute through a /proc/self/fd path, following it to the inode it names.
    static func setFollowing(path: [CChar], attribute: [UInt8], value: [UInt8]) throws(Errno) {
        let result = (attribute + [0]).withUnsafeBufferPointer { namePointer in
            value.withUnsafeBytes { raw in
                syncd_setxattr(path, UnsafeRawPointer(namePointer.baseAddress!).assumingMemoryBound(to: CChar.self), raw.baseAddress, raw.count)
            }
        }
        if result != 0 {
            throw Errno(code: errno, call: "setxattr")
        }
    }

    static func removeFollowing(path: [CChar], attribute: [UInt8]) throws(Errno) {
        let result = (attribute + [0]).withUnsafeBufferPointer { namePointer in
            syncd_removexattr(path, UnsafeRawPointer(namePointer.baseAddress!).assumingMemoryBound(to: CChar.self))
        }
        if result != 0 && errno != ENODATA {
            throw Errno(code: errno, call: "removexattr")
        }
    }

    /// Builds a NUL-terminated path to the entry. Names are bytes, which a Swift String would repair.
    static func procPath(directory: Int32, name: [UInt8]) -> [CChar] {
        var bytes = Array("/proc/self/fd/\(directory)/".utf8)
        bytes += name
        bytes.append(0)
        return bytes.map { CChar(bitPattern: $0) }
    }
}
