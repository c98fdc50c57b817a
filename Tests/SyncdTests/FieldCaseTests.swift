import Foundation
import Glibc
import Testing
import TestSupport

// Situations in which well-known copiers (rsync, cp, mpiFileUtils, rclone, fpsync, DataSync)
// once got a tree wrong, each run against the real `syncd copy SOURCE DESTINATION` and judged
// by the tree comparator and, where rsync can judge, by `rsync -aHAXc --numeric-ids -n -i`.

private let time = Attributes(modificationTime: SampleTrees.commonTime)

// MARK: - Hard links across folders

struct HardLinkLayout: Sendable, CustomStringConvertible {
    var description: String
    var tree: [TreeEntry]
    /// Names (from the root) that must share one inode in the destination.
    var group: [String]
}

private let hardLinkLayouts: [HardLinkLayout] = [
    HardLinkLayout(
        description: "two folders",
        tree: [
            .folder("a", time, [.file("f", "shared\n", Attributes(mode: 0o640, modificationTime: SampleTrees.commonTime))]),
            .folder("b", time, [.hardLink("g", to: "a/f")]),
        ],
        group: ["a/f", "b/g"]
    ),
    HardLinkLayout(
        description: "link sorted before its first name",
        tree: [
            .folder("a", time, [.hardLink("early", to: "z/late")]),
            .folder("z", time, [.file("late", "late\n", time)]),
        ],
        group: ["a/early", "z/late"]
    ),
    HardLinkLayout(
        description: "three names at three depths",
        tree: [
            .file("top", "three names\n", time),
            .folder("one", time, [.hardLink("mid", to: "top"), .folder("two", time, [.hardLink("low", to: "top")])]),
        ],
        group: ["top", "one/mid", "one/two/low"]
    ),
    HardLinkLayout(
        description: "hard-linked symlink",
        tree: [
            .symlink("link", to: "target-text", time),
            .folder("other", time, [.hardLink("same-link", to: "link")]),
        ],
        group: ["link", "other/same-link"]
    ),
    HardLinkLayout(
        description: "hard-linked fifo",
        tree: [
            .fifo("pipe", Attributes(mode: 0o600, modificationTime: SampleTrees.commonTime)),
            .folder("other", time, [.hardLink("same-pipe", to: "pipe")]),
        ],
        group: ["pipe", "other/same-pipe"]
    ),
    HardLinkLayout(
        description: "empty file",
        tree: [
            .file("empty", "", time),
            .folder("other", time, [.hardLink("same-empty", to: "empty")]),
        ],
        group: ["empty", "other/same-empty"]
    ),
]

@Suite(.serialized) struct HardLinkCaseTests {
    @Test(arguments: hardLinkLayouts) func hardLinksStayOneInode(_ layout: HardLinkLayout) throws {
        try withCopyPair("hard-links", tree: layout.tree) { pair in
            try expectReplicated(try pair.copy(), pair)

            let statuses = layout.group.map { fileStatus(pair.destination + "/" + $0) }
            #expect(statuses.allSatisfy { $0 != nil })
            let inodes = Set(statuses.compactMap { $0?.st_ino })
            #expect(inodes.count == 1)
            #expect(statuses.first??.st_nlink == UInt(layout.group.count))

            try expectSecondRunChangesNothing(pair)
        }
    }

    @Test func hardLinkAddedLaterIsLinked() throws {
        try withCopyPair("hard-link-later", tree: [.folder("a", time, [.file("f", "data\n", time)]), .folder("b", time)]) { pair in
            try expectReplicated(try pair.copy(), pair)

            try runShell("ln \"$1/a/f\" \"$1/b/g\" && touch -d @1700000000 \"$1/b\"", [pair.source])
            try expectReplicated(try pair.copy(), pair)
            #expect(fileStatus(pair.destination + "/a/f")?.st_ino == fileStatus(pair.destination + "/b/g")?.st_ino)
            #expect(fileStatus(pair.destination + "/a/f")?.st_nlink == 2)
        }
    }
}

// MARK: - Symlinks as text

