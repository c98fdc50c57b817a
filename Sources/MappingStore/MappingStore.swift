/// The table of Studio profiles, its history and its change feed, behind one interface so that
/// a managed backend (DynamoDB with conditional writes) can replace SQLite without touching callers.
///
/// Every write goes through `update`, which stores the row, one change record with the old and
/// new image, and one history record atomically. The profile operations in
/// `MappingStore+Profiles.swift` are built on it and so behave the same on every backend.
public protocol MappingStore: AnyObject, Sendable {
    func profile(_ key: ProfileKey) throws -> StudioUser?

    /// The rows with this name in this domain: none, a user, a space, or both.
    func profiles(named profileName: String, inDomain domainName: String) throws -> [StudioUser]

    /// Every row, ordered by domain name, profile name and kind.
    func allProfiles() throws -> [StudioUser]

    /// Reads the row for `key`, passes it to `change`, and writes what `change` returns.
    ///
    /// Returning nil removes the row. When the result equals the current row, nothing is written
    /// and the returned `StoreUpdate` has no change sequence. Otherwise the row, a change record
    /// and a history record with `action` and `detail` are written in one transaction; if
    /// `change` throws, nothing is written.
    @discardableResult
    func update(
        _ key: ProfileKey, action: HistoryRecord.Action, detail: String?,
        _ change: (StudioUser?) throws -> StudioUser?
    ) throws -> StoreUpdate

    /// The history of one profile, oldest first.
    func history(of key: ProfileKey) throws -> [HistoryRecord]

    /// The change records of one profile, oldest first.
    func changeRecords(of key: ProfileKey) throws -> [ChangeRecord]

    /// Change records of every profile with a sequence above `sequence`, oldest first, at most `limit`.
    func changeRecords(after sequence: Int64, limit: Int) throws -> [ChangeRecord]

    /// The last sequence that `consumer` has handled, or 0.
    func checkpoint(of consumer: String) throws -> Int64

    /// Stores the last sequence that `consumer` has handled. A checkpoint never moves backwards.
    func saveCheckpoint(_ sequence: Int64, of consumer: String) throws
}

/// The outcome of one `MappingStore.update`.
public struct StoreUpdate: Sendable, Equatable {
    public var oldImage: StudioUser?
    public var newImage: StudioUser?
    /// The sequence of the change record written, or nil when the row did not change.
    public var changeSequence: Int64?

    public init(oldImage: StudioUser?, newImage: StudioUser?, changeSequence: Int64?) {
        self.oldImage = oldImage
        self.newImage = newImage
        self.changeSequence = changeSequence
    }

    public var changed: Bool { changeSequence != nil }
}
