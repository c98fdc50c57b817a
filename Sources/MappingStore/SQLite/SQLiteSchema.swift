/// The store's schema as a list of migrations. `PRAGMA user_version` stores the version of the
/// last one applied.
///
/// A released migration must not be edited. A newer syncd appends one, and opening an older
/// file applies the missing ones in a single transaction, keeping every row.
enum SQLiteSchema {
    struct Migration {
        let version: Int
        let sql: String
    }

    static let migrations: [Migration] = [
        Migration(version: 1, sql: """
            CREATE TABLE studioUser (
                profile_name TEXT NOT NULL,
                domain_name TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('user', 'space')),
                domain_id TEXT,
                user_profile_name TEXT,
                space_name TEXT,
                efs_sys_id TEXT NOT NULL,
                efs_uid INTEGER NOT NULL,
                role_name TEXT,
                replication INTEGER NOT NULL DEFAULT 1 CHECK (replication IN (0, 1)),
                target_source_profile_name TEXT,
                target_source_domain_name TEXT,
                target_source_kind TEXT,
                bytes_written INTEGER,
                bytes_file_transferred INTEGER,
                files_transferred INTEGER,
                total_duration_ms INTEGER,
                replication_status TEXT,
                PRIMARY KEY (profile_name, domain_name, kind)
            ) WITHOUT ROWID;

            CREATE TABLE studioUserHistory (
                profile_name TEXT NOT NULL,
                epoctime INTEGER NOT NULL,
                domain_name TEXT NOT NULL,
                kind TEXT NOT NULL,
                action TEXT NOT NULL,
                image TEXT,
                detail TEXT,
                PRIMARY KEY (profile_name, epoctime)
            );

            CREATE TABLE changeRecord (
                sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                recorded_at INTEGER NOT NULL,
                operation TEXT NOT NULL CHECK (operation IN ('INSERT', 'MODIFY', 'REMOVE')),
                profile_name TEXT NOT NULL,
                domain_name TEXT NOT NULL,
                kind TEXT NOT NULL,
                old_image TEXT,
                new_image TEXT
            );

            CREATE INDEX changeRecord_by_profile ON changeRecord (profile_name, domain_name, kind, sequence);
            """),
        // Restores remember which change they carried out, so a second run of a finished
        // restore copies nothing. Consumers of the change feed keep a durable checkpoint.
        Migration(version: 2, sql: """
            ALTER TABLE studioUser ADD COLUMN restored_change_sequence INTEGER;

            CREATE TABLE changeCheckpoint (
                consumer TEXT PRIMARY KEY,
                sequence INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            """),
    ]

    static var latestVersion: Int { migrations.last!.version }

    /// Brings the file up to `targetVersion`, applying the missing migrations in one transaction.
    ///
    /// Takes the write lock only when a migration is missing, so this step does not wait for
    /// another writer when the file is current.
    static func migrate(_ connection: borrowing SQLiteConnection, to targetVersion: Int = latestVersion) throws {
        let found = try version(of: connection)
        if found > latestVersion {
            throw MappingStoreError.newerSchema(path: connection.path, found: found, supported: latestVersion)
        }
        guard found < targetVersion else { return }

        try connection.writeTransaction {
            // Another process may have migrated the file while this one waited for the lock.
            let current = try version(of: connection)
            for migration in migrations where migration.version > current && migration.version <= targetVersion {
                try connection.executeScript(migration.sql)
                // PRAGMA takes no bound parameters; the value is a constant from the list above.
                try connection.executeScript("PRAGMA user_version = \(migration.version)")
            }
        }
    }

    static func version(of connection: borrowing SQLiteConnection) throws -> Int {
        let rows = try connection.query("PRAGMA user_version")
        return Int(rows.first?["user_version"].integer ?? 0)
    }
}
