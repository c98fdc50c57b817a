import Foundation

/// The mapping store in one SQLite file, in WAL mode so that the daemon and the command line
/// can use it at once.
///
/// A writer that finds the file locked by another process waits up to the busy timeout and then
/// fails with `MappingStoreError.locked`. A file that is not an SQLite database is reported as
/// `.corrupt` before anything is written to it.
///
/// Sendable because every use of the connection happens while `lock` is held, so calls from
/// several threads are serialised on one connection.
public final class SQLiteMappingStore: MappingStore, @unchecked Sendable {
    public static let defaultBusyTimeoutMilliseconds = 5_000

    public let path: String
    private let lock = NSLock()
    private let connection: SQLiteConnection

    /// Opens the store at `path` and applies any missing schema migrations.
    ///
    /// - Parameters:
    ///   - createIfMissing: creates an empty store when the file does not exist; when false, a
    ///     missing file fails with `.notFound`. The folder must exist either way.
    ///   - busyTimeoutMilliseconds: how long a statement waits for another process's lock.
    public init(path: String, createIfMissing: Bool = true, busyTimeoutMilliseconds: Int = defaultBusyTimeoutMilliseconds) throws {
        if !createIfMissing && !FileManager.default.fileExists(atPath: path) {
            throw MappingStoreError.notFound(path: path)
        }
        let connection = try SQLiteConnection(path: path, create: createIfMissing, busyTimeoutMilliseconds: busyTimeoutMilliseconds)

        // The first read checks the header, so a file of another kind fails here, unchanged.
        try connection.query("SELECT count(*) FROM sqlite_master")
        try connection.query("PRAGMA journal_mode = WAL")
        // FULL makes each commit durable across a power loss, not only across a crash of syncd.
        try connection.query("PRAGMA synchronous = FULL")
        try SQLiteSchema.migrate(connection)

        self.path = path
        self.connection = connection
    }

    /// The schema version of the open file.
    public func schemaVersion() throws -> Int {
        try withConnection { connection in try SQLiteSchema.version(of: connection) }
    }

    public static var latestSchemaVersion: Int { SQLiteSchema.latestVersion }

    // MARK: Reading

    public func profile(_ key: ProfileKey) throws -> StudioUser? {
        try withConnection { connection in try Self.readProfile(key, from: connection) }
    }

    public func profiles(named profileName: String, inDomain domainName: String) throws -> [StudioUser] {
        try withConnection { connection in
            try connection.query(
                "SELECT * FROM studioUser WHERE profile_name = ? AND domain_name = ? ORDER BY kind",
                [.text(profileName), .text(domainName)]
            ).map(Self.decodeProfile)
        }
    }

    public func allProfiles() throws -> [StudioUser] {
        try withConnection { connection in
            try connection.query("SELECT * FROM studioUser ORDER BY domain_name, profile_name, kind").map(Self.decodeProfile)
        }
    }

    public func history(of key: ProfileKey) throws -> [HistoryRecord] {
        try withConnection { connection in
            try connection.query(
                "SELECT * FROM studioUserHistory WHERE profile_name = ? AND domain_name = ? AND kind = ? ORDER BY epoctime",
                [.text(key.profileName), .text(key.domainName), .text(key.kind.rawValue)]
            ).map(Self.decodeHistory)
        }
    }

    public func changeRecords(of key: ProfileKey) throws -> [ChangeRecord] {
        try withConnection { connection in
            try connection.query(
                "SELECT * FROM changeRecord WHERE profile_name = ? AND domain_name = ? AND kind = ? ORDER BY sequence",
                [.text(key.profileName), .text(key.domainName), .text(key.kind.rawValue)]
            ).map(Self.decodeChange)
        }
    }

    public func changeRecords(after sequence: Int64, limit: Int) throws -> [ChangeRecord] {
        try withConnection { connection in
            try connection.query(
                "SELECT * FROM changeRecord WHERE sequence > ? ORDER BY sequence LIMIT ?",
                [.integer(sequence), .integer(Int64(limit))]
            ).map(Self.decodeChange)
        }
    }

    public func checkpoint(of consumer: String) throws -> Int64 {
        try withConnection { connection in
            try connection.query("SELECT sequence FROM changeCheckpoint WHERE consumer = ?", [.text(consumer)])
                .first?["sequence"].integer ?? 0
        }
    }

    // MARK: Writing

