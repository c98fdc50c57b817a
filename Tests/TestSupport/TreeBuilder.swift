import CAcl
import CSyncShim
import Glibc

/// Creates a tree on disk from a list of `TreeEntry` values.
///
/// Every entry is created relative to an open folder descriptor (`mkdirat`, `openat`,
/// `symlinkat`, `linkat`, `mknodat`), so trees deeper than PATH_MAX work. The build runs in three
/// passes: create every entry with its content, then create the hard links, then apply attributes
/// depth first in the order owner, mode, ACL, xattrs, times, with a folder's attributes applied
/// after its children. A read-only folder or a folder time therefore survives the build.
/// Owners, devices and `trusted.*` attributes need root.
public enum TreeBuilder {
    /// Builds `entries` inside the folder at `root`, creating the folder if it is missing, and
    /// applies `rootAttributes` to the root folder last.
    public static func build(_ entries: [TreeEntry], at root: String, rootAttributes: Attributes = Attributes()) throws {
        let rootLocation = Location(folder: AT_FDCWD, name: Array(root.utf8))
        let created = withCBytes(rootLocation.name) { mkdir($0, 0o700) }
        if created != 0 && errno != EEXIST { throw SystemCallError("mkdir", path: root) }

        let rootFolder = try rootLocation.openFolder()
        defer { close(rootFolder) }
        try createEntries(entries, in: rootFolder, path: [])
        try createHardLinks(entries, in: rootFolder, root: rootFolder, path: [])
        try applyAttributes(entries, in: rootFolder, path: [])
        try apply(rootAttributes, to: rootLocation, isSymlink: false, path: [])
    }

    // MARK: - Pass 1: entries and content

    private static func createEntries(_ entries: [TreeEntry], in folder: Int32, path: [UInt8]) throws {
        for entry in entries {
            let location = Location(folder: folder, name: entry.name.bytes)
            let entryPath = joinPath(path, entry.name.bytes)
            switch entry.kind {
            case .folder(let children):
                // Owner-only while the build fills it; the real mode is applied in pass 3.
                let code = withCBytes(location.name) { mkdirat(folder, $0, 0o700) }
                if code != 0 { throw SystemCallError("mkdirat", path: escapedPath(entryPath)) }
                let child = try location.openFolder()
                defer { close(child) }
                try createEntries(children, in: child, path: entryPath)
            case .file(let content):
                try writeFile(content, at: location, path: entryPath)
            case .symlink(let target):
                let code = withCBytes(target) { text in withCBytes(location.name) { symlinkat(text, folder, $0) } }
                if code != 0 { throw SystemCallError("symlinkat", path: escapedPath(entryPath)) }
            case .hardLink:
                continue
            case .fifo:
                let code = withCBytes(location.name) { mkfifoat(folder, $0, 0o600) }
                if code != 0 { throw SystemCallError("mkfifoat", path: escapedPath(entryPath)) }
            case .characterDevice(let major, let minor):
                try makeNode(at: location, type: typeCharacterDevice, device: syncd_makedev(major, minor), path: entryPath)
            case .blockDevice(let major, let minor):
                try makeNode(at: location, type: typeBlockDevice, device: syncd_makedev(major, minor), path: entryPath)
            case .socket:
                try makeSocket(at: location, path: entryPath)
            }
        }
    }

    private static func writeFile(_ content: FileContent, at location: Location, path: [UInt8]) throws {
        let fd = withCBytes(location.name) {
            openat(location.folder, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        }
        if fd < 0 { throw SystemCallError("openat", path: escapedPath(path)) }
        defer { close(fd) }

        switch content {
        case .bytes(let bytes):
            try writeAll(fd, bytes, at: 0, path: path)
        case .sparse(let size, let extents):
            for extent in extents {
                try writeAll(fd, extent.bytes, at: extent.offset, path: path)
            }
            // Sets the size without allocating, so a trailing hole stays a hole.
            if ftruncate(fd, off_t(size)) != 0 { throw SystemCallError("ftruncate", path: escapedPath(path)) }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int64, path: [UInt8]) throws {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                pwrite(fd, raw.baseAddress! + written, raw.count - written, off_t(offset) + off_t(written))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("pwrite", path: escapedPath(path))
            }
            written += count
        }
    }

    private static func makeNode(at location: Location, type: UInt32, device: UInt64, path: [UInt8]) throws {
        let code = withCBytes(location.name) { mknodat(location.folder, $0, mode_t(type | 0o600), dev_t(device)) }
        if code != 0 { throw SystemCallError("mknodat", path: escapedPath(path)) }
    }

    /// Binds a Unix socket at the entry's name and closes it, which leaves the socket inode.
    /// `sockaddr_un` has room for at most 107 path bytes, so a longer `/proc/self/fd` path falls back
    /// to `mknodat` with `S_IFSOCK`, which makes the same kind of inode.
    private static func makeSocket(at location: Location, path: [UInt8]) throws {
        let address = location.procPath
        var socketAddress = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: socketAddress.sun_path)
        guard address.count < capacity else {
            try makeNode(at: location, type: typeSocket, device: 0, path: path)
            return
        }

        socketAddress.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { raw in
            raw.copyBytes(from: address)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        if fd < 0 { throw SystemCallError("socket", path: escapedPath(path)) }
        defer { close(fd) }
        let code = withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if code != 0 { throw SystemCallError("bind", path: escapedPath(path)) }
    }

