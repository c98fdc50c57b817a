import Foundation
import MappingStore
import Recovery
import Testing
import TestSupport

@Suite("Store files: locking, corruption and schema versions")
struct StoreFileTests {
    @Test(.enabled(if: StoreFixtures.hasSQLiteShell, "needs the sqlite3 shell"))
    func lockedStoreWaitsThenFails() throws {
        try withScratchFolder("locked") { folder in
            let path = folder.path("store.sqlite")
            let store = try SQLiteMappingStore(path: path, busyTimeoutMilliseconds: 400)
            try store.register(try StoreFixtures.registration("user1"))

            // A second process takes the write lock and keeps it until its input ends.
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: StoreFixtures.sqliteShell)
            holder.arguments = [path]
            let input = Pipe()
            holder.standardInput = input
            holder.standardOutput = FileHandle.nullDevice
            holder.standardError = FileHandle.nullDevice
            try holder.run()
            let ready = folder.path("locked.ready")
            input.fileHandleForWriting.write(Data("BEGIN EXCLUSIVE;\n.shell touch \(ready)\n".utf8))
            defer {
                try? input.fileHandleForWriting.close()
                holder.waitUntilExit()
            }
            let deadline = Date().addingTimeInterval(10)
            while !FileManager.default.fileExists(atPath: ready) && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.02)
            }
            try #require(FileManager.default.fileExists(atPath: ready), "the sqlite3 shell did not take the lock")

            let start = Date()
            #expect(throws: MappingStoreError.locked(path: path, waitedMilliseconds: 400)) {
                try store.setReplication(StoreFixtures.key("user1"), enabled: false)
            }
            let waited = Date().timeIntervalSince(start)
            #expect(waited >= 0.35, "gave up after \(waited) s, before the busy timeout")
            #expect(waited < 5, "waited \(waited) s, far past the busy timeout")

            // Readers are not blocked by a writer in WAL mode, so a second store still opens and reads.
            let reader = try SQLiteMappingStore(path: path, busyTimeoutMilliseconds: 400)
            #expect(try reader.profile(StoreFixtures.key("user1"))?.replication == true)

            try input.fileHandleForWriting.close()
            holder.waitUntilExit()
            try store.setReplication(StoreFixtures.key("user1"), enabled: false)
            #expect(try store.profile(StoreFixtures.key("user1"))?.replication == false)
        }
    }

    @Test func corruptFileReportedAndUnchanged() throws {
        try withScratchFolder("corrupt") { folder in
            let path = folder.path("store.sqlite")
            var generator = SystemRandomNumberGenerator()
            let garbage = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
            try garbage.write(to: URL(fileURLWithPath: path))

            #expect {
                _ = try SQLiteMappingStore(path: path)
            } throws: { error in
                guard case .corrupt(let reported, _) = error as? MappingStoreError else { return false }
                return reported == path
            }
            #expect(FileManager.default.contents(atPath: path) == garbage)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["store.sqlite"])
        }
    }

    @Test func textFileReportedAsCorrupt() throws {
        try withScratchFolder("not-sqlite") { folder in
            let path = folder.path("store.sqlite")
            let text = Data(String(repeating: "{\"store\": \"this is JSON, not SQLite\"}\n", count: 40).utf8)
            try text.write(to: URL(fileURLWithPath: path))
            #expect(throws: MappingStoreError.self) { _ = try SQLiteMappingStore(path: path) }
            #expect(FileManager.default.contents(atPath: path) == text)
        }
    }

    @Test func missingStoreNotCreatedOnRequest() throws {
        try withScratchFolder("missing") { folder in
            let path = folder.path("store.sqlite")
            #expect(throws: MappingStoreError.notFound(path: path)) {
                _ = try SQLiteMappingStore(path: path, createIfMissing: false)
            }
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func newStoreUsesWALAndLatestSchema() throws {
        try withScratchFolder("new-store") { folder in
            let path = folder.path("store.sqlite")
            let store = try SQLiteMappingStore(path: path)
            #expect(try store.schemaVersion() == SQLiteMappingStore.latestSchemaVersion)
            if StoreFixtures.hasSQLiteShell {
                #expect(try StoreFixtures.runSQLiteShell(path, "PRAGMA journal_mode;\n") == "wal\n")
            }
        }
    }

    @Test(.enabled(if: StoreFixtures.hasSQLiteShell, "needs the sqlite3 shell"))
    func newerSchemaRejectedAndUnchanged() throws {
        try withScratchFolder("newer-schema") { folder in
            let path = folder.path("store.sqlite")
            do {
                let store = try SQLiteMappingStore(path: path)
                try store.register(try StoreFixtures.registration("user1"))
            }
            try StoreFixtures.runSQLiteShell(path, "PRAGMA wal_checkpoint(TRUNCATE);\nPRAGMA user_version = 99;\nPRAGMA wal_checkpoint(TRUNCATE);\n")
            let before = FileManager.default.contents(atPath: path)

            #expect(throws: MappingStoreError.newerSchema(path: path, found: 99, supported: SQLiteMappingStore.latestSchemaVersion)) {
                _ = try SQLiteMappingStore(path: path)
            }
            #expect(FileManager.default.contents(atPath: path) == before)
        }
    }

    /// The first schema exactly as syncd's first release wrote it, with rows from a move of user1
    /// from one volume to another. Kept here as text so that a later edit of migration 1 in the
    /// source cannot make this test pass by accident.
    static let firstSchemaFile = """
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
        PRAGMA user_version = 1;

        INSERT INTO studioUser (profile_name, domain_name, kind, domain_id, user_profile_name, efs_sys_id, efs_uid, role_name, replication)
        VALUES ('user1', 'studio', 'user', 'd-abcdefghijkl', 'user1', 'fs-0000000b', 200005, 'Role', 1);
        INSERT INTO studioUser (profile_name, domain_name, kind, domain_id, space_name, efs_sys_id, efs_uid, replication,
            bytes_written, bytes_file_transferred, files_transferred, total_duration_ms, replication_status)
        VALUES ('shared', 'studio', 'space', 'd-abcdefghijkl', 'shared', 'fs-0000000b', 200009, 0, 10, 10, 1, 5, 'SUCCESS');
        INSERT INTO studioUserHistory VALUES ('user1', 1700000000000, 'studio', 'user', 'register',
            '{"domain_name":"studio","efs_sys_id":"fs-0000000a","efs_uid":200001,"kind":"user","profile_name":"user1","replication":true}', NULL);
        INSERT INTO studioUserHistory VALUES ('user1', 1700000000500, 'studio', 'user', 'register',
            '{"domain_name":"studio","efs_sys_id":"fs-0000000b","efs_uid":200005,"kind":"user","profile_name":"user1","replication":true}', NULL);
        INSERT INTO changeRecord (recorded_at, operation, profile_name, domain_name, kind, old_image, new_image)
        VALUES (1700000000000, 'INSERT', 'user1', 'studio', 'user', NULL,
            '{"domain_name":"studio","efs_sys_id":"fs-0000000a","efs_uid":200001,"kind":"user","profile_name":"user1","replication":true}');
        INSERT INTO changeRecord (recorded_at, operation, profile_name, domain_name, kind, old_image, new_image)
        VALUES (1700000000500, 'MODIFY', 'user1', 'studio', 'user',
            '{"domain_name":"studio","efs_sys_id":"fs-0000000a","efs_uid":200001,"kind":"user","profile_name":"user1","replication":true}',
            '{"domain_name":"studio","efs_sys_id":"fs-0000000b","efs_uid":200005,"kind":"user","profile_name":"user1","replication":true}');
        """

    @Test(.enabled(if: StoreFixtures.hasSQLiteShell, "needs the sqlite3 shell"))
    func firstSchemaFileMigratesKeepingRows() throws {
        try withScratchFolder("migrate") { folder in
            let path = folder.path("store.sqlite")
            try StoreFixtures.runSQLiteShell(path, Self.firstSchemaFile)

            let store = try SQLiteMappingStore(path: path)
            #expect(try store.schemaVersion() == SQLiteMappingStore.latestSchemaVersion)

            let user = try #require(try store.profile(StoreFixtures.key("user1")))
            #expect(user.efsFileSystemID.rawValue == "fs-0000000b")
            #expect(user.efsUID == 200005)
            #expect(user.roleName == "Role")
            #expect(user.lastRestore == nil)

            let space = try #require(try store.profile(StoreFixtures.key("shared", kind: .space)))
            #expect(space.replication == false)
            #expect(space.lastRestore?.bytesWritten == 10)
            #expect(space.lastRestore?.replicationStatus == "SUCCESS")
            #expect(space.lastRestore?.changeSequence == nil)

            #expect(try store.history(of: StoreFixtures.key("user1")).map(\.epochTime) == [1_700_000_000_000, 1_700_000_000_500])
            let changes = try store.changeRecords(of: StoreFixtures.key("user1"))
            #expect(changes.map(\.operation) == [.insert, .modify])

            // The move recorded by the old schema is still a due restore.
            let latest = try #require(RestoreRule.latestHomeChange(in: changes))
            guard case .due(let source, let target) = RestoreRule.decision(for: latest) else {
                Issue.record("expected a due restore, got \(RestoreRule.decision(for: latest))")
                return
            }
            #expect(source.efsUID == 200001)
            #expect(target.efsUID == 200005)

            // New writes use the columns that migration 2 added.
            try store.recordRestore(
                RestoreSummary(bytesWritten: 1, bytesFileTransferred: 1, filesTransferred: 1, totalDurationMilliseconds: 1, replicationStatus: "SUCCESS", changeSequence: latest.sequence),
                for: StoreFixtures.key("user1"), detail: nil)
            #expect(try store.profile(StoreFixtures.key("user1"))?.lastRestore?.changeSequence == latest.sequence)
            try store.saveCheckpoint(latest.sequence, of: "serve")

            // Opening again applies nothing more and keeps the rows.
            let reopened = try SQLiteMappingStore(path: path)
            #expect(try reopened.allProfiles().count == 2)
            #expect(try reopened.checkpoint(of: "serve") == latest.sequence)
        }
    }
}
