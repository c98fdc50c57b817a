import Foundation
import Glibc
import Testing
import TestSupport

// Tests of the test oracle itself. The builder must create exactly what the description
// requests, and the comparator must report every kind of difference and nothing else.

private let isRoot = getuid() == 0
private let rootAttributes = Attributes(mode: 0o750, modificationTime: SampleTrees.commonTime)

private func runShell(_ script: String, _ arguments: [String]) throws -> ProcessResult {
    try runProcess("/bin/sh", ["-e", "-c", script, "sh"] + arguments)
}

@Suite struct TreeBuilderTests {
    @Test func builderAppliesAttributes() throws {
        try withScratchFolder("builder") { scratch in
            let root = scratch.path("tree")
            try TreeBuilder.build(SampleTrees.everyKind(privileged: isRoot), at: root, rootAttributes: rootAttributes)

            var status = stat()
            #expect(lstat(root + "/read-only", &status) == 0)
            #expect(status.st_mode & 0o7777 == 0o555)
            #expect(status.st_mtim.tv_sec == 1_700_000_000)
            #expect(status.st_mtim.tv_nsec == 123_456_789)

            #expect(lstat(root + "/before-1970", &status) == 0)
            #expect(status.st_mtim.tv_sec == -315_619_200)
            #expect(status.st_mtim.tv_nsec == 500_000_000)

            #expect(lstat(root + "/after-2038", &status) == 0)
            #expect(status.st_mtim.tv_sec == 4_102_444_800)

            #expect(lstat(root + "/docs/sparse", &status) == 0)
            #expect(status.st_size == 64 << 20)
            #expect(status.st_blocks < 256)

            #expect(lstat(root + "/links/target", &status) == 0)
            #expect(status.st_nlink == 3)

            #expect(lstat(root + "/socket", &status) == 0)
            #expect(status.st_mode & 0o170000 == 0o140000)

            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/self") == "self")

            let acl = try runProcess("/usr/bin/getfacl", ["-cn", root + "/docs/readme.txt"])
            #expect(acl.standardOutput.contains("user:1234:rw-"))
            #expect(acl.standardOutput.contains("mask::rw-"))

            let xattr = try runProcess("/usr/bin/getfattr", ["-h", "-e", "hex", "-n", "user.binary", root + "/docs/readme.txt"])
            #expect(xattr.standardOutput.contains("user.binary=0x000102ff0a"))

            if isRoot {
                #expect(lstat(root + "/set-id", &status) == 0)
                #expect(status.st_mode & 0o7777 == 0o6755)
                #expect(status.st_uid == 200_001)
                #expect(status.st_gid == 1001)
            }
        }
    }

    @Test func builderReachesBelowPathMax() throws {
        try withScratchFolder("deep") { scratch in
            let root = scratch.path("tree")
            try TreeBuilder.build(deepTree(bottomContent: "bottom\n"), at: root)
            let found = try runProcess("/usr/bin/find", [root, "-name", "bottom.txt"])
            #expect(found.standardOutput.utf8.count > 5000)
        }
    }
}

/// Twenty nested folders with 250-byte names and one file at the bottom: over 5,000 path bytes.
private func deepTree(bottomContent: String) -> [TreeEntry] {
    var level: [TreeEntry] = [.file("bottom.txt", bottomContent, Attributes(modificationTime: SampleTrees.commonTime))]
    for depth in (0..<20).reversed() {
        let name = EntryName(String(format: "%02d", depth) + String(repeating: "d", count: 248))
        level = [.folder(name, Attributes(modificationTime: SampleTrees.commonTime), level)]
    }
    return level
}

@Suite struct TreeComparatorTests {
    @Test func identicalBuildsMatch() throws {
        try withScratchFolder("same") { scratch in
            let tree = SampleTrees.everyKind(privileged: isRoot)
            try TreeBuilder.build(tree, at: scratch.path("one"), rootAttributes: rootAttributes)
            try TreeBuilder.build(tree, at: scratch.path("two"), rootAttributes: rootAttributes)
            let differences = try TreeComparator.differences(source: scratch.path("one"), destination: scratch.path("two"))
            #expect(differences == [])
        }
    }

    @Test func cpCopyMatches() throws {
        try withScratchFolder("cp") { scratch in
            let source = scratch.path("source")
            let destination = scratch.path("destination")
            try TreeBuilder.build(SampleTrees.everyKind(privileged: isRoot), at: source, rootAttributes: rootAttributes)

            let copy = try runProcess("/bin/cp", ["-a", "--preserve=all", source, destination])
            #expect(copy.status == 0, "\(copy)")

            let differences = try TreeComparator.differences(source: source, destination: destination)
            #expect(differences == [])
        }
    }

