import CSyncShim

/// The fields of statx(2) the engine reads, for one entry.
public struct FileStatus: Sendable, Equatable {
    public var device: UInt64
    public var inode: UInt64
    public var mode: UInt32
    public var linkCount: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var rdev: UInt64
    public var size: Int64
    public var blocks: Int64
    public var atime: Timestamp
    public var mtime: Timestamp
    public var ctime: Timestamp

    public struct Timestamp: Sendable, Equatable, Comparable {
        public var seconds: Int64
        public var nanoseconds: Int64

        public init(seconds: Int64, nanoseconds: Int64) {
            self.seconds = seconds
            self.nanoseconds = nanoseconds
        }

        public static func < (a: Timestamp, b: Timestamp) -> Bool {
            (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
        }
    }

    init(_ raw: syncd_stat_t) {
        device = raw.dev
        inode = raw.ino
        mode = raw.mode
        linkCount = raw.nlink
        uid = raw.uid
        gid = raw.gid
        rdev = raw.rdev
        size = raw.size
        blocks = raw.blocks
        atime = Timestamp(seconds: raw.atime_sec, nanoseconds: raw.atime_nsec)
        mtime = Timestamp(seconds: raw.mtime_sec, nanoseconds: raw.mtime_nsec)
        ctime = Timestamp(seconds: raw.ctime_sec, nanoseconds: raw.ctime_nsec)
    }

    public var fileType: UInt32 { mode & 0o170000 }
    public var permissions: UInt32 { mode & 0o7777 }
    public var isDirectory: Bool { fileType == 0o040000 }
    public var isRegular: Bool { fileType == 0o100000 }
    public var isSymlink: Bool { fileType == 0o120000 }

    public var kind: EntryEvent.Kind {
        switch fileType {
        case 0o040000: return .directory
        case 0o120000: return .symlink
        case 0o010000: return .fifo
        case 0o020000: return .characterDevice
        case 0o060000: return .blockDevice
        case 0o140000: return .socket
        default: return .regular
        }
    }
}
