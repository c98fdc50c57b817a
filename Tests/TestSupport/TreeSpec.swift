/// A file name (one path component) kept as raw bytes, so that names with a newline, a tab,
/// invalid UTF-8 or 255 bytes can be described exactly.
public struct EntryName: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }
    public init(stringLiteral value: String) { self.init(value) }

    public var description: String { escapedPath(bytes) }
}

/// A point in time with nanoseconds, on either side of 1970 and 2038.
public struct Timestamp: Hashable, Sendable, CustomStringConvertible {
    public var seconds: Int64
    public var nanoseconds: Int64

    public init(seconds: Int64, nanoseconds: Int64 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public var description: String {
        let fraction = String(nanoseconds)
        return "\(seconds).\(String(repeating: "0", count: max(0, 9 - fraction.count)))\(fraction)"
    }
}

/// One extended attribute: a full name with its namespace prefix (`user.mime`, `trusted.tag`)
/// and a value that may be empty or binary.
public struct ExtendedAttribute: Hashable, Sendable {
    public var name: String
    public var value: [UInt8]

    public init(_ name: String, _ value: [UInt8]) {
        self.name = name
        self.value = value
    }

    public init(_ name: String, text: String) {
        self.init(name, Array(text.utf8))
    }
}

/// The metadata that the builder applies to an entry. A nil field leaves what creation gave.
public struct Attributes: Sendable {
    /// Permission bits including set-user-id, set-group-id and sticky (`0o7777` mask).
    /// Ignored for symlinks, whose mode Linux cannot change.
    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public var modificationTime: Timestamp?
    public var accessTime: Timestamp?
    public var extendedAttributes: [ExtendedAttribute]
    /// A POSIX access ACL in `setfacl` text form, such as `u::rw,u:1234:rw,g::r,g:5678:r,m::rw,o::-`.
    public var accessACL: String?
    /// A POSIX default ACL in the same text form; folders only.
    public var defaultACL: String?

    public init(
        mode: UInt32? = nil,
        uid: UInt32? = nil,
        gid: UInt32? = nil,
        modificationTime: Timestamp? = nil,
        accessTime: Timestamp? = nil,
        extendedAttributes: [ExtendedAttribute] = [],
        accessACL: String? = nil,
        defaultACL: String? = nil
    ) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.modificationTime = modificationTime
        self.accessTime = accessTime
        self.extendedAttributes = extendedAttributes
        self.accessACL = accessACL
        self.defaultACL = defaultACL
    }
}

/// Data written at one offset of a sparse file.
public struct Extent: Sendable {
    public var offset: Int64
    public var bytes: [UInt8]

    public init(offset: Int64, bytes: [UInt8]) {
        self.offset = offset
        self.bytes = bytes
    }
}

/// The content of a regular file.
public enum FileContent: Sendable {
    case bytes([UInt8])
    /// A file of `size` bytes with data only in `extents` and holes everywhere else.
    /// The builder writes each extent with `pwrite` and sets the size with `ftruncate`, so a
    /// trailing hole is not allocated.
    case sparse(size: Int64, extents: [Extent])
}

/// What an entry is.
public indirect enum EntryKind: Sendable {
    case folder([TreeEntry])
    case file(FileContent)
    /// A symbolic link whose link text is stored byte for byte and never resolved.
    case symlink(target: [UInt8])
    /// A second name for the entry at `target`, a path of names from the tree root.
    /// The link shares the target's inode, so its own attributes are ignored.
    case hardLink(target: [EntryName])
    case fifo
    case characterDevice(major: UInt32, minor: UInt32)
    case blockDevice(major: UInt32, minor: UInt32)
    case socket
}

/// One entry of a tree description: a name, a kind and the attributes to apply.
public struct TreeEntry: Sendable {
    public var name: EntryName
    public var kind: EntryKind
    public var attributes: Attributes

    public init(name: EntryName, kind: EntryKind, attributes: Attributes = Attributes()) {
        self.name = name
        self.kind = kind
        self.attributes = attributes
    }

    public static func folder(_ name: EntryName, _ attributes: Attributes = Attributes(), _ children: [TreeEntry] = []) -> TreeEntry {
        TreeEntry(name: name, kind: .folder(children), attributes: attributes)
    }

    public static func file(_ name: EntryName, _ text: String = "", _ attributes: Attributes = Attributes()) -> TreeEntry {
        TreeEntry(name: name, kind: .file(.bytes(Array(text.utf8))), attributes: attributes)
    }

    public static func file(_ name: EntryName, bytes: [UInt8], _ attributes: Attributes = Attributes()) -> TreeEntry {
        TreeEntry(name: name, kind: .file(.bytes(bytes)), attributes: attributes)
    }

    public static func sparseFile(
        _ name: EntryName, size: Int64, extents: [Extent] = [], _ attributes: Attributes = Attributes()
    ) -> TreeEntry {
        TreeEntry(name: name, kind: .file(.sparse(size: size, extents: extents)), attributes: attributes)
    }

    public static func symlink(_ name: EntryName, to target: String, _ attributes: Attributes = Attributes()) -> TreeEntry {
        TreeEntry(name: name, kind: .symlink(target: Array(target.utf8)), attributes: attributes)
    }

    public static func symlink(_ name: EntryName, toBytes target: [UInt8], _ attributes: Attributes = Attributes()) -> TreeEntry {
        TreeEntry(name: name, kind: .symlink(target: target), attributes: attributes)
    }

    /// Makes a hard link to the entry at `target`, written as names separated by `/` from the tree root.
    public static func hardLink(_ name: EntryName, to target: String) -> TreeEntry {
        let components = target.split(separator: "/").map { EntryName(String($0)) }
        return TreeEntry(name: name, kind: .hardLink(target: components))
    }

    public static func hardLink(_ name: EntryName, toPath target: [EntryName]) -> TreeEntry {
        TreeEntry(name: name, kind: .hardLink(target: target))
    }

    public static func fifo(_ name: EntryName, _ attributes: Attributes = Attributes()) -> TreeEntry {
        TreeEntry(name: name, kind: .fifo, attributes: attributes)
    }

    public static func characterDevice(
        _ name: EntryName, major: UInt32, minor: UInt32, _ attributes: Attributes = Attributes()
    ) -> TreeEntry {
        TreeEntry(name: name, kind: .characterDevice(major: major, minor: minor), attributes: attributes)
    }

    public static func blockDevice(
        _ name: EntryName, major: UInt32, minor: UInt32, _ attributes: Attributes = Attributes()
    ) -> TreeEntry {
        TreeEntry(name: name, kind: .blockDevice(major: major, minor: minor), attributes: attributes)
    }

    public static func socket(_ name: EntryName, _ attributes: Attributes = Attributes()) -> TreeEntry {
        TreeEntry(name: name, kind: .socket, attributes: attributes)
    }
}
