import Foundation
import MappingStore
import Recovery
import Testing
import TestSupport

@Suite("When a restore is due")
struct RestoreRuleTests {
    static func image(efs: String = StoreFixtures.volumeA, uid: UInt32 = 200001, replication: Bool = true, targetSource: ProfileKey? = nil) throws -> StudioUser {
        StudioUser(
            key: StoreFixtures.key("user1"), domainID: StoreFixtures.domainID, roleName: nil,
            efsFileSystemID: try EFSFileSystemID(validating: efs), efsUID: uid, replication: replication, targetSource: targetSource)
    }

    static func change(_ operation: ChangeRecord.Operation, _ old: StudioUser?, _ new: StudioUser?) -> ChangeRecord {
        ChangeRecord(sequence: 7, recordedAt: 0, operation: operation, key: StoreFixtures.key("user1"), oldImage: old, newImage: new)
    }

    @Test func newVolumeIsDue() throws {
        let old = try Self.image()
        let new = try Self.image(efs: StoreFixtures.volumeB)
        #expect(RestoreRule.decision(for: Self.change(.modify, old, new)) == .due(source: old, target: new))
    }

    @Test func newUIDIsDue() throws {
        let old = try Self.image()
        let new = try Self.image(uid: 200005)
        #expect(RestoreRule.decision(for: Self.change(.modify, old, new)) == .due(source: old, target: new))
    }

    @Test func insertIsNotDue() throws {
        #expect(RestoreRule.decision(for: Self.change(.insert, nil, try Self.image())) == .notDue(.firstRegistration))
    }

    @Test func removalIsNotDue() throws {
        #expect(RestoreRule.decision(for: Self.change(.remove, try Self.image(), nil)) == .notDue(.removed))
    }

    @Test func sameHomeIsNotDue() throws {
        let old = try Self.image()
        var new = old
        new.roleName = "Other"
        #expect(RestoreRule.decision(for: Self.change(.modify, old, new)) == .notDue(.homeUnchanged))
    }

    @Test func oldReplicationOffIsNotDue() throws {
        let old = try Self.image(replication: false)
        let new = try Self.image(efs: StoreFixtures.volumeB, replication: true)
        #expect(RestoreRule.decision(for: Self.change(.modify, old, new)) == .notDue(.replicationOff))
    }

    @Test func addTargetRowIsNotDue() throws {
        let source = StoreFixtures.key("user9", domain: "other")
        let old = try Self.image(targetSource: source)
        let new = try Self.image(efs: StoreFixtures.volumeB, targetSource: source)
        #expect(RestoreRule.decision(for: Self.change(.modify, old, new)) == .notDue(.targetNotRegistered(source: source)))
    }

    @Test func latestHomeChangeIgnoresLaterEdits() throws {
        let first = try Self.image()
        let moved = try Self.image(efs: StoreFixtures.volumeB, uid: 200005)
        var restored = moved
        restored.lastRestore = RestoreSummary(bytesWritten: 1, bytesFileTransferred: 1, filesTransferred: 1, totalDurationMilliseconds: 1, replicationStatus: "SUCCESS", changeSequence: 2)
        let records = [
            ChangeRecord(sequence: 1, recordedAt: 0, operation: .insert, key: first.key, oldImage: nil, newImage: first),
            ChangeRecord(sequence: 2, recordedAt: 0, operation: .modify, key: first.key, oldImage: first, newImage: moved),
            ChangeRecord(sequence: 3, recordedAt: 0, operation: .modify, key: first.key, oldImage: moved, newImage: restored),
        ]
        #expect(RestoreRule.latestHomeChange(in: records)?.sequence == 2)
        #expect(RestoreRule.latestHomeChange(in: Array(records.prefix(1)))?.sequence == 1)
        #expect(RestoreRule.latestHomeChange(in: []) == nil)
    }
}

@Suite("Restore planning against the store and the mounts")
struct RestorePlanTests {
    /// A store with user1 moved from volume A (UID 200001) to volume B (UID 200005), and both volumes as folders.
    static func withMovedProfile(_ label: String, _ body: (SQLiteMappingStore, ScratchFolder, HomeLocator) throws -> Void) throws {
        try StoreFixtures.withStore(label) { store, folder in
            for volume in ["a", "b"] {
                try FileManager.default.createDirectory(atPath: folder.path(volume), withIntermediateDirectories: true)
            }
            try FileManager.default.createDirectory(atPath: folder.path("a/200001"), withIntermediateDirectories: true)
            try store.register(try StoreFixtures.registration("user1"))
            try store.register(try StoreFixtures.registration("user1", efs: StoreFixtures.volumeB, uid: "200005"))
            let locator = HomeLocator(mounts: [
                try EFSFileSystemID(validating: StoreFixtures.volumeA): folder.path("a"),
                try EFSFileSystemID(validating: StoreFixtures.volumeB): folder.path("b"),
            ])
            try body(store, folder, locator)
        }
    }