    public func saveCheckpoint(_ sequence: Int64, of consumer: String) throws {
        _ = try withConnection { connection in
            try connection.query(
                """
                INSERT INTO changeCheckpoint (consumer, sequence, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (consumer) DO UPDATE SET sequence = max(sequence, excluded.sequence), updated_at = excluded.updated_at
                """,
                [.text(consumer), .integer(sequence), .integer(Self.nowMilliseconds())])
        }
    }

    @discardableResult
    public func update(
        _ key: ProfileKey, action: HistoryRecord.Action, detail: String?,
        _ change: (StudioUser?) throws -> StudioUser?
    ) throws -> StoreUpdate {
        try withConnection { connection in
            try connection.writeTransaction {
                let oldImage = try Self.readProfile(key, from: connection)
                let newImage = try change(oldImage)
                if let newImage, newImage.key != key {
                    throw MappingStoreError.invalidValue(
                        field: "profile key", value: newImage.key.description, reason: "an update may not move a row to another key (\(key))")
                }
                if newImage == oldImage {
                    return StoreUpdate(oldImage: oldImage, newImage: newImage, changeSequence: nil)
                }

                if let newImage {
                    try Self.writeProfile(newImage, to: connection)
                } else {
                    try connection.query(
                        "DELETE FROM studioUser WHERE profile_name = ? AND domain_name = ? AND kind = ?",
                        [.text(key.profileName), .text(key.domainName), .text(key.kind.rawValue)])
                }

                let now = Self.nowMilliseconds()
                let operation: ChangeRecord.Operation
                switch (oldImage, newImage) {
                case (nil, _): operation = .insert
                case (_, nil): operation = .remove
                default: operation = .modify
                }
                let sequence = try connection.query(
                    """
                    INSERT INTO changeRecord (recorded_at, operation, profile_name, domain_name, kind, old_image, new_image)
                    VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING sequence
                    """,
                    [
                        .integer(now), .text(operation.rawValue), .text(key.profileName), .text(key.domainName),
                        .text(key.kind.rawValue), try Self.encodeImage(oldImage).sqliteValue, try Self.encodeImage(newImage).sqliteValue,
                    ]
                ).first?["sequence"].integer

                try Self.appendHistory(key: key, action: action, image: newImage, detail: detail, now: now, to: connection)
                return StoreUpdate(oldImage: oldImage, newImage: newImage, changeSequence: sequence)
            }
        }
    }