@Suite struct SymlinkCaseTests {
    static let linkTexts: [(String, [UInt8])] = [
        ("dangling", Array("does/not/exist".utf8)),
        ("absolute", Array("/etc/hostname".utf8)),
        ("to-folder", Array("folder".utf8)),
        ("to-itself", Array("to-itself".utf8)),
        ("up-and-out", Array("../../../outside/of/tree".utf8)),
        ("loop-a", Array("loop-b".utf8)),
        ("loop-b", Array("loop-a".utf8)),
        ("odd-bytes", Array("new\nline\t".utf8) + [0xFF, 0xFE]),
        ("longest", Array(repeating: UInt8(ascii: "x"), count: 4095)),
        ("trailing-slash", Array("folder/".utf8)),
    ]

    @Test func symlinksCopiedAsText() throws {
        var tree: [TreeEntry] = [.folder("folder", time, [.file("inside", "x", time)])]
        tree += Self.linkTexts.map { .symlink(EntryName($0.0), toBytes: $0.1, time) }
        tree.append(.folder("nested", time, Self.linkTexts.map { .symlink(EntryName($0.0), toBytes: $0.1, time) }))

        try withCopyPair("symlinks", tree: tree) { pair in
            try expectReplicated(try pair.copy(), pair)
            // A followed link to a folder would have become a folder, and its file would exist.
            #expect((fileStatus(pair.destination + "/to-folder")?.st_mode ?? 0) & 0o170000 == 0o120000)
            try expectSecondRunChangesNothing(pair)
        }
    }

    @Test func destinationSymlinkFollowedOnlyAtTop() throws {
        try withCopyPair("symlink-top", tree: [.folder("sub", time, [.file("file", "data\n", time)]), .file("top", "t", time)]) { pair in
            let real = pair.scratch.path("real-destination")
            let outside = pair.scratch.path("outside")
            try runShell("mkdir \"$1\" \"$2\" && mkdir \"$1/sub-parent\" && ln -s \"$2\" \"$1/sub\"", [real, outside])
            try runShell("ln -s \"$1\" \"$2\"", [real, pair.destination])

            let result = try pair.copy()
            #expect(result.status == SyncdExit.success, "\(result)")

            // The top argument is followed, so the real folder receives the tree.
            #expect((fileStatus(pair.destination)?.st_mode ?? 0) & 0o170000 == 0o120000)
            #expect(fileStatus(real + "/top") != nil)
            // The planted link inside the tree is replaced by a folder, never written through.
            #expect((fileStatus(real + "/sub")?.st_mode ?? 0) & 0o170000 == 0o040000)
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == [])

            var options = ComparisonOptions()
            options.compareRootAttributes = false
            let differences = try TreeComparator.differences(source: pair.source, destination: real, options: options)
            // The pre-existing folder is the only extra entry, and nothing else may differ.
            #expect(differences == ["\"sub-parent\": extra in destination (folder)"])
        }
    }
}

// MARK: - Sparse files

struct SparseLayout: Sendable, CustomStringConvertible {
    var description: String
    var size: Int64
    var extents: [Extent]
}

private let gibibyte: Int64 = 1 << 30

private let sparseLayouts: [SparseLayout] = [
    SparseLayout(description: "one byte at the start", size: gibibyte, extents: [Extent(offset: 0, bytes: [0x41])]),
    SparseLayout(description: "data only at the end", size: gibibyte, extents: [Extent(offset: gibibyte - 4096, bytes: pseudoRandomBytes(count: 4096, seed: 1))]),
    SparseLayout(description: "hole in the middle", size: gibibyte, extents: [
        Extent(offset: 0, bytes: pseudoRandomBytes(count: 1 << 20, seed: 2)),
        Extent(offset: gibibyte - (1 << 20), bytes: pseudoRandomBytes(count: 1 << 20, seed: 3)),
    ]),
    SparseLayout(description: "only a hole", size: gibibyte, extents: []),
    SparseLayout(description: "trailing hole after data", size: gibibyte, extents: [Extent(offset: 512 << 20, bytes: pseudoRandomBytes(count: 65536, seed: 4))]),
    SparseLayout(description: "unaligned extents", size: gibibyte + 12345, extents: [
        Extent(offset: 1, bytes: [1, 2, 3]),
        Extent(offset: 300_000_001, bytes: pseudoRandomBytes(count: 70_000, seed: 5)),
        Extent(offset: gibibyte + 12340, bytes: [9, 9, 9, 9, 9]),
    ]),
]

