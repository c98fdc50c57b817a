/// One `studioUser` row: where a profile's home folder lives and how its last restore went.
///
/// The JSON form (`Codable`) uses the column names and omits empty columns; it is the image
/// that change records and `--json` output carry.
public struct StudioUser: Sendable, Equatable, Codable {
    public var key: ProfileKey
    public var domainID: String?
    public var roleName: String?
    public var efsFileSystemID: EFSFileSystemID
    /// The POSIX UID that owns the home folder, which is named after it (`<mount>/<uid>`).
    public var efsUID: UInt32
    /// Whether a change of volume or UID restores the old home into the new one.
    public var replication: Bool
    /// The profile whose data an `add-target` row points at; nil once the profile registers itself.
    public var targetSource: ProfileKey?
    public var lastRestore: RestoreSummary?

    public init(
        key: ProfileKey, domainID: String?, roleName: String?, efsFileSystemID: EFSFileSystemID, efsUID: UInt32,
        replication: Bool = true, targetSource: ProfileKey? = nil, lastRestore: RestoreSummary? = nil
    ) {
        self.key = key
        self.domainID = domainID
        self.roleName = roleName
        self.efsFileSystemID = efsFileSystemID
        self.efsUID = efsUID
        self.replication = replication
        self.targetSource = targetSource
        self.lastRestore = lastRestore
    }

    /// The `user_profile_name` column: the profile name for a user, empty for a space.
    public var userProfileName: String? { key.kind == .user ? key.profileName : nil }
    /// The `space_name` column: the space name for a space, empty for a user.
    public var spaceName: String? { key.kind == .space ? key.profileName : nil }

    /// Whether the volume or the UID differs, so the two rows name different home folders.
    public func homeDiffers(from other: StudioUser) -> Bool {
        efsFileSystemID != other.efsFileSystemID || efsUID != other.efsUID
    }

    enum CodingKeys: String, CodingKey {
        case profileName = "profile_name"
        case domainName = "domain_name"
        case kind
        case domainID = "domain_id"
        case userProfileName = "user_profile_name"
        case spaceName = "space_name"
        case efsFileSystemID = "efs_sys_id"
        case efsUID = "efs_uid"
        case roleName = "role_name"
        case replication
        case targetSourceProfileName = "target_source_profile_name"
        case targetSourceDomainName = "target_source_domain_name"
        case targetSourceKind = "target_source_kind"
        case bytesWritten = "bytes_written"
        case bytesFileTransferred = "bytes_file_transferred"
        case filesTransferred = "files_transferred"
        case totalDurationMilliseconds = "total_duration_ms"
        case replicationStatus = "replication_status"
        case restoredChangeSequence = "restored_change_sequence"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        key = ProfileKey(
            profileName: try container.decode(String.self, forKey: .profileName),
            domainName: try container.decode(String.self, forKey: .domainName),
            kind: try container.decode(ProfileKind.self, forKey: .kind))
        domainID = try container.decodeIfPresent(String.self, forKey: .domainID)
        roleName = try container.decodeIfPresent(String.self, forKey: .roleName)
        efsFileSystemID = try container.decode(EFSFileSystemID.self, forKey: .efsFileSystemID)
        efsUID = try container.decode(UInt32.self, forKey: .efsUID)
        replication = try container.decode(Bool.self, forKey: .replication)
        if let name = try container.decodeIfPresent(String.self, forKey: .targetSourceProfileName) {
            targetSource = ProfileKey(
                profileName: name,
                domainName: try container.decode(String.self, forKey: .targetSourceDomainName),
                kind: try container.decode(ProfileKind.self, forKey: .targetSourceKind))
        }
        if let status = try container.decodeIfPresent(String.self, forKey: .replicationStatus) {
            lastRestore = RestoreSummary(
                bytesWritten: try container.decodeIfPresent(Int64.self, forKey: .bytesWritten) ?? 0,
                bytesFileTransferred: try container.decodeIfPresent(Int64.self, forKey: .bytesFileTransferred) ?? 0,
                filesTransferred: try container.decodeIfPresent(Int64.self, forKey: .filesTransferred) ?? 0,
                totalDurationMilliseconds: try container.decodeIfPresent(Int64.self, forKey: .totalDurationMilliseconds) ?? 0,
                replicationStatus: status,
                changeSequence: try container.decodeIfPresent(Int64.self, forKey: .restoredChangeSequence))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key.profileName, forKey: .profileName)
        try container.encode(key.domainName, forKey: .domainName)
        try container.encode(key.kind, forKey: .kind)
        try container.encodeIfPresent(domainID, forKey: .domainID)
        try container.encodeIfPresent(userProfileName, forKey: .userProfileName)
        try container.encodeIfPresent(spaceName, forKey: .spaceName)
        try container.encode(efsFileSystemID, forKey: .efsFileSystemID)
        try container.encode(efsUID, forKey: .efsUID)
        try container.encodeIfPresent(roleName, forKey: .roleName)
        try container.encode(replication, forKey: .replication)
        if let targetSource {
            try container.encode(targetSource.profileName, forKey: .targetSourceProfileName)
            try container.encode(targetSource.domainName, forKey: .targetSourceDomainName)
            try container.encode(targetSource.kind, forKey: .targetSourceKind)
        }
        if let lastRestore {
            try container.encode(lastRestore.bytesWritten, forKey: .bytesWritten)
            try container.encode(lastRestore.bytesFileTransferred, forKey: .bytesFileTransferred)
            try container.encode(lastRestore.filesTransferred, forKey: .filesTransferred)
            try container.encode(lastRestore.totalDurationMilliseconds, forKey: .totalDurationMilliseconds)
            try container.encode(lastRestore.replicationStatus, forKey: .replicationStatus)
            try container.encodeIfPresent(lastRestore.changeSequence, forKey: .restoredChangeSequence)
        }
    }
}

/// The counters of the last restore into a profile's home, as the reference writes them back.
public struct RestoreSummary: Sendable, Equatable {
    /// DataSync's BytesWritten: logical bytes written to the destination.
    public var bytesWritten: Int64
    /// DataSync's BytesTransferred, under the reference's column name.
    public var bytesFileTransferred: Int64
    public var filesTransferred: Int64
    public var totalDurationMilliseconds: Int64
    /// DataSync's task execution status: SUCCESS or ERROR.
    public var replicationStatus: String
    /// The change record this restore carried out; nil in rows written by schema version 1.
    public var changeSequence: Int64?

    public init(
        bytesWritten: Int64, bytesFileTransferred: Int64, filesTransferred: Int64, totalDurationMilliseconds: Int64,
        replicationStatus: String, changeSequence: Int64?
    ) {
        self.bytesWritten = bytesWritten
        self.bytesFileTransferred = bytesFileTransferred
        self.filesTransferred = filesTransferred
        self.totalDurationMilliseconds = totalDurationMilliseconds
        self.replicationStatus = replicationStatus
        self.changeSequence = changeSequence
    }
}