    private func withConnection<Result>(_ body: (borrowing SQLiteConnection) throws -> Result) throws -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(connection)
    }

    // MARK: Rows

    private static func readProfile(_ key: ProfileKey, from connection: borrowing SQLiteConnection) throws -> StudioUser? {
        try connection.query(
            "SELECT * FROM studioUser WHERE profile_name = ? AND domain_name = ? AND kind = ?",
            [.text(key.profileName), .text(key.domainName), .text(key.kind.rawValue)]
        ).first.map(decodeProfile)
    }

    private static func writeProfile(_ profile: StudioUser, to connection: borrowing SQLiteConnection) throws {
        let restore = profile.lastRestore
        try connection.query(
            """
            INSERT OR REPLACE INTO studioUser (
                profile_name, domain_name, kind, domain_id, user_profile_name, space_name, efs_sys_id, efs_uid,
                role_name, replication, target_source_profile_name, target_source_domain_name, target_source_kind,
                bytes_written, bytes_file_transferred, files_transferred, total_duration_ms, replication_status,
                restored_change_sequence
            ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(profile.key.profileName), .text(profile.key.domainName), .text(profile.key.kind.rawValue),
                profile.domainID.sqliteValue, profile.userProfileName.sqliteValue, profile.spaceName.sqliteValue,
                .text(profile.efsFileSystemID.rawValue), .integer(Int64(profile.efsUID)),
                profile.roleName.sqliteValue, .integer(profile.replication ? 1 : 0),
                profile.targetSource?.profileName.sqliteValue ?? .null, profile.targetSource?.domainName.sqliteValue ?? .null,
                profile.targetSource?.kind.rawValue.sqliteValue ?? .null,
                restore?.bytesWritten.sqliteValue ?? .null, restore?.bytesFileTransferred.sqliteValue ?? .null,
                restore?.filesTransferred.sqliteValue ?? .null, restore?.totalDurationMilliseconds.sqliteValue ?? .null,
                restore?.replicationStatus.sqliteValue ?? .null, restore?.changeSequence.sqliteValue ?? .null,
            ])
    }

    /// Appends a history record; its time is made unique per profile name, the table's key with `epoctime`.
    private static func appendHistory(
        key: ProfileKey, action: HistoryRecord.Action, image: StudioUser?, detail: String?, now: Int64,
        to connection: borrowing SQLiteConnection
    ) throws {
        let latest = try connection.query(
            "SELECT max(epoctime) AS latest FROM studioUserHistory WHERE profile_name = ?", [.text(key.profileName)]
        ).first?["latest"].integer
        let epochTime = max(now, (latest ?? now - 1) + 1)
        try connection.query(
            "INSERT INTO studioUserHistory (profile_name, epoctime, domain_name, kind, action, image, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                .text(key.profileName), .integer(epochTime), .text(key.domainName), .text(key.kind.rawValue),
                .text(action.rawValue), try encodeImage(image).sqliteValue, detail.sqliteValue,
            ])
    }

    private static func decodeProfile(_ row: SQLiteRow) throws -> StudioUser {
        let key = try decodeKey(row)
        let efsText = row["efs_sys_id"].text ?? ""
        guard let uidValue = row["efs_uid"].integer, let uid = UInt32(exactly: uidValue) else {
            throw MappingStoreError.invalidValue(field: "stored efs_uid", value: "\(row["efs_uid"])", reason: "the row for \(key) has no valid UID")
        }
        var profile = StudioUser(
            key: key, domainID: row["domain_id"].text, roleName: row["role_name"].text,
            efsFileSystemID: try EFSFileSystemID(validating: efsText), efsUID: uid,
            replication: row["replication"].integer != 0)
        if let name = row["target_source_profile_name"].text, let domain = row["target_source_domain_name"].text,
           let kind = row["target_source_kind"].text.flatMap(ProfileKind.init(rawValue:)) {
            profile.targetSource = ProfileKey(profileName: name, domainName: domain, kind: kind)
        }
        if let status = row["replication_status"].text {
            profile.lastRestore = RestoreSummary(
                bytesWritten: row["bytes_written"].integer ?? 0,
                bytesFileTransferred: row["bytes_file_transferred"].integer ?? 0,
                filesTransferred: row["files_transferred"].integer ?? 0,
                totalDurationMilliseconds: row["total_duration_ms"].integer ?? 0,
                replicationStatus: status,
                changeSequence: row["restored_change_sequence"].integer)
        }
        return profile
    }

    private static func decodeKey(_ row: SQLiteRow) throws -> ProfileKey {
        guard let name = row["profile_name"].text, let domain = row["domain_name"].text,
              let kind = row["kind"].text.flatMap(ProfileKind.init(rawValue:)) else {
            throw MappingStoreError.invalidValue(field: "stored row", value: "\(row.columns)", reason: "profile_name, domain_name or kind is missing")
        }
        return ProfileKey(profileName: name, domainName: domain, kind: kind)
    }

    private static func decodeHistory(_ row: SQLiteRow) throws -> HistoryRecord {
        let key = try decodeKey(row)
        let actionText = row["action"].text ?? ""
        guard let action = HistoryRecord.Action(rawValue: actionText) else {
            throw MappingStoreError.invalidValue(field: "stored history action", value: actionText, reason: "not an action this syncd writes")
        }
        return HistoryRecord(
            profileName: key.profileName, epochTime: row["epoctime"].integer ?? 0, action: action, key: key,
            image: try decodeImage(row["image"].text), detail: row["detail"].text)
    }

    private static func decodeChange(_ row: SQLiteRow) throws -> ChangeRecord {
        let operationText = row["operation"].text ?? ""
        guard let operation = ChangeRecord.Operation(rawValue: operationText) else {
            throw MappingStoreError.invalidValue(field: "stored change operation", value: operationText, reason: "expected INSERT, MODIFY or REMOVE")
        }
        return ChangeRecord(
            sequence: row["sequence"].integer ?? 0, recordedAt: row["recorded_at"].integer ?? 0, operation: operation,
            key: try decodeKey(row), oldImage: try decodeImage(row["old_image"].text), newImage: try decodeImage(row["new_image"].text))
    }

    private static func encodeImage(_ image: StudioUser?) throws -> String? {
        guard let image else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(image), as: UTF8.self)
    }

    private static func decodeImage(_ text: String?) throws -> StudioUser? {
        guard let text else { return nil }
        return try JSONDecoder().decode(StudioUser.self, from: Data(text.utf8))
    }

    private static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}

extension String {
    fileprivate var sqliteValue: SQLiteValue { .text(self) }
}

extension Int64 {
    fileprivate var sqliteValue: SQLiteValue { .integer(self) }
}
