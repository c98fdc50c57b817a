import Foundation
import Glibc
import Testing
import TestSupport

/// Ways a replication tool can destroy data that it was never asked to touch.
@Suite struct SafetyRegressionTests {
    @Test func deleteKeepsExcludedEntriesInRemovedFolders() throws {
        try withScratchFolder("delete-keeps-excluded") { scratch in
            let source = scratch.path("source")
            let destination = scratch.path("destination")
            try runShell("""
                mkdir -p "$1" && echo a > "$1/a"
                mkdir -p "$2/gone/sub" && echo precious > "$2/gone/sub/keep.log" && echo x > "$2/gone/drop.txt"
                """, [source, destination])

            let result = try Syncd.run(["copy", source, destination, "--exclude", "*.log", "--delete", "--json"])

            #expect(result.status == SyncdExit.success, "\(result)")
            #expect(FileManager.default.fileExists(atPath: destination + "/gone/sub/keep.log"), "an excluded file was deleted")
            #expect(!FileManager.default.fileExists(atPath: destination + "/gone/drop.txt"))
            #expect(jsonInteger(parseJSONObject(result.standardOutput)?["FilesDeleted"]) == 1, "\(result.standardOutput)")
        }
    }

    @Test(.enabled(if: runningAsRoot, "bind mounts need root"))
    func bindMountOverlapRejected() throws {
        try withScratchFolder("bind-overlap") { scratch in
            let tree = scratch.path("tree")
            let view = scratch.path("view")
            try runShell("mkdir -p \"$1/src\" \"$2\" && echo 1 > \"$1/src/a\" && echo keep > \"$1/other\" && mount --bind \"$1\" \"$2\"", [tree, view])
            defer { _ = try? runProcess("/bin/umount", [view]) }

            // The destination is the source's parent, seen through the bind mount.
            let intoParent = try Syncd.run(["copy", tree + "/src", view, "--delete"])
            #expect(intoParent.status == 64, "\(intoParent)")
            #expect(FileManager.default.fileExists(atPath: tree + "/other"), "the source's parent lost an entry")
            #expect(FileManager.default.fileExists(atPath: tree + "/src/a"), "the source lost an entry")

            // The destination is inside the source, seen through the bind mount.
            let intoItself = try Syncd.run(["copy", view, tree + "/src/out"])
            #expect(intoItself.status == 64, "\(intoItself)")
            #expect(!FileManager.default.fileExists(atPath: tree + "/src/out"))
        }
    }

    @Test func secondRunIntoBusyDestinationStops() throws {
        try withScratchFolder("busy-destination") { scratch in
            let source = scratch.path("source")
            let destination = scratch.path("destination")
            try runShell("mkdir -p \"$1\" && head -c 16777216 /dev/urandom > \"$1/big\"", [source])
            let first = try Syncd.start(["copy", source, destination, "--bwlimit", "8M"])

            // Wait until the first run has the destination (its temporary file appears).
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, (try? FileManager.default.contentsOfDirectory(atPath: destination))?.isEmpty ?? true {
                usleep(20_000)
            }
            let second = try Syncd.run(["copy", source, destination])
            let firstResult = first.wait()

            #expect(second.status == 1, "\(second)")
            #expect(second.standardError.contains("DestinationBusy"), "\(second)")
            #expect(firstResult.status == SyncdExit.success, "\(firstResult)")
            #expect(try Rsync.differences(source: source, destination: destination) == "")
        }
    }

    @Test func brokenSourceLinkSplitsDestination() throws {
        try withScratchFolder("split-link") { scratch in
            let source = scratch.path("source")
            let destination = scratch.path("destination")
            try runShell("mkdir -p \"$1/a\" \"$1/b\" && echo hello > \"$1/a/x\" && ln \"$1/a/x\" \"$1/b/y\" && ln \"$1/a/x\" \"$1/b/z\"", [source])
            #expect(try Syncd.run(["copy", source, destination]).status == SyncdExit.success)

            // y gets an inode of its own in the source, with the same content and times.
            try runShell("cp -p \"$1/b/y\" \"$1/b/y.new\" && mv \"$1/b/y.new\" \"$1/b/y\"", [source])
            let beforeCopy = try Syncd.run(["verify", source, destination])
            #expect(beforeCopy.status == SyncdExit.verificationMismatch, "\(beforeCopy)")

            #expect(try Syncd.run(["copy", source, destination]).status == SyncdExit.success)
            #expect(fileStatus(destination + "/b/y")?.st_nlink == 1)
            #expect(fileStatus(destination + "/b/z")?.st_ino == fileStatus(destination + "/a/x")?.st_ino)
            #expect(try Syncd.run(["verify", source, destination]).status == SyncdExit.success)
        }
    }

    @Test func userFileWithTemporaryPrefixKept() throws {
        try withScratchFolder("temporary-prefix") { scratch in
            let source = scratch.path("source")
            let destination = scratch.path("destination")
            try runShell("""
                mkdir -p "$1" "$2" && echo a > "$1/a"
                echo precious > "$2/.~syncd-notes"
                echo leftover > "$2/.~syncd-k3x9q2-7"
                """, [source, destination])

            let result = try Syncd.run(["copy", source, destination])

            #expect(result.status == SyncdExit.success, "\(result)")
            #expect(FileManager.default.fileExists(atPath: destination + "/.~syncd-notes"), "a user's file was taken for a temporary file")
            #expect(!FileManager.default.fileExists(atPath: destination + "/.~syncd-k3x9q2-7"), "a leftover temporary file stayed")
        }
    }
}
