/// The outcome for one entry, from which reports and logs are built.
public struct EntryEvent: Sendable {
    public enum Kind: String, Sendable {
        case regular = "File"
        case directory = "Directory"
        case symlink = "SymbolicLink"
        case fifo = "Fifo"
        case characterDevice = "CharacterDevice"
        case blockDevice = "BlockDevice"
        case socket = "Socket"
    }

    /// DataSync's TransferType of a task report entry.
    public enum TransferType: String, Sendable {
        case content = "CONTENT"
        case metadata = "METADATA"
        case delete = "DELETE"
        case none = "NONE"
    }

    public enum Status: String, Sendable {
        case success = "SUCCESS"
        case skipped = "SKIPPED"
        case failed = "FAILED"
        case vanished = "VANISHED"
        case changedDuringTransfer = "CHANGED_DURING_TRANSFER"
        case verifyMismatch = "VERIFY_MISMATCH"
    }

    public enum Phase: String, Sendable {
        case prepare = "PREPARING"
        case transfer = "TRANSFERRING"
        case verify = "VERIFYING"
        case delete = "DELETING"
    }

    /// Root-relative path with a leading `/`, as raw bytes.
    public var path: [UInt8]
    public var kind: Kind
    public var phase: Phase
    public var transferType: TransferType
    public var status: Status
    public var source: FileStatus?
    public var checksum: String?
    public var destinationChecksum: String?
    public var failure: String?
    public var bytes: Int64 = 0
}
