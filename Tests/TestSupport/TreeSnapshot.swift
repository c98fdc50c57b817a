import Glibc

/// The identity and change stamps of one entry: if none of these moved, nothing wrote to it.
public struct EntryStamp: Equatable, Sendable, CustomStringConvertible {
    public var device: UInt
    public var inode: UInt
    public var mode: UInt32
    public var size: Int
    public var changeTime: Timestamp
    public var modificationTime: Timestamp

    public var description: String {
        "inode \(inode), mode \(String(mode, radix: 8)), size \(size), ctime \(changeTime), mtime \(modificationTime)"
    }
}

/// The stamps of every entry of a tree, keyed by relative path (the root is the empty path),
/// for checking that a run left a tree untouched or rewrote only metadata.
public struct TreeSnapshot: Sendable {
    public var entries: [[UInt8]: EntryStamp]

    /// Walks the tree at `root` through folder descriptors, without following symlinks.
    public init(of root: String) throws {
        var entries: [[UInt8]: EntryStamp] = [:]
        let rootLocation = Location(folder: AT_FDCWD, name: Array(root.utf8))
        entries[[]] = EntryStamp(try rootLocation.status())
        let folder = try rootLocation.openFolder()
        defer { close(folder) }
        try Self.collect(folder, path: [], into: &entries)
        self.entries = entries
    }

    private static func collect(_ folder: Int32, path: [UInt8], into entries: inout [[UInt8]: EntryStamp]) throws {
        for name in try folderNames(folder, path: path) {
            let location = Location(folder: folder, name: name)
            let entryPath = joinPath(path, name)
            let status = try location.status()
            entries[entryPath] = EntryStamp(status)
            if status.st_mode & fileTypeMask == typeFolder {
                let child = try location.openFolder()
                defer { close(child) }
                try collect(child, path: entryPath, into: &entries)
            }
        }
    }

    /// Lists, one line each, every entry that appeared, vanished or whose stamps changed.
    public func changes(to later: TreeSnapshot) -> [String] {
        var lines: [String] = []
        let paths = Set(entries.keys).union(later.entries.keys).sorted { $0.lexicographicallyPrecedes($1) }
        for path in paths {
            let displayPath = path.isEmpty ? "\".\"" : escapedPath(path)
            switch (entries[path], later.entries[path]) {
            case (nil, let after?):
                lines.append("\(displayPath): appeared (\(after))")
            case (let before?, nil):
                lines.append("\(displayPath): vanished (was \(before))")
            case (let before?, let after?) where before != after:
                lines.append("\(displayPath): changed from \(before) to \(after)")
            default:
                break
            }
        }
        return lines
    }

    /// Returns the stamp of the entry at `path`, names joined with `/`.
    public subscript(path: String) -> EntryStamp? {
        entries[Array(path.utf8)]
    }
}

extension EntryStamp {
    init(_ status: stat) {
        device = status.st_dev
        inode = status.st_ino
        mode = status.st_mode
        size = status.st_size
        changeTime = Timestamp(seconds: Int64(status.st_ctim.tv_sec), nanoseconds: Int64(status.st_ctim.tv_nsec))
        modificationTime = Timestamp(seconds: Int64(status.st_mtim.tv_sec), nanoseconds: Int64(status.st_mtim.tv_nsec))
    }
}