    @Test(.enabled(if: Rsync.isAvailable)) func rsyncCopyMatches() throws {
        try withScratchFolder("rsync") { scratch in
            let source = scratch.path("source")
            let destination = scratch.path("destination")
            try TreeBuilder.build(SampleTrees.everyKind(privileged: isRoot), at: source, rootAttributes: rootAttributes)

            let copy = try runProcess("/usr/bin/rsync", ["-aHAXS", "--numeric-ids", source + "/", destination + "/"])
            #expect(copy.status == 0, "\(copy)")

            let differences = try TreeComparator.differences(source: source, destination: destination)
            #expect(differences == [])
            #expect(try Rsync.differences(source: source, destination: destination) == "")
        }
    }

    @Test func deepDifferenceFound() throws {
        try withScratchFolder("deep-difference") { scratch in
            try TreeBuilder.build(deepTree(bottomContent: "bottom\n"), at: scratch.path("one"), rootAttributes: rootAttributes)
            try TreeBuilder.build(deepTree(bottomContent: "bottom\n"), at: scratch.path("same"), rootAttributes: rootAttributes)
            try TreeBuilder.build(deepTree(bottomContent: "BOTTOM\n"), at: scratch.path("other"), rootAttributes: rootAttributes)

            #expect(try TreeComparator.differences(source: scratch.path("one"), destination: scratch.path("same")) == [])

            let differences = try TreeComparator.differences(source: scratch.path("one"), destination: scratch.path("other"))
            #expect(differences.count == 1)
            #expect(differences.first?.hasSuffix("/bottom.txt\": content differs from byte 0") == true, "\(differences)")
        }
    }

    @Test func ignoredPathsAreSkipped() throws {
        try withScratchFolder("ignored") { scratch in
            let time = Attributes(modificationTime: SampleTrees.commonTime)
            try TreeBuilder.build([.file("kept", "a", time), .file("skipped", "b", time)], at: scratch.path("one"))
            try TreeBuilder.build([.file("kept", "a", time)], at: scratch.path("two"))
            var options = ComparisonOptions()
            options.compareRootAttributes = false
            options.compareFolderTimes = false
            #expect(try TreeComparator.differences(source: scratch.path("one"), destination: scratch.path("two"), options: options).count == 1)
            options.ignoredPaths = [Array("skipped".utf8)]
            #expect(try TreeComparator.differences(source: scratch.path("one"), destination: scratch.path("two"), options: options) == [])
        }
    }

    @Test func escapedPathIsOneLine() {
        #expect(escapedPath(Array("a/b c".utf8)) == "\"a/b c\"")
        #expect(escapedPath([0x61, 0x0A, 0x09, 0xFF, 0x22, 0x5C]) == "\"a\\n\\t\\xff\\\"\\\\\"")
    }

    /// One change made to an exact copy, and the start of the line that must report it.
    struct Seed: Sendable, CustomStringConvertible {
        var description: String
        var needsRoot = false
        /// A shell script run with the copy as `$1` and the source as `$2`.
        var script: String
        var expectedLine: String
    }

