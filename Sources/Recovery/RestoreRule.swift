import MappingStore

/// Why a profile's latest home change calls for no restore.
public enum RestoreSkipReason: Sendable, Equatable, CustomStringConvertible {
    /// The profile was registered once and never moved, so there is no older home.
    case firstRegistration
    /// The change kept the EFS id and the UID, so the home did not move.
    case homeUnchanged
    /// The row was written by `add-target` and the profile has not registered its own home yet.
    case targetNotRegistered(source: ProfileKey)
    /// Replication was off for the profile when its home moved, or is off now.
    case replicationOff
    /// The profile's row was removed.
    case removed

    public var description: String {
        switch self {
        case .firstRegistration:
            return "its first registration has no earlier home to copy from"
        case .homeUnchanged:
            return "its EFS id and UID did not change"
        case .targetNotRegistered(let source):
            return "it was pointed at the data of \(source) but has not registered its own home yet"
        case .replicationOff:
            return "replication is off for it"
        case .removed:
            return "its row was removed"
        }
    }
}

/// The decision for one change record: copy the old image's home into the new image's, or not.
public enum RestoreDecision: Sendable, Equatable {
    case due(source: StudioUser, target: StudioUser)
    case notDue(RestoreSkipReason)
}

public enum RestoreRule {
    /// Decides whether `change` calls for a restore.
    ///
    /// A restore is due when a row is modified, the old image has replication on, and the EFS
    /// id or the UID changed; the old image is the source and the new image the target. An
    /// insert, a removal, or a new image written by `add-target` copies nothing.
    public static func decision(for change: ChangeRecord) -> RestoreDecision {
        switch change.operation {
        case .insert:
            return .notDue(.firstRegistration)
        case .remove:
            return .notDue(.removed)
        case .modify:
            guard let old = change.oldImage, let new = change.newImage, old.homeDiffers(from: new) else {
                return .notDue(.homeUnchanged)
            }
            if let source = new.targetSource {
                return .notDue(.targetNotRegistered(source: source))
            }
            guard old.replication else {
                return .notDue(.replicationOff)
            }
            return .due(source: old, target: new)
        }
    }

    /// The last change that moved the profile's home (an insert, a removal, or a modification of
    /// the EFS id or UID); later changes of the role or the counters do not count.
    public static func latestHomeChange(in records: [ChangeRecord]) -> ChangeRecord? {
        records.last { record in
            guard record.operation == .modify, let old = record.oldImage, let new = record.newImage else { return true }
            return old.homeDiffers(from: new)
        }
    }
}