@Suite struct SparseCaseTests {
    @Test(arguments: sparseLayouts) func sparseFilesStaySparse(_ layout: SparseLayout) throws {
        let tree: [TreeEntry] = [.sparseFile("sparse", size: layout.size, extents: layout.extents, time)]
        try withCopyPair("sparse", tree: tree) { pair in
            try expectReplicated(try pair.copy(), pair, rsyncArguments: nil)
            #expect(Int64(fileStatus(pair.destination + "/sparse")?.st_size ?? -1) == layout.size)
            try expectSecondRunChangesNothing(pair)
        }
    }
}

// MARK: - Files that change during the copy

enum ChangeDuringCopy: String, CaseIterable, Sendable {
    case truncated, appended, deleted, rewrittenSameSize
}

@Suite struct ChangingFileCaseTests {
    @Test(arguments: ChangeDuringCopy.allCases) func fileChangedDuringCopy(_ change: ChangeDuringCopy) throws {
        let others: [TreeEntry] = (0..<20).map { .file(EntryName("small-\($0)"), "small file \($0)\n", time) }
        try withCopyPair("changing", tree: [.folder("others", time, others)]) { pair in
            let big = pair.source + "/big"
            try writeDenseFile(big, size: 96 << 20)
            let report = pair.scratch.path("report.json")

            // The rate limit stretches the big file's copy to a few seconds, so the change lands mid-copy.
            let run = try Syncd.start(["copy", pair.source, pair.destination, "--bwlimit", "24M", "--json", "--report", report, "--report-level", "successes-and-errors"])
            // Only the big file reaches 4 MiB, so this waits until its own copy is under way.
            let started = waitUntil(seconds: 20) { folderHoldsFileData(pair.destination, minimumBytes: 4 << 20) || !run.isRunning }
            #expect(started, "the copy did not start writing within 20 seconds")
            #expect(run.isRunning, "the copy ended before the source file changed")

            switch change {
            case .truncated:
                try runShell("truncate -s 1M \"$1\"", [big])
            case .appended:
                try runShell("head -c 1048576 /dev/urandom >> \"$1\"", [big])
            case .deleted:
                try runShell("rm \"$1\"", [big])
            case .rewrittenSameSize:
                try runShell("head -c 1048576 /dev/urandom | dd of=\"$1\" bs=1M seek=80 conv=notrunc 2>/dev/null", [big])
            }
            let result = run.wait()

            #expect(!result.killedBySignal, "\(result)")
            let expectedStatus = change == .deleted ? SyncdExit.sourceVanished : SyncdExit.changedDuringCopy
            #expect(result.status == expectedStatus, "\(result)")
            #expect(result.standardError.contains("big"), "the run does not name the changed file: \(result)")

            // The rest of the tree completed.
            var options = ComparisonOptions()
            options.ignoredPaths = [Array("big".utf8)]
            options.compareRootAttributes = false
            let differences = try TreeComparator.differences(source: pair.source, destination: pair.destination, options: options)
            #expect(differences == [])

            // The changed file is never reported as verified.
            if let data = FileManager.default.contents(atPath: report), let object = try? JSONSerialization.jsonObject(with: data) {
                let entries = nestedJSONObjects(object).filter { ($0["RelativePath"] as? String)?.hasSuffix("/big") == true }
                for entry in entries {
                    #expect(entry["VerifyStatus"] as? String != "SUCCESS", "\(entry)")
                }
            } else {
                Issue.record("the run wrote no JSON task report at \(report)")
            }

            // A second run converges.
            try expectReplicated(try pair.copy(), pair)
        }
    }
}

// MARK: - Read-only folders

@Suite struct ReadOnlyFolderCaseTests {
    static let tree: [TreeEntry] = [
        .folder("locked", Attributes(mode: 0o555, modificationTime: SampleTrees.commonTime), [
            .file("child", "c\n", Attributes(mode: 0o444, modificationTime: SampleTrees.commonTime)),
            .folder("inner", Attributes(mode: 0o500, modificationTime: SampleTrees.commonTime), [
                .file("deep-child", "d\n", time),
            ]),
        ]),
    ]