    // MARK: - Pass 2: hard links

    private static func createHardLinks(_ entries: [TreeEntry], in folder: Int32, root: Int32, path: [UInt8]) throws {
        for entry in entries {
            let entryPath = joinPath(path, entry.name.bytes)
            switch entry.kind {
            case .folder(let children):
                let child = try Location(folder: folder, name: entry.name.bytes).openFolder()
                defer { close(child) }
                try createHardLinks(children, in: child, root: root, path: entryPath)
            case .hardLink(let target):
                try link(target, from: root, to: Location(folder: folder, name: entry.name.bytes), path: entryPath)
            default:
                continue
            }
        }
    }

    /// Opens the folders along `target` one name at a time and links its last name to `location`.
    private static func link(_ target: [EntryName], from root: Int32, to location: Location, path: [UInt8]) throws {
        guard let last = target.last else { throw SystemCallError("linkat", path: escapedPath(path), code: EINVAL) }
        var opened: [Int32] = []
        defer { opened.forEach { close($0) } }
        var folder = root
        for name in target.dropLast() {
            folder = try Location(folder: folder, name: name.bytes).openFolder()
            opened.append(folder)
        }
        let code = withCBytes(last.bytes) { source in
            withCBytes(location.name) { linkat(folder, source, location.folder, $0, 0) }
        }
        if code != 0 { throw SystemCallError("linkat", path: escapedPath(path)) }
    }

    // MARK: - Pass 3: attributes

    private static func applyAttributes(_ entries: [TreeEntry], in folder: Int32, path: [UInt8]) throws {
        for entry in entries {
            let location = Location(folder: folder, name: entry.name.bytes)
            let entryPath = joinPath(path, entry.name.bytes)
            switch entry.kind {
            case .folder(let children):
                let child = try location.openFolder()
                do {
                    try applyAttributes(children, in: child, path: entryPath)
                } catch {
                    close(child)
                    throw error
                }
                close(child)
                try apply(entry.attributes, to: location, isSymlink: false, path: entryPath)
            case .hardLink:
                continue
            case .symlink:
                try apply(entry.attributes, to: location, isSymlink: true, path: entryPath)
            default:
                try apply(entry.attributes, to: location, isSymlink: false, path: entryPath)
            }
        }
    }

    /// Applies owner, then mode (because `chown` clears set-id bits), then ACLs (which set the
    /// group bits of the mode to the mask), then xattrs, then times (which every other step
    /// would disturb).
    private static func apply(_ attributes: Attributes, to location: Location, isSymlink: Bool, path: [UInt8]) throws {
        let displayPath = path.isEmpty ? "\".\"" : escapedPath(path)

        if attributes.uid != nil || attributes.gid != nil {
            let uid = attributes.uid ?? UInt32.max
            let gid = attributes.gid ?? UInt32.max
            let code = withCBytes(location.name) { fchownat(location.folder, $0, uid, gid, AT_SYMLINK_NOFOLLOW) }
            if code != 0 { throw SystemCallError("fchownat", path: displayPath) }
        }

        if let mode = attributes.mode, !isSymlink {
            let code = withCBytes(location.name) { fchmodat(location.folder, $0, mode_t(mode & 0o7777), 0) }
            if code != 0 { throw SystemCallError("fchmodat", path: displayPath) }
        }

        if let text = attributes.accessACL {
            try setACL(text, type: acl_type_t(ACL_TYPE_ACCESS), at: location, path: displayPath)
        }
        if let text = attributes.defaultACL {
            try setACL(text, type: acl_type_t(ACL_TYPE_DEFAULT), at: location, path: displayPath)
        }

        for attribute in attributes.extendedAttributes {
            let code = withCBytes(location.procPath) { procPath in
                attribute.value.withUnsafeBytes { raw in
                    syncd_lsetxattr(procPath, attribute.name, raw.baseAddress, raw.count)
                }
            }
            if code != 0 { throw SystemCallError("lsetxattr \(attribute.name)", path: displayPath) }
        }

        if attributes.modificationTime != nil || attributes.accessTime != nil {
            var times = [timeSpec(attributes.accessTime), timeSpec(attributes.modificationTime)]
            let code = withCBytes(location.name) { utimensat(location.folder, $0, &times, AT_SYMLINK_NOFOLLOW) }
            if code != 0 { throw SystemCallError("utimensat", path: displayPath) }
        }
    }

    private static func setACL(_ text: String, type: acl_type_t, at location: Location, path: String) throws {
        guard let acl = acl_from_text(text) else {
            throw SystemCallError("acl_from_text \"\(text)\"", path: path)
        }
        defer { acl_free(UnsafeMutableRawPointer(acl)) }
        let code = withCBytes(location.procPath) { acl_set_file($0, type, acl) }
        if code != 0 { throw SystemCallError("acl_set_file", path: path) }
    }

    /// `UTIME_OMIT` from <sys/stat.h>, which Swift does not import: leave this time unchanged.
    private static let utimeOmit = (1 << 30) - 2

    private static func timeSpec(_ time: Timestamp?) -> timespec {
        guard let time else { return timespec(tv_sec: 0, tv_nsec: utimeOmit) }
        return timespec(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds))
    }
}
