/// The settings of one replication task, named after DataSync's task options.
///
/// Every field has DataSync's default. `TaskOptions(dataSyncJSON:)` reads DataSync's `Options`
/// object, so a task definition written for DataSync runs here unchanged.
public struct TaskOptions: Sendable, Equatable {
    public enum VerifyMode: String, Sendable, CaseIterable {
        /// Checks each transferred file against the checksum taken while it was read (ONLY_FILES_TRANSFERRED).
        case transferred
        /// Compares the whole source and destination at the end (POINT_IN_TIME_CONSISTENT).
        case all
        case none
    }

    public enum TransferMode: String, Sendable, CaseIterable {
        /// Copies only entries whose type, size, modification time or metadata differ (CHANGED).
        case changed
        case all
    }

    public enum OverwriteMode: String, Sendable, CaseIterable {
        case always
        /// Keeps every entry that the destination already has (NEVER).
        case never
    }

    public enum Preservation: String, Sendable, CaseIterable {
        case preserve
        case none
    }

    public enum AtimeMode: String, Sendable, CaseIterable {
        case bestEffort = "best-effort"
        case none
    }

    public enum LogLevel: String, Sendable, CaseIterable {
        case off
        case basic
        /// Logs every entry the task transfers, skips or deletes (TRANSFER).
        case transfer
    }

    public var verifyMode: VerifyMode = .transferred
    public var transferMode: TransferMode = .changed
    public var overwrite: OverwriteMode = .always
    /// Removes destination entries that the source does not have (PreserveDeletedFiles REMOVE).
    public var deleteExtraneous = false
    /// Copies character and block devices (PreserveDevices PRESERVE). FIFOs are always copied.
    public var preserveDevices = false
    /// Keeps numeric owners and groups (Uid/Gid INT_VALUE); `.none` leaves them to the process.
    public var owners: Preservation = .preserve
    public var permissions: Preservation = .preserve
    public var mtime: Preservation = .preserve
    public var atime: AtimeMode = .bestEffort
    /// Replaces these owners and groups after reading them from the source.
    public var uidMap: [UInt32: UInt32] = [:]
    public var gidMap: [UInt32: UInt32] = [:]
    public var filters = PathFilters()
    /// The average byte rate cap over the run, or nil for unlimited (BytesPerSecond -1).
    public var bytesPerSecond: Int64? = nil
    public var checksum: ChecksumAlgorithm = .xxh128
    public var logLevel: LogLevel = .basic
    /// Parallel workers; nil chooses from the destination's filesystem type.
    public var workers: Int? = nil
    /// Plans and reports every change without making any.
    public var dryRun = false
    /// DataSync's TaskQueueing, kept only to be reported back: one host runs one task at a time.
    public var taskQueueing = "ENABLED"

    public init() {}
}

/// The content checksum used for verification and reports.
public enum ChecksumAlgorithm: String, Sendable, CaseIterable {
    case xxh128
    case sha256
}
