/// A profile as SageMaker describes it, checked and ready to register.
public struct ProfileRegistration: Sendable, Equatable {
    public var key: ProfileKey
    public var domainID: String
    public var efsFileSystemID: EFSFileSystemID
    public var efsUID: UInt32
    public var roleName: String?

    /// Checks every field as text, the way it arrives from a command line or an event.
    public init(
        profileName: String, domainName: String, kind: ProfileKind, domainID: String, efsFileSystemID: String, uid: String,
        roleName: String?
    ) throws {
        key = try ProfileKey(validatingProfileName: profileName, domainName: domainName, kind: kind)
        try Validation.checkDomainID(domainID)
        self.domainID = domainID
        self.efsFileSystemID = try EFSFileSystemID(validating: efsFileSystemID)
        efsUID = try Validation.parseUID(uid)
        if let roleName { try Validation.checkRoleName(roleName) }
        self.roleName = roleName
    }
}

extension MappingStore {
    /// Finds the row that a profile name refers to in a domain.
    ///
    /// With a kind, only that kind matches. Without one, the name must belong to exactly one
    /// user or space, and a name that both use fails with `.ambiguousProfile`.
    public func resolveProfile(named profileName: String, inDomain domainName: String, kind: ProfileKind?) throws -> StudioUser {
        let matches = try profiles(named: profileName, inDomain: domainName).filter { kind == nil || $0.key.kind == kind }
        switch matches.count {
        case 1:
            return matches[0]
        case 0:
            throw MappingStoreError.profileNotFound(ProfileKey(profileName: profileName, domainName: domainName, kind: kind ?? .user))
        default:
            throw MappingStoreError.ambiguousProfile(profileName: profileName, domainName: domainName)
        }
    }

    /// Records where a profile's home lives, as the reference's event function does after it
    /// describes a new profile.
    ///
    /// A known profile keeps its replication setting and last restore. Registering it again
    /// with the same volume, UID, domain id and role writes nothing. A row left by `addTarget`
    /// becomes the profile's own row, so the change from the source's home to the new one is
    /// recorded as a modification.
    @discardableResult
    public func register(_ registration: ProfileRegistration) throws -> StoreUpdate {
        try update(registration.key, action: .register, detail: nil) { current in
            var profile = current ?? StudioUser(
                key: registration.key, domainID: registration.domainID, roleName: registration.roleName,
                efsFileSystemID: registration.efsFileSystemID, efsUID: registration.efsUID)
            profile.domainID = registration.domainID
            profile.roleName = registration.roleName
            profile.efsFileSystemID = registration.efsFileSystemID
            profile.efsUID = registration.efsUID
            profile.targetSource = nil
            return profile
        }
    }

    /// Turns restores on or off for one profile; fails with `.profileNotFound` for an unknown key.
    @discardableResult
    public func setReplication(_ key: ProfileKey, enabled: Bool) throws -> StoreUpdate {
        try update(key, action: .setReplication, detail: enabled ? "replication on" : "replication off") { current in
            guard var profile = current else { throw MappingStoreError.profileNotFound(key) }
            profile.replication = enabled
            return profile
        }
    }

    /// Points a profile that does not exist yet at an existing profile's data, in any domain.
    ///
    /// Writes a row for `target` with the source's volume and UID, so that when the target
    /// registers with its own home, a restore from the source's home becomes due. A target that
    /// already exists is rejected unless it is such a row itself, which is then pointed anew.
    @discardableResult
    public func addTarget(source sourceKey: ProfileKey, target targetKey: ProfileKey) throws -> StoreUpdate {
        guard sourceKey != targetKey else {
            throw MappingStoreError.invalidValue(field: "target profile", value: targetKey.profileName, reason: "the target is the source itself")
        }
        guard let source = try profile(sourceKey) else { throw MappingStoreError.profileNotFound(sourceKey) }

        let detail = "data of \(source.key) (\(source.efsFileSystemID.rawValue), UID \(source.efsUID))"
        return try update(targetKey, action: .addTarget, detail: detail) { current in
            if let current, current.targetSource == nil {
                throw MappingStoreError.profileExists(
                    targetKey, reason: "add-target only points a profile that has not registered yet, and this one has its home on \(current.efsFileSystemID.rawValue) with UID \(current.efsUID)")
            }
            return StudioUser(
                key: targetKey, domainID: nil, roleName: nil, efsFileSystemID: source.efsFileSystemID, efsUID: source.efsUID,
                replication: true, targetSource: source.key)
        }
    }

    /// Writes a restore's counters and status to the row and appends a history record.
    @discardableResult
    public func recordRestore(_ summary: RestoreSummary, for key: ProfileKey, detail: String?) throws -> StoreUpdate {
        try update(key, action: .restore, detail: detail) { current in
            guard var profile = current else { throw MappingStoreError.profileNotFound(key) }
            profile.lastRestore = summary
            return profile
        }
    }
}