    @Test func readOnlyFolderArrivesComplete() throws {
        try withCopyPair("read-only", tree: Self.tree) { pair in
            try expectReplicated(try pair.copy(), pair)
            #expect((fileStatus(pair.destination + "/locked")?.st_mode ?? 0) & 0o7777 == 0o555)

            // A later run adds a child to the read-only folder.
            try runShell("chmod u+w \"$1/locked\" && echo new > \"$1/locked/added\" && chmod 0555 \"$1/locked\" && touch -d @1700000100 \"$1/locked\"", [pair.source])
            try expectReplicated(try pair.copy(), pair)
            #expect((fileStatus(pair.destination + "/locked")?.st_mode ?? 0) & 0o7777 == 0o555)
        }
    }

    /// Without root, permission checks apply, so a folder whose mode is applied before its
    /// children would reject them.
    @Test(.enabled(if: runningAsRoot)) func readOnlyFolderAsUnprivilegedUser() throws {
        try withScratchFolder("read-only-user") { scratch in
            try runShell("chmod 0755 \"$1\"", [scratch.path])
            let source = scratch.path("source")
            try TreeBuilder.build(Self.tree, at: source, rootAttributes: Attributes(mode: 0o755, uid: 65534, gid: 65534))
            try runShell("chown -hR 65534:65534 \"$1\" && mkdir \"$2\" && chown 65534:65534 \"$2\"", [source, scratch.path("destination")])

            let result = try runProcess("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Syncd.binaryPath, "copy", source, scratch.path("destination")])
            #expect(result.status == SyncdExit.success, "\(result)")
            let pair = CopyPair(scratch: scratch)
            var options = ComparisonOptions()
            options.compareRootAttributes = false
            let differences = try TreeComparator.differences(source: pair.source, destination: pair.destination, options: options)
            #expect(differences == [])
        }
    }
}

// MARK: - Access ACLs exactly

struct ACLLayout: Sendable, CustomStringConvertible {
    var description: String
    var entry: TreeEntry
}

private let aclLayouts: [ACLLayout] = [
    ACLLayout(description: "named user and group with mask", entry: .file("file", "acl\n", Attributes(
        mode: 0o660, modificationTime: SampleTrees.commonTime, accessACL: "u::rw,u:1234:rw,g::r,g:5678:r,m::rw,o::-"))),
    ACLLayout(description: "mask narrower than entries", entry: .file("file", "acl\n", Attributes(
        modificationTime: SampleTrees.commonTime, accessACL: "u::rw,u:1234:rwx,g::rw,g:5678:rwx,m::r,o::r"))),
    ACLLayout(description: "folder with default ACL", entry: .folder("folder", Attributes(
        mode: 0o770, modificationTime: SampleTrees.commonTime, defaultACL: "u::rwx,u:1234:rwx,g::rx,g:5678:rx,m::rwx,o::-"), [.file("inherits", "x", time)])),
    ACLLayout(description: "folder with access and default ACL", entry: .folder("folder", Attributes(
        modificationTime: SampleTrees.commonTime, accessACL: "u::rwx,g::rx,g:5678:rwx,m::rwx,o::x", defaultACL: "u::rwx,g::rwx,o::-"), [])),
    ACLLayout(description: "owning group only with mask", entry: .file("file", "x", Attributes(
        modificationTime: SampleTrees.commonTime, accessACL: "u::rw,g::rw,m::r,o::-"))),
]

@Suite struct ACLCaseTests {
    @Test(arguments: aclLayouts) func aclsArriveExactly(_ layout: ACLLayout) throws {
        try withCopyPair("acl", tree: [layout.entry]) { pair in
            try expectReplicated(try pair.copy(), pair)
            let name = String(decoding: layout.entry.name.bytes, as: UTF8.self)
            let sourceACL = try runProcess("/usr/bin/getfacl", ["-cn", pair.source + "/" + name])
            let destinationACL = try runProcess("/usr/bin/getfacl", ["-cn", pair.destination + "/" + name])
            #expect(sourceACL.standardOutput == destinationACL.standardOutput)
            try expectSecondRunChangesNothing(pair)
        }
    }