    @Test func planResolvesBothHomes() throws {
        try Self.withMovedProfile("plan-homes") { store, folder, locator in
            let restore = ProfileRestore(store: store, locator: locator, taskOptions: .init())
            guard case .run(let job) = try restore.plan(StoreFixtures.key("user1")) else {
                Issue.record("expected a job")
                return
            }
            #expect(job.sourceHome == folder.path("a/200001"))
            #expect(job.targetHome == folder.path("b/200005"))
            #expect(job.source.efsUID == 200001)
            #expect(job.target.efsUID == 200005)
            #expect(restore.makeTask(for: job).options.uidMap == [200001: 200005])
        }
    }

    @Test func planSkipsAfterSuccessfulRestore() throws {
        try Self.withMovedProfile("plan-done") { store, _, locator in
            let restore = ProfileRestore(store: store, locator: locator, taskOptions: .init())
            guard case .run(let job) = try restore.plan(StoreFixtures.key("user1")) else {
                Issue.record("expected a job")
                return
            }
            var execution = TaskExecutionSample.make(status: "SUCCESS")
            execution.filesTransferred = 4
            try restore.record(execution, of: job)
            guard case .skip(.alreadyRestored(let sequence, let summary)) = try restore.plan(StoreFixtures.key("user1")) else {
                Issue.record("expected the restore to be skipped")
                return
            }
            #expect(sequence == job.changeSequence)
            #expect(summary.filesTransferred == 4)
        }
    }

    @Test func planRetriesAfterFailedRestore() throws {
        try Self.withMovedProfile("plan-retry") { store, _, locator in
            let restore = ProfileRestore(store: store, locator: locator, taskOptions: .init())
            guard case .run(let job) = try restore.plan(StoreFixtures.key("user1")) else {
                Issue.record("expected a job")
                return
            }
            try restore.record(TaskExecutionSample.make(status: "ERROR"), of: job)
            guard case .run(let again) = try restore.plan(StoreFixtures.key("user1")) else {
                Issue.record("expected the failed restore to be due again")
                return
            }
            #expect(again.changeSequence == job.changeSequence)
            #expect(try store.profile(StoreFixtures.key("user1"))?.lastRestore?.replicationStatus == "ERROR")
        }
    }

    @Test func planSkipsWhenReplicationTurnedOffLater() throws {
        try Self.withMovedProfile("plan-off") { store, _, locator in
            try store.setReplication(StoreFixtures.key("user1"), enabled: false)
            let restore = ProfileRestore(store: store, locator: locator, taskOptions: .init())
            guard case .skip(.notDue(.replicationOff)) = try restore.plan(StoreFixtures.key("user1")) else {
                Issue.record("expected replication off")
                return
            }
        }
    }

    @Test func missingSourceHomeRejected() throws {
        try Self.withMovedProfile("plan-no-source") { store, folder, locator in
            try FileManager.default.removeItem(atPath: folder.path("a/200001"))
            let restore = ProfileRestore(store: store, locator: locator, taskOptions: .init())
            #expect(throws: RecoveryError.sourceHomeMissing(path: folder.path("a/200001"), profile: StoreFixtures.key("user1"))) {
                _ = try restore.plan(StoreFixtures.key("user1"))
            }
        }
    }

    @Test func sameFolderForBothHomesRejected() throws {
        try StoreFixtures.withStore("plan-same") { store, folder in
            // A move to volume B with the same UID, and volume B mounted where volume A is.
            try FileManager.default.createDirectory(atPath: folder.path("a/200001"), withIntermediateDirectories: true)
            try store.register(try StoreFixtures.registration("user1"))
            try store.register(try StoreFixtures.registration("user1", efs: StoreFixtures.volumeB))
            let locator = HomeLocator(mounts: [
                try EFSFileSystemID(validating: StoreFixtures.volumeA): folder.path("a"),
                try EFSFileSystemID(validating: StoreFixtures.volumeB): folder.path("a"),
            ])
            let restore = ProfileRestore(store: store, locator: locator, taskOptions: .init())
            #expect(throws: RecoveryError.homesOverlap(source: folder.path("a/200001"), target: folder.path("a/200001"))) {
                _ = try restore.plan(StoreFixtures.key("user1"))
            }
        }
    }

    @Test func sourceInsideTargetRejected() throws {
        try Self.withMovedProfile("plan-nested") { store, folder, _ in
            // Volume A mounted inside the new home, so the old home lies within it.
            try FileManager.default.createDirectory(atPath: folder.path("b/200005/inner/200001"), withIntermediateDirectories: true)
            let locator = HomeLocator(mounts: [
                try EFSFileSystemID(validating: StoreFixtures.volumeA): folder.path("b/200005/inner"),
                try EFSFileSystemID(validating: StoreFixtures.volumeB): folder.path("b"),
            ])
            let restore = ProfileRestore(store: store, locator: locator, taskOptions: .init())
            #expect(throws: RecoveryError.self) {
                _ = try restore.plan(StoreFixtures.key("user1"))
            }
        }
    }

    @Test func unknownProfileRejected() throws {
        try Self.withMovedProfile("plan-unknown") { store, _, locator in
            let restore = ProfileRestore(store: store, locator: locator, taskOptions: .init())
            #expect(throws: MappingStoreError.profileNotFound(StoreFixtures.key("user7"))) {
                _ = try restore.plan(StoreFixtures.key("user7"))
            }
        }
    }
}

