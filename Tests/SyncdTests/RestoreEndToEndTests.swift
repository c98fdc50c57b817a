import Foundation
import Glibc
import Testing
import TestSupport

// End-to-end tests of `syncd profile` and `syncd restore`: real processes, a real SQLite store,
// and two folders that stand in for the mounts of two EFS volumes.

private let restoreNeedsRoot = getuid() == 0

/// Two volume folders, a store and a configuration file that maps the volumes' EFS ids to them.
private struct RestoreWorld {
    static let efsA = "fs-0000000a"
    static let efsB = "fs-0000000b"
    static let domainID = "d-abcdefghijkl"
    /// The group of every home entry; restores map the owner only.
    static let homeGroup: UInt32 = 100

    let scratch: ScratchFolder
    var volumeA: String { scratch.path("volume-a") }
    var volumeB: String { scratch.path("volume-b") }
    var store: String { scratch.path("store.sqlite") }
    var config: String { scratch.path("syncd.json") }

    init(_ scratch: ScratchFolder) throws {
        self.scratch = scratch
        try FileManager.default.createDirectory(atPath: volumeA, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: volumeB, withIntermediateDirectories: true)
        // Relative paths in the file are taken from the file's folder.
        let text = """
            {"store": "store.sqlite", "mounts": {"\(Self.efsA)": "volume-a", "\(Self.efsB)": "volume-b"}}
            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: config))
    }

    /// Runs `syncd` with this world's configuration file.
    func syncd(_ arguments: [String]) throws -> ProcessResult {
        try Syncd.run(arguments + ["--config", config])
    }

    func register(_ name: String, domain: String = "studio", efs: String, uid: UInt32, space: Bool = false) throws -> ProcessResult {
        var arguments = ["profile", "register", "--profile-name", name, "--domain-name", domain, "--domain-id", Self.domainID,
                         "--efs-id", efs, "--uid", String(uid), "--role", "StudioExecutionRole"]
        if space { arguments.append("--space") }
        return try syncd(arguments)
    }

    func restore(_ name: String, domain: String = "studio", extra: [String] = []) throws -> ProcessResult {
        try syncd(["restore", "--profile-name", name, "--domain-name", domain, "--json"] + extra)
    }

    /// The `studioUser` row and `studioUserHistory` records that `profile show --json` prints.
    func show(_ name: String, domain: String = "studio", extra: [String] = []) throws -> (row: [String: Any], history: [[String: Any]]) {
        let result = try syncd(["profile", "show", "--profile-name", name, "--domain-name", domain, "--json"] + extra)
        try #require(result.status == 0, "\(result)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let row = try #require(object["studioUser"] as? [String: Any])
        let history = try #require(object["studioUserHistory"] as? [[String: Any]])
        return (row, history)
    }

    /// A Studio home: notebooks, a hard link, a checkpoint folder, a file with an ACL and a symlink.
    static func home(owner: UInt32) -> [TreeEntry] {
        let owned = Attributes(mode: 0o644, uid: owner, gid: homeGroup, modificationTime: SampleTrees.commonTime)
        let ownedFolder = Attributes(mode: 0o755, uid: owner, gid: homeGroup, modificationTime: SampleTrees.commonTime)
        var withACL = owned
        withACL.accessACL = "u::rw,u:1234:r,g::r,g:5678:rw,m::rw,o::-"
        return [
            .folder("work", ownedFolder, [
                .file("analysis.ipynb", "{\"cells\": []}\n", owned),
                .hardLink("analysis-link.ipynb", to: "work/analysis.ipynb"),
                .folder(".ipynb_checkpoints", ownedFolder, [
                    .file("analysis-checkpoint.ipynb", "{\"cells\": [1]}\n", owned),
                ]),
            ]),
            .file("shared.csv", "a,b\n1,2\n", withACL),
            .symlink("latest", to: "work/analysis.ipynb", Attributes(uid: owner, gid: homeGroup)),
            .file(".bashrc", "export PS1='$ '\n", owned),
        ]
    }

    /// Builds a home named after `owner` on `volume`.
    func buildHome(on volume: String, owner: UInt32) throws {
        try TreeBuilder.build(
            Self.home(owner: owner), at: "\(volume)/\(owner)",
            rootAttributes: Attributes(mode: 0o750, uid: owner, gid: Self.homeGroup, modificationTime: SampleTrees.commonTime))
    }
}

/// Every path under `root`, the root included, with its owner, read without following symlinks.
private func owners(under root: String) throws -> [String: UInt32] {
    var result: [String: UInt32] = [:]
    func record(_ path: String) throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        result[path] = (attributes[.ownerAccountID] as? NSNumber)?.uint32Value
        if attributes[.type] as? FileAttributeType == .typeDirectory {
            for name in try FileManager.default.contentsOfDirectory(atPath: path) {
                try record(path + "/" + name)
            }
        }
    }
    try record(root)
    return result
}

private func inode(_ path: String) throws -> UInt64? {
    (try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber)?.uint64Value
}

private func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

private func int64(_ value: Any?) -> Int64? {
    (value as? NSNumber)?.int64Value
}

/// Checks that a restore copied `source` into `target` exactly, with every owner changed to `newOwner`.
private func expectRestoredHome(source: String, target: String, newOwner: UInt32, sourceLocation: SourceLocation = #_sourceLocation) throws {
    var options = ComparisonOptions()
    options.compareOwners = false
    #expect(try TreeComparator.differences(source: source, destination: target, options: options) == [], sourceLocation: sourceLocation)

    let targetOwners = try owners(under: target)
    #expect(targetOwners.count == (try owners(under: source)).count, sourceLocation: sourceLocation)
    for (path, owner) in targetOwners.sorted(by: { $0.key < $1.key }) {
        #expect(owner == newOwner, "\(path) is owned by \(owner)", sourceLocation: sourceLocation)
    }
}

/// Checks that the row's counters equal the copy's result printed by `restore --json`.
private func expectCountersMatch(_ row: [String: Any], _ execution: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) {
    let result = execution["Result"] as? [String: Any]
    #expect(int64(row["bytes_written"]) == int64(execution["BytesWritten"]), sourceLocation: sourceLocation)
    #expect(int64(row["bytes_file_transferred"]) == int64(execution["BytesTransferred"]), sourceLocation: sourceLocation)
    #expect(int64(row["files_transferred"]) == int64(execution["FilesTransferred"]), sourceLocation: sourceLocation)
    #expect(int64(row["total_duration_ms"]) == int64(result?["TotalDuration"]), sourceLocation: sourceLocation)
    #expect(row["replication_status"] as? String == execution["Status"] as? String, sourceLocation: sourceLocation)
}

@Suite("syncd profile and syncd restore, end to end")
struct RestoreEndToEndTests {
    @Test(.enabled(if: restoreNeedsRoot, "restores change owners, which needs root"))
    func userRestoredToNewVolume() throws {
        try withScratchFolder("restore-user") { scratch in
            let world = try RestoreWorld(scratch)
            try world.buildHome(on: world.volumeA, owner: 200001)

            #expect(try world.register("user1", efs: RestoreWorld.efsA, uid: 200001).status == 0)
            let first = try world.restore("user1")
            #expect(first.status == 3, "a first registration has nothing to restore: \(first)")

            #expect(try world.register("user1", efs: RestoreWorld.efsB, uid: 200005).status == 0)
            let restored = try world.restore("user1")
            try #require(restored.status == 0, "\(restored)")
            let execution = try jsonObject(restored.standardOutput)
            #expect(execution["Status"] as? String == "SUCCESS")
            #expect(int64(execution["FilesTransferred"]) ?? 0 > 0)

            let source = "\(world.volumeA)/200001"
            let target = "\(world.volumeB)/200005"
            try expectRestoredHome(source: source, target: target, newOwner: 200005)
            #expect(try inode("\(target)/work/analysis.ipynb") == inode("\(target)/work/analysis-link.ipynb"))
            #expect(FileManager.default.fileExists(atPath: "\(target)/work/.ipynb_checkpoints/analysis-checkpoint.ipynb"))

            let shown = try world.show("user1")
            #expect(shown.row["efs_sys_id"] as? String == RestoreWorld.efsB)
            #expect(int64(shown.row["efs_uid"]) == 200005)
            expectCountersMatch(shown.row, execution)
            #expect(shown.history.map { $0["action"] as? String } == ["register", "register", "restore"])

            // A second run finds the change restored and copies nothing.
            let again = try world.restore("user1")
            #expect(again.status == 0, "\(again)")
            #expect(again.standardError.contains("already restored"), "\(again)")
            #expect(try world.show("user1").history.count == 3)
        }
    }

    @Test(.enabled(if: restoreNeedsRoot, "restores change owners, which needs root"))
    func spaceRestoredBesideUserOfSameName() throws {
        try withScratchFolder("restore-space") { scratch in
            let world = try RestoreWorld(scratch)
            try world.buildHome(on: world.volumeA, owner: 200011)

            #expect(try world.register("team", efs: RestoreWorld.efsA, uid: 200010).status == 0)
            #expect(try world.register("team", efs: RestoreWorld.efsA, uid: 200011, space: true).status == 0)
            #expect(try world.register("team", efs: RestoreWorld.efsB, uid: 200012, space: true).status == 0)

            let ambiguous = try world.restore("team")
            #expect(ambiguous.status == 64, "a name used by a user and a space needs --space: \(ambiguous)")
            #expect(!FileManager.default.fileExists(atPath: "\(world.volumeB)/200012"))

            let restored = try world.restore("team", extra: ["--space"])
            try #require(restored.status == 0, "\(restored)")
            try expectRestoredHome(source: "\(world.volumeA)/200011", target: "\(world.volumeB)/200012", newOwner: 200012)

            let space = try world.show("team", extra: ["--space"])
            #expect(space.row["space_name"] as? String == "team")
            expectCountersMatch(space.row, try jsonObject(restored.standardOutput))
            #expect(space.history.map { $0["action"] as? String } == ["register", "register", "restore"])

            let user = try world.show("team", extra: ["--user"])
            #expect(int64(user.row["efs_uid"]) == 200010)
            #expect(user.row["replication_status"] == nil)
            #expect(user.history.count == 1)
            #expect(try world.restore("team", extra: ["--user"]).status == 3)
        }
    }

    @Test(.enabled(if: restoreNeedsRoot, "restores change owners, which needs root"))
    func addTargetRestoresAcrossDomains() throws {
        try withScratchFolder("restore-add-target") { scratch in
            let world = try RestoreWorld(scratch)
            try world.buildHome(on: world.volumeA, owner: 200001)
            #expect(try world.register("user1", domain: "studio", efs: RestoreWorld.efsA, uid: 200001).status == 0)

            let added = try world.syncd([
                "profile", "add-target", "--src-profile-name", "user1", "--src-domain-name", "studio",
                "--target-profile-name", "analyst", "--target-domain-name", "newstudio",
            ])
            #expect(added.status == 0, "\(added)")
            let waiting = try world.restore("analyst", domain: "newstudio")
            #expect(waiting.status == 3, "the target has not registered its own home yet: \(waiting)")

            #expect(try world.register("analyst", domain: "newstudio", efs: RestoreWorld.efsB, uid: 200007).status == 0)
            let restored = try world.restore("analyst", domain: "newstudio")
            try #require(restored.status == 0, "\(restored)")
            try expectRestoredHome(source: "\(world.volumeA)/200001", target: "\(world.volumeB)/200007", newOwner: 200007)

            let target = try world.show("analyst", domain: "newstudio")
            expectCountersMatch(target.row, try jsonObject(restored.standardOutput))
            #expect(target.history.map { $0["action"] as? String } == ["add-target", "register", "restore"])
            // The source keeps its row and its data.
            #expect(try world.show("user1").history.count == 1)
            #expect(FileManager.default.fileExists(atPath: "\(world.volumeA)/200001/shared.csv"))
        }
    }

    @Test func replicationOffCopiesNothing() throws {
        try withScratchFolder("restore-off") { scratch in
            let world = try RestoreWorld(scratch)
            try FileManager.default.createDirectory(atPath: "\(world.volumeA)/200002", withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: "\(world.volumeA)/200002/data.txt"))

            #expect(try world.register("user2", efs: RestoreWorld.efsA, uid: 200002).status == 0)
            let off = try world.syncd(["profile", "set-replication", "--profile-name", "user2", "--domain-name", "studio", "--no-replication"])
            #expect(off.status == 0, "\(off)")
            #expect(try world.register("user2", efs: RestoreWorld.efsB, uid: 200006).status == 0)

            let result = try world.restore("user2")
            #expect(result.status == 4, "\(result)")
            #expect(result.standardError.contains("replication is off"), "\(result)")
            #expect(!FileManager.default.fileExists(atPath: "\(world.volumeB)/200006"))

            let shown = try world.show("user2")
            #expect(shown.row["replication"] as? Bool == false)
            #expect(shown.row["replication_status"] == nil)
            #expect(shown.history.map { $0["action"] as? String } == ["register", "set-replication", "register"])
        }
    }

    @Test func listPrintsRowsAsJSON() throws {
        try withScratchFolder("profile-list") { scratch in
            let world = try RestoreWorld(scratch)
            #expect(try world.register("user1", efs: RestoreWorld.efsA, uid: 200001).status == 0)
            #expect(try world.register("user1", efs: RestoreWorld.efsA, uid: 200002, space: true).status == 0)
            let listed = try world.syncd(["profile", "list", "--json"])
            try #require(listed.status == 0, "\(listed)")
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]])
            #expect(rows.map { $0["kind"] as? String } == ["space", "user"])
            #expect(rows.map { int64($0["efs_uid"]) } == [200002, 200001])

            let text = try world.syncd(["profile", "list"])
            #expect(text.standardOutput.hasPrefix("DOMAIN"), "\(text)")
            #expect(text.standardOutput.split(separator: "\n").count == 3)
        }
    }

    @Test func commandLineOptionsWinOverConfiguration() throws {
        try withScratchFolder("restore-options") { scratch in
            let world = try RestoreWorld(scratch)
            let otherStore = scratch.path("other.sqlite")
            let registered = try world.syncd([
                "profile", "register", "--profile-name", "user1", "--domain-name", "studio", "--domain-id", RestoreWorld.domainID,
                "--efs-id", RestoreWorld.efsA, "--uid", "200001", "--store", otherStore,
            ])
            #expect(registered.status == 0, "\(registered)")
            #expect(FileManager.default.fileExists(atPath: otherStore))
            #expect(!FileManager.default.fileExists(atPath: world.store))

            // A --mount that is not a folder wins over the file's good mount and is rejected.
            let notFolder = scratch.path("not-a-folder")
            try Data().write(to: URL(fileURLWithPath: notFolder))
            #expect(try world.register("user1", efs: RestoreWorld.efsA, uid: 200001).status == 0)
            try FileManager.default.createDirectory(atPath: "\(world.volumeA)/200001", withIntermediateDirectories: true)
            #expect(try world.register("user1", efs: RestoreWorld.efsB, uid: 200005).status == 0)
            let result = try world.restore("user1", extra: ["--mount", "\(RestoreWorld.efsB)=\(notFolder)"])
            #expect(result.status == 65, "\(result)")
            #expect(result.standardError.contains("is not a folder"), "\(result)")
        }
    }

    @Test func invalidInputRejectedWithoutChanges() throws {
        try withScratchFolder("restore-invalid") { scratch in
            let world = try RestoreWorld(scratch)
            try FileManager.default.createDirectory(atPath: "\(world.volumeA)/200001", withIntermediateDirectories: true)
            #expect(try world.register("user1", efs: RestoreWorld.efsA, uid: 200001).status == 0)

            let badEFS = try world.register("user1", efs: "fs-XYZ", uid: 200005)
            #expect(badEFS.status == 65, "\(badEFS)")
            #expect(badEFS.standardError.hasPrefix("Error: Invalid EFS file-system id 'fs-XYZ'"), "\(badEFS)")

            let badUID = try world.syncd(["profile", "register", "--profile-name", "user1", "--domain-name", "studio", "--domain-id", RestoreWorld.domainID,
                                          "--efs-id", RestoreWorld.efsB, "--uid", "../200005"])
            #expect(badUID.status == 65, "\(badUID)")

            let pathName = try world.syncd(["profile", "register", "--profile-name", "../etc", "--domain-name", "studio", "--domain-id", RestoreWorld.domainID,
                                            "--efs-id", RestoreWorld.efsB, "--uid", "200005"])
            #expect(pathName.status == 65, "\(pathName)")

            let unknown = try world.restore("nobody")
            #expect(unknown.status == 65, "\(unknown)")
            #expect(unknown.standardError.contains("No user profile named 'nobody'"), "\(unknown)")

            let missingOption = try world.syncd(["restore", "--profile-name", "user1"])
            #expect(missingOption.status == 64, "\(missingOption)")

            let badMount = try world.restore("user1", extra: ["--mount", "volume-b"])
            #expect(badMount.status == 64, "\(badMount)")

            let missingConfig = try Syncd.run(["profile", "list", "--config", scratch.path("absent.json")])
            #expect(missingConfig.status == 64, "\(missingConfig)")

            // Nothing above wrote to the store.
            #expect(try world.show("user1").history.count == 1)
        }
    }

    @Test func unusableHomesRejectedWithoutChanges() throws {
        try withScratchFolder("restore-homes") { scratch in
            let world = try RestoreWorld(scratch)
            try FileManager.default.createDirectory(atPath: "\(world.volumeA)/200001", withIntermediateDirectories: true)
            #expect(try world.register("user1", efs: RestoreWorld.efsA, uid: 200001).status == 0)
            #expect(try world.register("user1", efs: "fs-0000000c", uid: 200005).status == 0)

            let noMount = try world.restore("user1")
            #expect(noMount.status == 65, "\(noMount)")
            #expect(noMount.standardError.contains("No mount is configured for fs-0000000c"), "\(noMount)")

            // fs-0000000c mounted inside the old home: the new home would lie inside the old one.
            let nested = try world.restore("user1", extra: ["--mount", "fs-0000000c=\(world.volumeA)/200001"])
            #expect(nested.status == 65, "\(nested)")
            #expect(nested.standardError.contains("one contains the other"), "\(nested)")
            #expect(!FileManager.default.fileExists(atPath: "\(world.volumeA)/200001/200005"))

            // A second name for volume A through a symlink still leads to the same folder.
            let alias = scratch.path("alias-of-a")
            try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: world.volumeA)
            try FileManager.default.createDirectory(atPath: "\(world.volumeA)/200005", withIntermediateDirectories: true)
            try FileManager.default.removeItem(atPath: "\(world.volumeA)/200005")
            try FileManager.default.createSymbolicLink(atPath: "\(world.volumeA)/200005", withDestinationPath: "200001")
            let symlinkHome = try world.restore("user1", extra: ["--mount", "fs-0000000c=\(alias)"])
            #expect(symlinkHome.status == 65, "\(symlinkHome)")
            #expect(symlinkHome.standardError.contains("symbolic link"), "\(symlinkHome)")

            #expect(try world.show("user1").history.count == 2)
        }
    }

    @Test func corruptStoreReportedAndUnchanged() throws {
        try withScratchFolder("restore-corrupt") { scratch in
            let world = try RestoreWorld(scratch)
            let garbage = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
            try garbage.write(to: URL(fileURLWithPath: world.store))

            let listed = try world.syncd(["profile", "list"])
            #expect(listed.status == 65, "\(listed)")
            #expect(listed.standardError.contains("corrupt"), "\(listed)")
            let registered = try world.register("user1", efs: RestoreWorld.efsA, uid: 200001)
            #expect(registered.status == 65, "\(registered)")
            #expect(FileManager.default.contents(atPath: world.store) == garbage)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"), "needs the sqlite3 shell"))
    func lockedStoreExitsAfterWaiting() throws {
        try withScratchFolder("restore-locked") { scratch in
            let world = try RestoreWorld(scratch)
            #expect(try world.register("user1", efs: RestoreWorld.efsA, uid: 200001).status == 0)

            // The sqlite3 shell takes the write lock and keeps it until its input ends.
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
            holder.arguments = [world.store]
            let input = Pipe()
            holder.standardInput = input
            holder.standardOutput = FileHandle.nullDevice
            holder.standardError = FileHandle.nullDevice
            try holder.run()
            let ready = scratch.path("locked.ready")
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
            let blocked = try world.register("user1", efs: RestoreWorld.efsB, uid: 200005)
            #expect(blocked.status == 75, "\(blocked)")
            #expect(blocked.standardError.contains("is locked by another process"), "\(blocked)")
            #expect(Date().timeIntervalSince(start) >= 4, "gave up before the 5 s busy timeout")

            try input.fileHandleForWriting.close()
            holder.waitUntilExit()
            #expect(try world.show("user1").history.count == 1)
            #expect(try world.register("user1", efs: RestoreWorld.efsB, uid: 200005).status == 0)
        }
    }
}