    @Test func droppedACLIsRemoved() throws {
        let tree: [TreeEntry] = [
            .file("file", "x", Attributes(modificationTime: SampleTrees.commonTime, accessACL: "u::rw,u:1234:rw,g::r,m::rw,o::-")),
            .folder("folder", Attributes(modificationTime: SampleTrees.commonTime, defaultACL: "u::rwx,g::rx,g:5678:rx,m::rx,o::-")),
        ]
        try withCopyPair("acl-dropped", tree: tree) { pair in
            try expectReplicated(try pair.copy(), pair)
            try runShell("setfacl -b \"$1/file\" && setfacl -k \"$1/folder\"", [pair.source])
            try expectReplicated(try pair.copy(), pair)
        }
    }
}

// MARK: - Extended attributes

@Suite struct ExtendedAttributeCaseTests {
    static func tree(privileged: Bool) -> [TreeEntry] {
        var attributes = [
            ExtendedAttribute("user.empty", []),
            ExtendedAttribute("user.binary", [0, 0xFF, 0x0A, 0x00, 0x7F]),
            ExtendedAttribute("user.text", text: "a value"),
            ExtendedAttribute("user.large", pseudoRandomBytes(count: 2000, seed: 7)),
            ExtendedAttribute("user.to-drop", text: "dropped later"),
        ]
        if privileged {
            attributes.append(ExtendedAttribute("trusted.overlay", text: "trusted value"))
        }
        let many = (0..<40).map { ExtendedAttribute("user.attribute-\($0)", text: "\($0)") }
        var entries: [TreeEntry] = [
            .file("file", "x", Attributes(modificationTime: SampleTrees.commonTime, extendedAttributes: attributes)),
            .folder("folder", Attributes(modificationTime: SampleTrees.commonTime, extendedAttributes: attributes)),
            .file("many", "m", Attributes(modificationTime: SampleTrees.commonTime, extendedAttributes: many)),
        ]
        if privileged {
            // Linux allows only trusted.* and security.* on symlinks.
            entries.append(.symlink("link", to: "file", Attributes(
                modificationTime: SampleTrees.commonTime, extendedAttributes: [ExtendedAttribute("trusted.on-link", text: "link")])))
        }
        return entries
    }

    @Test func xattrsCopiedAndDropped() throws {
        try withCopyPair("xattr", tree: Self.tree(privileged: runningAsRoot)) { pair in
            try expectReplicated(try pair.copy(), pair)
            try expectSecondRunChangesNothing(pair)

            try runShell("setfattr -x user.to-drop \"$1/file\" && setfattr -x user.to-drop \"$1/folder\" && setfattr -n user.text -v changed \"$1/many\"", [pair.source])
            try expectReplicated(try pair.copy(), pair)
        }
    }

    /// ramfs stores no xattrs or ACLs at all, as EFS does not.
    @Test(.enabled(if: runningAsRoot)) func filesystemWithoutXattrs() throws {
        var tree = Self.tree(privileged: false)
        tree.append(.file("acl", "a", Attributes(modificationTime: SampleTrees.commonTime, accessACL: "u::rw,u:1234:r,g::r,m::r,o::-")))
        try withCopyPair("no-xattr", tree: tree) { pair in
            try runShell("mkdir \"$1\" && mount -t ramfs ramfs \"$1\"", [pair.destination])
            defer { _ = try? runProcess("/bin/umount", [pair.destination]) }

            let result = try pair.copy(["--json"])
            #expect(result.status == SyncdExit.success, "\(result)")
            let output = (result.standardOutput + result.standardError).lowercased()
            #expect(output.contains("xattr") || output.contains("extended attribute"), "the downgrade is not reported: \(result)")

            var options = ComparisonOptions()
            options.compareExtendedAttributes = false
            options.compareACLs = false
            options.compareSparseness = false
            let differences = try TreeComparator.differences(source: pair.source, destination: pair.destination, options: options)
            #expect(differences == [])
        }
    }
}

// MARK: - Names are bytes

@Suite struct NameCaseTests {
    static var tree: [TreeEntry] {
        let names = SampleTrees.awkwardNames
        return [
            .folder("files", time, names.map { .file($0, "named\n", time) }),
            .folder("folders", time, names.map { .folder($0, time, [.file("inside", "i", time)]) }),
            .folder("links", time, names.map { .symlink($0, toBytes: $0.bytes, time) }),
            .hardLink(EntryName(Array("hard\n".utf8) + [0xFF]), toPath: ["files", names[0]]),
        ]
    }

    @Test func namesArriveByteForByte() throws {
        try withCopyPair("names", tree: Self.tree) { pair in
            try expectReplicated(try pair.copy(), pair)
            try expectSecondRunChangesNothing(pair, ["--delete"])
        }
    }

