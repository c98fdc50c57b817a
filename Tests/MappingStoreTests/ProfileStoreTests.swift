import Foundation
import MappingStore
import Testing
import TestSupport

@Suite("Profile rows, history and change records")
struct ProfileStoreTests {
    @Test func registerInsertsRowWithChangeAndHistory() throws {
        try StoreFixtures.withStore("register") { store, _ in
            let update = try store.register(try StoreFixtures.registration("user1"))
            #expect(update.changed)

            let row = try #require(try store.profile(StoreFixtures.key("user1")))
            #expect(row.efsFileSystemID.rawValue == StoreFixtures.volumeA)
            #expect(row.efsUID == 200001)
            #expect(row.replication)
            #expect(row.domainID == StoreFixtures.domainID)
            #expect(row.userProfileName == "user1")
            #expect(row.spaceName == nil)

            let changes = try store.changeRecords(of: StoreFixtures.key("user1"))
            #expect(changes.count == 1)
            #expect(changes.first?.operation == .insert)
            #expect(changes.first?.oldImage == nil)
            #expect(changes.first?.newImage == row)

            let history = try store.history(of: StoreFixtures.key("user1"))
            #expect(history.map(\.action) == [.register])
            #expect(history.first?.image == row)
        }
    }

    @Test func reregisterSameHomeWritesNothing() throws {
        try StoreFixtures.withStore("same-home") { store, _ in
            try store.register(try StoreFixtures.registration("user1"))
            let again = try store.register(try StoreFixtures.registration("user1"))
            #expect(!again.changed)
            #expect(try store.changeRecords(of: StoreFixtures.key("user1")).count == 1)
            #expect(try store.history(of: StoreFixtures.key("user1")).count == 1)
        }
    }

    @Test func reregisterNewHomeRecordsBothImages() throws {
        try StoreFixtures.withStore("new-home") { store, _ in
            try store.register(try StoreFixtures.registration("user1"))
            try store.register(try StoreFixtures.registration("user1", efs: StoreFixtures.volumeB, uid: "200005"))

            let changes = try store.changeRecords(of: StoreFixtures.key("user1"))
            #expect(changes.map(\.operation) == [.insert, .modify])
            let modify = try #require(changes.last)
            #expect(modify.oldImage?.efsFileSystemID.rawValue == StoreFixtures.volumeA)
            #expect(modify.oldImage?.efsUID == 200001)
            #expect(modify.newImage?.efsFileSystemID.rawValue == StoreFixtures.volumeB)
            #expect(modify.newImage?.efsUID == 200005)
            #expect(modify.sequence > changes[0].sequence)
            #expect(try store.history(of: StoreFixtures.key("user1")).count == 2)
        }
    }

