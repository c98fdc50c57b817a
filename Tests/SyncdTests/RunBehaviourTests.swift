import Foundation
import Glibc
import Testing
import TestSupport

// Whole runs of `syncd copy`: later runs, deletion with filters, a killed run, and a real tree.

private let time = Attributes(modificationTime: SampleTrees.commonTime)

@Suite struct WholeTreeTests {
    @Test func everyKindReplicated() throws {
        try withCopyPair("every-kind", tree: SampleTrees.everyKind(privileged: runningAsRoot)) { pair in
            let arguments = runningAsRoot ? ["--devices"] : []
            let result = try pair.copy(arguments)
            var options = ComparisonOptions()
            // Sockets are skipped with a warning by design.
            options.ignoredPaths = [Array("socket".utf8)]
            try expectReplicated(result, pair, options: options, rsyncArguments: ["--exclude=/socket"])
            try expectSecondRunChangesNothing(pair, arguments)
        }
    }

    /// Real trees the project did not write: documentation, and Python's library with its caches.
    ///
    /// Python processes on the machine may write or replace `__pycache__` files in the live tree
    /// at any moment, so the tree is first frozen with `cp -a` (which keeps every attribute) and
    /// syncd copies the frozen tree; a vanished file would otherwise end the run with exit 24.
    @Test(arguments: ["/usr/share/doc", "/usr/lib/python3"])
    func systemTreeReplicated(liveTree: String) throws {
        try #require(FileManager.default.fileExists(atPath: liveTree))
        try withScratchFolder("system-tree") { scratch in
            let tree = scratch.path("frozen")
            let frozen = try runProcess("/bin/cp", ["-a", liveTree, tree])
            try #require(frozen.status == 0, "\(frozen)")
            let destination = scratch.path("copy")
            let result = try Syncd.run(["copy", tree, destination])
            #expect(!result.killedBySignal, "\(result)")
            #expect(result.status == SyncdExit.success, "\(result)")
            let differences = try TreeComparator.differences(source: tree, destination: destination)
            #expect(differences == [])
            #expect(try Rsync.differences(source: tree, destination: destination) == "")

            let before = try TreeSnapshot(of: destination)
            let again = try Syncd.run(["copy", tree, destination])
            #expect(again.status == SyncdExit.success, "\(again)")
            #expect(before.changes(to: try TreeSnapshot(of: destination)) == [])
        }
    }
}

// MARK: - Metadata-only changes

enum MetadataChange: String, CaseIterable, Sendable {
    case fileMode, folderMode, owner, group, xattrAdded, xattrRemoved, accessACL, defaultACL

    var needsRoot: Bool { self == .owner || self == .group }

    var script: String {
        switch self {
        case .fileMode: return "chmod 0600 \"$1/folder/file\""
        case .folderMode: return "chmod 0700 \"$1/folder\""
        case .owner: return "chown 4321 \"$1/folder/file\""
        case .group: return "chgrp 4321 \"$1/folder/file\""
        case .xattrAdded: return "setfattr -n user.added -v new \"$1/folder/file\""
        case .xattrRemoved: return "setfattr -x user.kept \"$1/folder/file\""
        case .accessACL: return "setfacl -m u:1234:rw \"$1/folder/file\""
        case .defaultACL: return "setfacl -d -m g:5678:rx \"$1/folder\""
        }
    }
}

@Suite struct MetadataChangeTests {
    @Test(arguments: MetadataChange.allCases) func metadataFixedInPlace(_ change: MetadataChange) throws {
        if change.needsRoot && !runningAsRoot { return }
        let tree: [TreeEntry] = [
            .folder("folder", time, [
                .file("file", bytes: pseudoRandomBytes(count: 300_000, seed: 31), Attributes(
                    mode: 0o644, modificationTime: SampleTrees.commonTime, extendedAttributes: [ExtendedAttribute("user.kept", text: "k")])),
            ]),
        ]
        try withCopyPair("metadata", tree: tree) { pair in
            try expectReplicated(try pair.copy(), pair)
            let before = try TreeSnapshot(of: pair.destination)

            try runShell(change.script, [pair.source])
            let result = try pair.copy(["--json"])
            try expectReplicated(result, pair)

            let after = try TreeSnapshot(of: pair.destination)
            #expect(after["folder/file"]?.inode == before["folder/file"]?.inode, "the file was rewritten for a metadata change")
            #expect(after["folder"]?.inode == before["folder"]?.inode)
            if let json = parseJSONObject(result.standardOutput) {
                #expect(jsonInteger(json["BytesWritten"]) == 0, "\(result.standardOutput)")
            } else {
                Issue.record("the --json output is not a JSON object: \(result.standardOutput)")
            }
        }
    }
}

// MARK: - Deletion and filters