@Suite("Service configuration file")
struct ServiceConfigurationTests {
    @Test func everyKeyRead() throws {
        let text = """
            {"store": "state/syncd.sqlite", "mounts": {"fs-0000000a": "/mnt/a", "fs-0123456789abcdef0": "b"},
             "spool": "/var/spool/syncd", "taskOptions": {"VerifyMode": "NONE", "BytesPerSecond": 1048576},
             "maxConcurrentJobs": 4, "maxAttempts": 5, "homeWaitInterval": "30s", "homeWaitTimeout": "2h",
             "resolverCommand": ["aws", "sagemaker", "describe-user-profile"]}
            """
        let configuration = try ServiceConfiguration(json: Data(text.utf8), origin: "/etc/syncd/syncd.json")
        #expect(configuration.storePath == "/etc/syncd/state/syncd.sqlite")
        #expect(configuration.mounts[try EFSFileSystemID(validating: "fs-0000000a")] == "/mnt/a")
        #expect(configuration.mounts[try EFSFileSystemID(validating: "fs-0123456789abcdef0")] == "/etc/syncd/b")
        #expect(configuration.taskOptions.verifyMode == .none)
        #expect(configuration.taskOptions.bytesPerSecond == 1_048_576)
        #expect(configuration.spoolPath == "/var/spool/syncd")
        #expect(configuration.maxConcurrentJobs == 4)
        #expect(configuration.maxAttempts == 5)
        #expect(configuration.homeWaitInterval == .seconds(30))
        #expect(configuration.homeWaitTimeout == .seconds(7200))
        #expect(configuration.resolverCommand == ["aws", "sagemaker", "describe-user-profile"])
    }

    @Test(arguments: [
        "[]", "{", "{\"stor\": \"x\"}", "{\"mounts\": {\"fs-1\": \"/a\"}}", "{\"mounts\": {\"fs-0000000a\": 3}}",
        "{\"taskOptions\": {\"Verify\": \"NONE\"}}", "{\"maxAttempts\": 0}", "{\"maxAttempts\": true}", "{\"homeWaitTimeout\": \"5 minutes\"}",
        "{\"resolverCommand\": []}",
    ])
    func invalidFileRejected(_ text: String) {
        #expect(throws: RecoveryError.self) { _ = try ServiceConfiguration(json: Data(text.utf8), origin: "/etc/syncd/syncd.json") }
    }

    @Test func defaultFileMayBeMissing() throws {
        let configuration = try ServiceConfiguration.load(path: "/nonexistent/syncd.json", required: false)
        #expect(configuration.storePath == ServiceConfiguration.defaultStorePath)
        #expect(configuration.mounts.isEmpty)
        #expect(throws: RecoveryError.configurationNotFound(path: "/nonexistent/syncd.json")) {
            _ = try ServiceConfiguration.load(path: "/nonexistent/syncd.json", required: true)
        }
    }

    @Test func mountArgumentWinsOverFile() throws {
        var configuration = try ServiceConfiguration(json: Data("{\"mounts\": {\"fs-0000000a\": \"/mnt/old\"}}".utf8), origin: "/etc/syncd/syncd.json")
        try configuration.applyMountArgument("fs-0000000a=/mnt/new")
        #expect(configuration.mounts[try EFSFileSystemID(validating: "fs-0000000a")] == "/mnt/new")
        for bad in ["fs-0000000a", "fs-0000000a=", "=/mnt", "fs-XYZ=/mnt"] {
            #expect(throws: RecoveryError.self) { try configuration.applyMountArgument(bad) }
        }
    }

    @Test(arguments: [("250ms", Duration.milliseconds(250)), ("30s", .seconds(30)), ("5m", .seconds(300)), ("1.5h", .seconds(5400))])
    func durationParsed(_ text: String, _ expected: Duration) {
        #expect(ServiceConfiguration.parseDuration(text) == expected)
    }
}