    @Test func namesEscapedInReports() throws {
        try withCopyPair("names-report", tree: Self.tree) { pair in
            let report = pair.scratch.path("report.json")
            let result = try pair.copy(["--report", report, "--report-level", "successes-and-errors", "--log-level", "transfer"])
            try expectReplicated(result, pair)

            let reportBytes = Array(FileManager.default.contents(atPath: report) ?? Data())
            #expect(!reportBytes.isEmpty, "no task report was written")
            for output in [reportBytes, Array(result.standardOutput.utf8), Array(result.standardError.utf8)] {
                // A raw newline or invalid byte from a name would split or corrupt an entry.
                #expect(!containsSubsequence(output, Array("new\nline".utf8)))
                #expect(!containsSubsequence(output, [0xFF, 0xFE]))
                #expect(!containsSubsequence(output, Array("caf".utf8) + [0xE9]))
            }
        }
    }

    private func containsSubsequence(_ bytes: [UInt8], _ part: [UInt8]) -> Bool {
        guard bytes.count >= part.count else { return false }
        return (0...(bytes.count - part.count)).contains { bytes[$0..<($0 + part.count)].elementsEqual(part) }
    }
}

// MARK: - Deeper than PATH_MAX

@Suite struct DeepPathCaseTests {
    static func deepTree(bottom: String) -> [TreeEntry] {
        var level: [TreeEntry] = [.file("bottom.txt", bottom, time)]
        for depth in (0..<20).reversed() {
            let name = EntryName(String(format: "%02d", depth) + String(repeating: "d", count: 248))
            level = [.folder(name, time, level)]
        }
        return level
    }

    @Test func deepTreeCopiedUpdatedDeleted() throws {
        try withCopyPair("deep", tree: Self.deepTree(bottom: "bottom\n")) { pair in
            // rsync cannot judge paths over PATH_MAX, so the comparator alone decides here.
            try expectReplicated(try pair.copy(), pair, rsyncArguments: nil)
            try expectSecondRunChangesNothing(pair)

            try runShell("find \"$1\" -name bottom.txt -execdir sh -c 'printf updated > bottom.txt' \\;", [pair.source])
            try expectReplicated(try pair.copy(), pair, rsyncArguments: nil)

            try runShell("find \"$1\" -name bottom.txt -execdir rm bottom.txt \\;", [pair.source])
            try expectReplicated(try pair.copy(["--delete"]), pair, rsyncArguments: nil)
            let remaining = try runProcess("/usr/bin/find", [pair.destination, "-name", "bottom.txt"])
            #expect(remaining.standardOutput == "")
        }
    }
}

// MARK: - Times

struct TimeLayout: Sendable, CustomStringConvertible {
    var description: String
    var time: Timestamp
}

private let timeLayouts: [TimeLayout] = [
    TimeLayout(description: "nanoseconds", time: Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789)),
    TimeLayout(description: "one nanosecond", time: Timestamp(seconds: 1_600_000_000, nanoseconds: 1)),
    TimeLayout(description: "just before 1970", time: Timestamp(seconds: -1, nanoseconds: 999_999_999)),
    TimeLayout(description: "1901", time: Timestamp(seconds: -2_147_483_648, nanoseconds: 0)),
    TimeLayout(description: "just after 2038", time: Timestamp(seconds: 2_147_483_648, nanoseconds: 500)),
    TimeLayout(description: "2100", time: Timestamp(seconds: 4_102_444_800, nanoseconds: 999_999_999)),
]

@Suite struct TimeCaseTests {
    @Test(arguments: timeLayouts) func timesArriveExactly(_ layout: TimeLayout) throws {
        let at = Attributes(modificationTime: layout.time)
        let tree: [TreeEntry] = [
            .file("file", "t", at),
            .file("empty", "", at),
            .symlink("link", to: "file", at),
            .fifo("pipe", at),
            .folder("folder", at, [.file("child", "c", at), .folder("grandchild", at, [.file("leaf", "l", at)])]),
        ]
        try withCopyPair("times", tree: tree, rootAttributes: at) { pair in
            try expectReplicated(try pair.copy(), pair)
            try expectSecondRunChangesNothing(pair)
        }
    }
}

// MARK: - Set-id bits and ownership