    @Test func userAndSpaceWithOneNameAreSeparateRows() throws {
        try StoreFixtures.withStore("user-space") { store, _ in
            try store.register(try StoreFixtures.registration("team", kind: .user, uid: "200001"))
            try store.register(try StoreFixtures.registration("team", kind: .space, uid: "200002"))

            let rows = try store.profiles(named: "team", inDomain: "studio")
            #expect(rows.map(\.key.kind) == [.space, .user])
            #expect(try store.profile(StoreFixtures.key("team", kind: .user))?.efsUID == 200001)
            #expect(try store.profile(StoreFixtures.key("team", kind: .space))?.efsUID == 200002)
            #expect(try store.profile(StoreFixtures.key("team", kind: .space))?.spaceName == "team")
            #expect(try store.history(of: StoreFixtures.key("team", kind: .user)).count == 1)
            #expect(try store.history(of: StoreFixtures.key("team", kind: .space)).count == 1)

            #expect(throws: MappingStoreError.ambiguousProfile(profileName: "team", domainName: "studio")) {
                try store.resolveProfile(named: "team", inDomain: "studio", kind: nil)
            }
            #expect(try store.resolveProfile(named: "team", inDomain: "studio", kind: .space).efsUID == 200002)
        }
    }

    @Test func sameNameInTwoDomainsAreSeparateRows() throws {
        try StoreFixtures.withStore("two-domains") { store, _ in
            try store.register(try StoreFixtures.registration("user1", domain: "studio"))
            try store.register(try StoreFixtures.registration("user1", domain: "lab", uid: "200009"))
            #expect(try store.allProfiles().map(\.key.domainName) == ["lab", "studio"])
            #expect(try store.resolveProfile(named: "user1", inDomain: "lab", kind: nil).efsUID == 200009)
        }
    }

    @Test func setReplicationWritesHistory() throws {
        try StoreFixtures.withStore("set-replication") { store, _ in
            let key = StoreFixtures.key("user1")
            try store.register(try StoreFixtures.registration("user1"))
            try store.setReplication(key, enabled: false)
            #expect(try store.profile(key)?.replication == false)
            #expect(try store.history(of: key).map(\.action) == [.register, .setReplication])

            // Registering again keeps the setting.
            try store.register(try StoreFixtures.registration("user1", efs: StoreFixtures.volumeB))
            #expect(try store.profile(key)?.replication == false)

            #expect(throws: MappingStoreError.profileNotFound(StoreFixtures.key("nobody"))) {
                try store.setReplication(StoreFixtures.key("nobody"), enabled: true)
            }
        }
    }

    @Test func addTargetWritesSourceHome() throws {
        try StoreFixtures.withStore("add-target") { store, _ in
            try store.register(try StoreFixtures.registration("user1", uid: "200001"))
            let target = StoreFixtures.key("user1", domain: "newstudio")
            try store.addTarget(source: StoreFixtures.key("user1"), target: target)

            let row = try #require(try store.profile(target))
            #expect(row.efsFileSystemID.rawValue == StoreFixtures.volumeA)
            #expect(row.efsUID == 200001)
            #expect(row.targetSource == StoreFixtures.key("user1"))
            #expect(row.replication)
            #expect(try store.history(of: target).map(\.action) == [.addTarget])

            // The target's own registration turns the row into its own.
            try store.register(try StoreFixtures.registration("user1", domain: "newstudio", efs: StoreFixtures.volumeB, uid: "200007"))
            let registered = try #require(try store.profile(target))
            #expect(registered.targetSource == nil)
            #expect(try store.changeRecords(of: target).map(\.operation) == [.insert, .modify])
        }
    }

    @Test func addTargetRejectsRegisteredTarget() throws {
        try StoreFixtures.withStore("add-target-exists") { store, _ in
            try store.register(try StoreFixtures.registration("user1"))
            try store.register(try StoreFixtures.registration("user2", uid: "200002"))
            #expect {
                try store.addTarget(source: StoreFixtures.key("user1"), target: StoreFixtures.key("user2"))
            } throws: { error in
                guard case .profileExists(let key, _) = error as? MappingStoreError else { return false }
                return key == StoreFixtures.key("user2")
            }
            #expect(try store.profile(StoreFixtures.key("user2"))?.efsUID == 200002)
            #expect(try store.history(of: StoreFixtures.key("user2")).count == 1)
        }
    }

    @Test func addTargetRejectsUnknownSourceAndItself() throws {
        try StoreFixtures.withStore("add-target-source") { store, _ in
            #expect(throws: MappingStoreError.profileNotFound(StoreFixtures.key("ghost"))) {
                try store.addTarget(source: StoreFixtures.key("ghost"), target: StoreFixtures.key("user9"))
            }
            try store.register(try StoreFixtures.registration("user1"))
            #expect(throws: MappingStoreError.self) {
                try store.addTarget(source: StoreFixtures.key("user1"), target: StoreFixtures.key("user1"))
            }
            #expect(try store.allProfiles().count == 1)
        }
    }

    @Test func failedUpdateWritesNothing() throws {
        struct Abort: Error {}
        try StoreFixtures.withStore("rollback") { (store: SQLiteMappingStore, _: ScratchFolder) throws in
            let abort: (StudioUser?) throws -> StudioUser? = { _ in throw Abort() }
            #expect(throws: Abort.self) {
                try store.update(StoreFixtures.key("user1"), action: .register, detail: nil, abort)
            }
            #expect(try store.allProfiles().count == 0)
            #expect(try store.changeRecords(after: 0, limit: 10).count == 0)
        }
    }

    @Test func valuesAreBoundNotSpliced() throws {
        try StoreFixtures.withStore("binding") { store, _ in
            let role = "arn:aws:iam::123456789012:role/x');DROP-TABLE-studioUser;--"
            try store.register(try StoreFixtures.registration("user1", role: role))
            #expect(try store.profile(StoreFixtures.key("user1"))?.roleName == role)
            #expect(try store.allProfiles().count == 1)
        }
    }

    @Test func historyTimesAreUniquePerName() throws {
        try StoreFixtures.withStore("history-times") { store, _ in
            let key = StoreFixtures.key("user1")
            try store.register(try StoreFixtures.registration("user1"))
            for round in 0..<20 {
                try store.setReplication(key, enabled: round % 2 == 1)
            }
            try store.register(try StoreFixtures.registration("user1", kind: .space, uid: "200003"))
            let times = try store.history(of: key).map(\.epochTime) + store.history(of: StoreFixtures.key("user1", kind: .space)).map(\.epochTime)
            #expect(times.count == 22)
            #expect(Set(times).count == 22)
        }
    }

    @Test func changeFeedCheckpointPersists() throws {
        try withScratchFolder("checkpoint") { folder in
            let path = folder.path("store.sqlite")
            do {
                let store = try SQLiteMappingStore(path: path)
                try store.register(try StoreFixtures.registration("user1"))
                try store.register(try StoreFixtures.registration("user2", uid: "200002"))
                let feed = try store.changeRecords(after: 0, limit: 10)
                #expect(feed.count == 2)
                try store.saveCheckpoint(feed[0].sequence, of: "serve")
                try store.saveCheckpoint(0, of: "serve")
            }
            let reopened = try SQLiteMappingStore(path: path)
            let checkpoint = try reopened.checkpoint(of: "serve")
            #expect(checkpoint > 0)
            #expect(try reopened.changeRecords(after: checkpoint, limit: 10).map(\.key.profileName) == ["user2"])
            #expect(try reopened.checkpoint(of: "another") == 0)
        }
    }
}