    static let seeds: [Seed] = [
        Seed(description: "extra entry", script: "touch \"$1/extra\"", expectedLine: "\"extra\": extra in destination (file)"),
        Seed(description: "missing entry", script: "rm \"$1/docs/empty\"", expectedLine: "\"docs/empty\": missing in destination"),
        Seed(description: "type", script: "rm \"$1/docs/empty\"; mkdir \"$1/docs/empty\"", expectedLine: "\"docs/empty\": type differs: source file, destination folder"),
        Seed(description: "size", script: "printf x >> \"$1/docs/readme.txt\"", expectedLine: "\"docs/readme.txt\": size differs"),
        Seed(
            description: "content",
            script: "printf J | dd of=\"$1/links/target\" bs=1 conv=notrunc 2>/dev/null; touch -r \"$2/links/target\" \"$1/links/target\"",
            expectedLine: "\"links/target\": content differs from byte 0"
        ),
        Seed(description: "owner uid", needsRoot: true, script: "chown -h 4321 \"$1/links/target\"", expectedLine: "\"links/target\": owner uid differs: source 0, destination 4321"),
        Seed(description: "owner gid", needsRoot: true, script: "chgrp -h 4321 \"$1/pipe\"", expectedLine: "\"pipe\": owner gid differs"),
        Seed(description: "mode", script: "chmod 0640 \"$1/before-1970\"", expectedLine: "\"before-1970\": mode differs: source 600, destination 640"),
        Seed(
            description: "mtime nanoseconds",
            script: "touch -h -d @1700000000.123456780 \"$1/dangling\"",
            expectedLine: "\"dangling\": mtime differs: source 1700000000.123456789, destination 1700000000.123456780"
        ),
        Seed(description: "folder mtime", script: "touch -d @1700000001 \"$1/links\"", expectedLine: "\"links\": mtime differs"),
        Seed(description: "access ACL", script: "setfacl -m u:1234:r \"$1/docs/readme.txt\"", expectedLine: "\"docs/readme.txt\": access ACL differs"),
        Seed(description: "access ACL removed", script: "setfacl -b \"$1/docs/readme.txt\"", expectedLine: "\"docs/readme.txt\": access ACL differs"),
        Seed(description: "default ACL", script: "setfacl -d -m g:5678:rx \"$1/docs\"", expectedLine: "\"docs\": default ACL differs"),
        Seed(description: "xattr value", script: "setfattr -n user.binary -v 0x00 \"$1/docs/readme.txt\"", expectedLine: "\"docs/readme.txt\": xattr user.binary differs"),
        Seed(description: "empty xattr removed", script: "setfattr -x user.empty \"$1/docs/readme.txt\"", expectedLine: "\"docs/readme.txt\": xattr user.empty missing in destination"),
        Seed(description: "xattr added", script: "setfattr -n user.new -v 1 \"$1/empty\" 2>/dev/null || setfattr -n user.new -v 1 \"$1/docs/empty\"", expectedLine: "\"docs/empty\": xattr user.new extra in destination"),
        Seed(description: "trusted xattr", needsRoot: true, script: "setfattr -x trusted.tag \"$1/docs/tagged\"", expectedLine: "\"docs/tagged\": xattr trusted.tag missing in destination"),
        Seed(
            description: "hard link split",
            script: "cp -p \"$1/links/target\" \"$1/links/copy\"; mv \"$1/links/copy\" \"$1/links/second-name\"",
            expectedLine: "\"docs/third-name\": hard links differ"
        ),
        Seed(
            description: "sparseness",
            script: "cp -p --sparse=never \"$1/docs/sparse\" \"$1/docs/dense\"; mv \"$1/docs/dense\" \"$1/docs/sparse\"",
            expectedLine: "\"docs/sparse\": sparseness differs"
        ),
        Seed(
            description: "device number",
            needsRoot: true,
            script: "rm \"$1/device\"; mknod -m 600 \"$1/device\" c 1 8; touch -r \"$2/device\" \"$1/device\"",
            expectedLine: "\"device\": device number differs: source 1:7, destination 1:8"
        ),
        Seed(description: "symlink text", script: "rm \"$1/self\"; ln -s selg \"$1/self\"", expectedLine: "\"self\": symlink text differs: source \"self\", destination \"selg\""),
        Seed(
            description: "name bytes",
            script: "mv \"$1/names/$(printf 'caf\\351')\" \"$1/names/$(printf 'caf\\303\\251')\"",
            expectedLine: "\"names/caf\\xe9\": missing in destination"
        ),
        Seed(
            description: "newline name",
            script: "rm \"$1/names/new\nline\"",
            expectedLine: "\"names/new\\nline\": missing in destination"
        ),
    ]

    @Test(arguments: seeds) func seededDifferenceFound(_ seed: Seed) throws {
        if seed.needsRoot && !isRoot { return }
        try withScratchFolder("seeded") { scratch in
            let source = scratch.path("source")
            let destination = scratch.path("destination")
            try TreeBuilder.build(SampleTrees.everyKind(privileged: isRoot), at: source, rootAttributes: rootAttributes)
            let copy = try runProcess("/bin/cp", ["-a", "--preserve=all", source, destination])
            try #require(copy.status == 0, "\(copy)")
            try #require(try TreeComparator.differences(source: source, destination: destination) == [])

            let change = try runShell(seed.script, [destination, source])
            try #require(change.status == 0, "\(change)")

            let differences = try TreeComparator.differences(source: source, destination: destination)
            #expect(differences.contains { $0.hasPrefix(seed.expectedLine) }, "\(differences)")
            #expect(differences.allSatisfy { !$0.contains("\n") })
        }
    }
}