@Suite struct OwnershipCaseTests {
    static let tree: [TreeEntry] = [
        .file("set-id", "#!/bin/sh\n", Attributes(mode: 0o6755, uid: 200_001, gid: 1001, modificationTime: SampleTrees.commonTime)),
        .file("set-uid-root", "x", Attributes(mode: 0o4755, uid: 0, gid: 0, modificationTime: SampleTrees.commonTime)),
        .file("set-gid", "x", Attributes(mode: 0o2755, uid: 300, gid: 1001, modificationTime: SampleTrees.commonTime)),
        .folder("shared", Attributes(mode: 0o2775, uid: 200_001, gid: 1001, modificationTime: SampleTrees.commonTime), [
            .file("inside", "i", Attributes(uid: 200_002, gid: 1001, modificationTime: SampleTrees.commonTime)),
        ]),
        .folder("sticky", Attributes(mode: 0o1777, uid: 0, gid: 0, modificationTime: SampleTrees.commonTime)),
        .symlink("owned-link", to: "set-id", Attributes(uid: 200_001, gid: 1001, modificationTime: SampleTrees.commonTime)),
    ]

    @Test(.enabled(if: runningAsRoot)) func ownerAndSetIDKept() throws {
        try withCopyPair("set-id", tree: Self.tree) { pair in
            try expectReplicated(try pair.copy(), pair)
            #expect((fileStatus(pair.destination + "/set-id")?.st_mode ?? 0) & 0o7777 == 0o6755)
            try expectSecondRunChangesNothing(pair)
        }
    }

    @Test(.enabled(if: runningAsRoot)) func setIDDroppedWithoutOwnership() throws {
        try withScratchFolder("set-id-user") { scratch in
            try runShell("chmod 0755 \"$1\"", [scratch.path])
            let source = scratch.path("source")
            let destination = scratch.path("destination")
            try TreeBuilder.build(Self.tree, at: source, rootAttributes: Attributes(mode: 0o755))
            try runShell("mkdir \"$1\" && chown 65534:65534 \"$1\"", [destination])

            let result = try runProcess("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Syncd.binaryPath, "copy", source, destination])
            #expect(!result.killedBySignal, "\(result)")
            #expect(result.status == SyncdExit.success || result.status == SyncdExit.someEntriesFailed, "\(result)")

            for name in ["set-id", "set-uid-root", "set-gid"] {
                let status = fileStatus(destination + "/" + name)
                #expect(status != nil, "\(name) was not copied")
                #expect(status?.st_uid == 65534)
                #expect((status?.st_mode ?? 0) & 0o6000 == 0, "\(name) kept a set-id bit for another owner")
            }
            #expect((fileStatus(destination + "/set-id")?.st_mode ?? 0) & 0o777 == 0o755)
        }
    }
}

// MARK: - Special files

@Suite struct SpecialFileCaseTests {
    @Test func fifoRecreatedNotOpened() throws {
        let tree: [TreeEntry] = [
            .fifo("pipe", Attributes(mode: 0o620, modificationTime: SampleTrees.commonTime)),
            .folder("folder", time, [.fifo("inner-pipe", time)]),
        ]
        try withCopyPair("fifo", tree: tree) { pair in
            let run = try Syncd.start(["copy", pair.source, pair.destination])
            // A reader blocked on a FIFO never ends, so a run that opens it would hang here.
            let ended = waitUntil(seconds: 60) { !run.isRunning }
            if !ended { run.send(SIGKILL) }
            let result = run.wait()
            #expect(ended, "the copy hung, probably opening a FIFO")
            try expectReplicated(result, pair)
        }
    }

    @Test(.enabled(if: runningAsRoot)) func devicesKeptWithDevicesOption() throws {
        let tree: [TreeEntry] = [
            .characterDevice("character", major: 1, minor: 7, Attributes(mode: 0o640, uid: 200_001, modificationTime: SampleTrees.commonTime)),
            .characterDevice("large-numbers", major: 4095, minor: 1_048_575, time),
            .blockDevice("block", major: 7, minor: 200, Attributes(mode: 0o600, modificationTime: SampleTrees.commonTime)),
        ]
        try withCopyPair("devices", tree: tree) { pair in
            try expectReplicated(try pair.copy(["--devices"]), pair)
            try expectSecondRunChangesNothing(pair, ["--devices"])
        }
    }