@Suite struct DeleteTests {
    static let tree: [TreeEntry] = [
        .file("keep.txt", "keep\n", time),
        .folder("logs", time, [.file("run.log", "log\n", time), .file("scratch.tmp", "tmp\n", time)]),
        .folder("cache", time, [.file("blob", "cached\n", time)]),
    ]

    /// Adds entries that only the destination has: plain extras, and extras that the filter excludes.
    static func plantExtras(in destination: String) throws {
        try runShell("""
            mkdir -p "$1/extra-folder/sub" "$1/cache"
            echo x > "$1/extra.txt"
            echo y > "$1/extra-folder/sub/file"
            ln -s keep.txt "$1/extra-link"
            mkfifo "$1/extra-fifo"
            echo old > "$1/cache/old"
            echo stale > "$1/stale.tmp"
            """, [destination])
    }

    @Test func deleteRemovesExtrasAndHonoursExclude() throws {
        try withCopyPair("delete", tree: Self.tree) { pair in
            try runShell("mkdir \"$1\"", [pair.destination])
            try Self.plantExtras(in: pair.destination)

            let result = try pair.copy(["--delete", "--exclude", "*.tmp|/cache"])
            #expect(result.status == SyncdExit.success, "\(result)")

            for extra in ["extra.txt", "extra-folder", "extra-link", "extra-fifo"] {
                #expect(fileStatus(pair.destination + "/" + extra) == nil, "\(extra) was not deleted")
            }
            // Excluded paths are neither copied nor deleted, as rsync does without --delete-excluded.
            #expect(fileStatus(pair.destination + "/logs/scratch.tmp") == nil)
            #expect(fileStatus(pair.destination + "/cache/blob") == nil)
            #expect(fileStatus(pair.destination + "/cache/old") != nil)
            #expect(fileStatus(pair.destination + "/stale.tmp") != nil)

            var options = ComparisonOptions()
            options.ignoredPaths = [Array("cache".utf8), Array("stale.tmp".utf8), Array("logs/scratch.tmp".utf8)]
            let differences = try TreeComparator.differences(source: pair.source, destination: pair.destination, options: options)
            #expect(differences == [])
            let rsyncOutput = try Rsync.differences(source: pair.source, destination: pair.destination, extraArguments: ["--exclude=*.tmp", "--exclude=/cache"])
            #expect(rsyncOutput == "")
        }
    }

    @Test func extrasKeptWithoutDelete() throws {
        try withCopyPair("no-delete", tree: Self.tree) { pair in
            try runShell("mkdir \"$1\"", [pair.destination])
            try Self.plantExtras(in: pair.destination)
            let result = try pair.copy()
            #expect(result.status == SyncdExit.success, "\(result)")
            #expect(fileStatus(pair.destination + "/extra.txt") != nil)
            #expect(fileStatus(pair.destination + "/extra-folder/sub/file") != nil)
            #expect(fileStatus(pair.destination + "/cache/blob") != nil)
        }
    }

    @Test func deletedSourceEntriesRemovedLater() throws {
        try withCopyPair("delete-later", tree: Self.tree) { pair in
            try expectReplicated(try pair.copy(["--delete"]), pair)
            try runShell("rm -r \"$1/cache\" \"$1/logs/run.log\" && touch -d @1700000000 \"$1\" \"$1/logs\"", [pair.source])
            try expectReplicated(try pair.copy(["--delete"]), pair)
        }
    }
}

// MARK: - A killed run

@Suite struct KilledRunTests {
    @Test func killedRunLeavesNoPartialFile() throws {
        let tree: [TreeEntry] = [.folder("small", time, (0..<10).map { .file(EntryName("file-\($0)"), "content \($0)\n", time) })]
        try withCopyPair("killed", tree: tree) { pair in
            let big = pair.source + "/big"
            try writeDenseFile(big, size: 256 << 20)

            // The rate limit keeps the big file in flight for seconds, so the kill lands mid-copy.
            let run = try Syncd.start(["copy", pair.source, pair.destination, "--bwlimit", "64M"])
            let writing = waitUntil(seconds: 20) { folderHoldsFileData(pair.destination, minimumBytes: 4 << 20) || !run.isRunning }
            #expect(writing, "the copy did not start writing within 20 seconds")
            #expect(run.isRunning, "the copy ended before it could be killed")
            run.send(SIGKILL)
            let killed = run.wait()
            #expect(killed.killedBySignal, "\(killed)")

            // The final name contains the whole file or does not exist.
            if let status = fileStatus(pair.destination + "/big") {
                #expect(status.st_size == 256 << 20, "a partial file is visible under its final name")
                let same = try runProcess("/usr/bin/cmp", [big, pair.destination + "/big"])
                #expect(same.status == 0, "\(same)")
            }

            // The next run completes and leaves no temporary file behind.
            try expectReplicated(try pair.copy(), pair)
            try expectSecondRunChangesNothing(pair)
        }
    }
}