    @Test(.enabled(if: runningAsRoot)) func devicesSkippedByDefault() throws {
        let tree: [TreeEntry] = [.characterDevice("character", major: 1, minor: 7, time), .file("file", "f", time)]
        try withCopyPair("no-devices", tree: tree) { pair in
            let result = try pair.copy()
            #expect(result.status == SyncdExit.success, "\(result)")
            #expect(fileStatus(pair.destination + "/character") == nil)
            #expect(fileStatus(pair.destination + "/file") != nil)
        }
    }

    @Test func socketSkippedWithWarning() throws {
        let tree: [TreeEntry] = [.socket("listener", time), .file("file", "f", time)]
        try withCopyPair("socket", tree: tree) { pair in
            let result = try pair.copy()
            var options = ComparisonOptions()
            options.ignoredPaths = [Array("listener".utf8)]
            try expectReplicated(result, pair, options: options, rsyncArguments: ["--exclude=/listener"])
            #expect(fileStatus(pair.destination + "/listener") == nil)
            #expect(result.standardError.contains("listener"), "no warning names the skipped socket: \(result)")
        }
    }
}

// MARK: - Empty and shrinking files

enum Shrink: String, CaseIterable, Sendable {
    case toZeroNewTime, toZeroSameTime, partlySameTime
}

@Suite struct EmptyFileCaseTests {
    @Test func emptyFileKeepsModeAndTimes() throws {
        let tree: [TreeEntry] = [
            .file("empty", "", Attributes(mode: 0o604, modificationTime: Timestamp(seconds: 1_234_567_890, nanoseconds: 5))),
            .file("empty-setgid", "", Attributes(mode: 0o2755, modificationTime: SampleTrees.commonTime)),
        ]
        try withCopyPair("empty", tree: tree) { pair in
            try expectReplicated(try pair.copy(), pair)
            try expectSecondRunChangesNothing(pair)
        }
    }

    @Test(arguments: Shrink.allCases) func shrunkFileShrinksDestination(_ shrink: Shrink) throws {
        let tree: [TreeEntry] = [.file("file", bytes: pseudoRandomBytes(count: 1 << 20, seed: 11), time)]
        try withCopyPair("shrink", tree: tree) { pair in
            try expectReplicated(try pair.copy(), pair)
            let file = pair.source + "/file"
            switch shrink {
            case .toZeroNewTime:
                try runShell(": > \"$1\"", [file])
            case .toZeroSameTime:
                try runShell(": > \"$1\" && touch -d @1700000000.123456789 \"$1\"", [file])
            case .partlySameTime:
                try runShell("truncate -s 10 \"$1\" && touch -d @1700000000.123456789 \"$1\"", [file])
            }
            try expectReplicated(try pair.copy(), pair)
        }
    }
}

// MARK: - Files over 4 GiB

@Suite struct LargeFileCaseTests {
    @Test func fileOverFourGiB() throws {
        let size: Int64 = 5 << 30
        let chunk = 256 << 10
        let tree: [TreeEntry] = [.sparseFile("five-gib", size: size, extents: [
            Extent(offset: 2 << 30, bytes: pseudoRandomBytes(count: chunk, seed: 21)),
            Extent(offset: (2 << 30) - Int64(chunk / 2), bytes: pseudoRandomBytes(count: chunk, seed: 22)),
            Extent(offset: 4 << 30, bytes: pseudoRandomBytes(count: chunk, seed: 23)),
            Extent(offset: (4 << 30) - 1, bytes: [0xAB, 0xCD]),
            Extent(offset: size - Int64(chunk), bytes: pseudoRandomBytes(count: chunk, seed: 24)),
        ], time)]
        try withCopyPair("five-gib", tree: tree) { pair in
            // The comparator reads every data byte; rsync -c would read 10 GiB for nothing new.
            try expectReplicated(try pair.copy(), pair, rsyncArguments: nil)
            #expect(Int64(fileStatus(pair.destination + "/five-gib")?.st_size ?? -1) == size)

            let sums = try runProcess("/usr/bin/sha256sum", [pair.source + "/five-gib", pair.destination + "/five-gib"])
            let digests = sums.standardOutput.split(separator: "\n").map { $0.prefix(64) }
            #expect(digests.count == 2)
            #expect(digests.first == digests.last)
        }
    }
}
