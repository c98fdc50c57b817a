import Foundation
import Glibc
import Testing
import TestSupport

// What `syncd copy` prints while it runs (`--log-level transfer`, the progress line) and what a
// `--dry-run` promises without changing anything.

private let time = Attributes(modificationTime: SampleTrees.commonTime)
private let folderAttributes = Attributes(mode: 0o755, modificationTime: SampleTrees.commonTime)

private let dryRunTree: [TreeEntry] = [
    .file("a", bytes: pseudoRandomBytes(count: 10_000, seed: 11), time),
    .folder("sub", folderAttributes, [
        .file("b", "beta\n", time),
        .folder("deep", folderAttributes, [.file("c", "gamma\n", time)]),
    ]),
    .symlink("link", to: "a", time),
]

@Suite struct DryRunTests {
    @Test func dryRunChangesNothing() throws {
        try withCopyPair("dry-run", tree: dryRunTree) { pair in
            try expectReplicated(try pair.copy(), pair)
            try runShell("""
                rm "$1/a"
                printf 'longer beta content\\n' > "$1/sub/b"
                printf 'new\\n' > "$1/sub/deep/new"
                """, [pair.source])

            let before = try TreeSnapshot(of: pair.destination)
            let dryRun = try pair.copy(["--dry-run", "--delete", "--json"])
            let after = try TreeSnapshot(of: pair.destination)

            #expect(dryRun.status == 0, "\(dryRun)")
            #expect(before.changes(to: after) == [])
            let estimate = parseJSONObject(dryRun.standardOutput)
            #expect(jsonInteger(estimate?["EstimatedFilesToDelete"]) == 1, "\(dryRun.standardOutput)")
            #expect((jsonInteger(estimate?["EstimatedFilesToTransfer"]) ?? 0) >= 2, "\(dryRun.standardOutput)")
            #expect(jsonInteger(estimate?["FilesTransferred"]) == 0, "\(dryRun.standardOutput)")
            #expect(jsonInteger(estimate?["BytesWritten"]) == 0, "\(dryRun.standardOutput)")
            #expect(jsonInteger(estimate?["FilesDeleted"]) == 0, "\(dryRun.standardOutput)")

            // The real run does what the dry run announced.
            let real = try pair.copy(["--delete", "--json"])
            try expectReplicated(real, pair)
            let done = parseJSONObject(real.standardOutput)
            #expect(jsonInteger(done?["FilesTransferred"]) == jsonInteger(estimate?["EstimatedFilesToTransfer"]), "dry run: \(dryRun.standardOutput)\nreal run: \(real.standardOutput)")
            #expect(jsonInteger(done?["FilesDeleted"]) == jsonInteger(estimate?["EstimatedFilesToDelete"]), "\(real.standardOutput)")
            #expect(jsonInteger(done?["EstimatedBytesToTransfer"]) == jsonInteger(estimate?["EstimatedBytesToTransfer"]), "\(real.standardOutput)")
        }
    }

    @Test func dryRunCreatesNoDestination() throws {
        try withCopyPair("dry-run-missing", tree: dryRunTree) { pair in
            let reportPath = pair.scratch.path("report.json")
            let dryRun = try pair.copy(["--dry-run", "--json", "--report", reportPath])
            #expect(dryRun.status == 0, "\(dryRun)")
            #expect(fileStatus(pair.destination) == nil, "the dry run created the destination")

            // Every entry would be new: the root, two folders below it, three files and a symlink.
            let estimate = parseJSONObject(dryRun.standardOutput)
            #expect(jsonInteger(estimate?["EstimatedFilesToTransfer"]) == 7, "\(dryRun.standardOutput)")
            // The three files' sizes; an explicit Int64 keeps the literal from being typed apart.
            let expectedBytes: Int64 = 10_000 + 5 + 6
            #expect(jsonInteger(estimate?["EstimatedBytesToTransfer"]) == expectedBytes, "\(dryRun.standardOutput)")
            #expect(jsonInteger(estimate?["FilesTransferred"]) == 0, "\(dryRun.standardOutput)")

            let real = try pair.copy(["--json"])
            try expectReplicated(real, pair)
            let done = parseJSONObject(real.standardOutput)
            #expect(jsonInteger(done?["FilesTransferred"]) == jsonInteger(estimate?["EstimatedFilesToTransfer"]), "dry run: \(dryRun.standardOutput)\nreal run: \(real.standardOutput)")
        }
    }
}

// MARK: - Transfer log

@Suite struct TransferLogTests {
    @Test func oneEscapedLinePerFile() throws {
        let tree: [TreeEntry] = [
            .file("new\nline", "odd\n", time),
            .file("tab\there", "odd\n", time),
            .file("plain", "plain\n", time),
            .folder("sub", folderAttributes, [.file("deep", "deep\n", time)]),
        ]
        try withCopyPair("log-transfer", tree: tree) { pair in
            let result = try pair.copy(["--log-level", "transfer"])
            try expectReplicated(result, pair)
            let lines = (result.standardOutput + result.standardError).split(separator: "\n")

            for path in ["/new\\nline", "/tab\\there", "/plain", "/sub/deep"] {
                let matching = lines.filter { $0.hasSuffix(path) || $0.contains(path + " ") || $0.contains(path + ":") }
                #expect(matching.count == 1, "\(path) in \(lines.count) lines:\n\(result)")
            }
            #expect(!lines.contains { $0 == "line" || $0.hasSuffix("/new") }, "a name was split over two lines:\n\(result)")
            #expect(!lines.contains { $0.contains("\t") }, "a raw tab reached the log:\n\(result)")
        }
    }

    @Test func logLevelOffListsNoEntries() throws {
        try withCopyPair("log-off", tree: [.file("plain", "plain\n", time)]) { pair in
            let result = try pair.copy(["--log-level", "off"])
            try expectReplicated(result, pair)
            #expect(!(result.standardOutput + result.standardError).contains("/plain"), "\(result)")
        }
    }
}

// MARK: - Progress line

/// How a run is started, and whether its stderr must carry the progress line.
enum ProgressCase: String, CaseIterable, Sendable {
    case pipeDefault, pipeForced, terminalDefault, terminalDisabled

    var expectsProgress: Bool { self == .pipeForced || self == .terminalDefault }
}

/// Whether `text` has a carriage return that does not end a line. A pseudo-terminal turns every
/// newline into CR LF, and only a bare CR redraws a progress line.
private func containsCarriageReturn(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    return bytes.indices.contains { bytes[$0] == 0x0D && ($0 + 1 == bytes.count || bytes[$0 + 1] != 0x0A) }
}

@Suite struct ProgressTests {
    /// Each run copies 30 MiB at 20 MiB/s, so it lasts about 1.5 s: long enough for the
    /// progress line to be drawn at least once.
    @Test(arguments: ProgressCase.allCases)
    func progressOnlyWhereWanted(_ progressCase: ProgressCase) throws {
        try withScratchFolder("progress") { scratch in
            let source = scratch.path("source")
            #expect(mkdir(source, 0o755) == 0)
            try writeDenseFile(source + "/big", size: 30 << 20)
            let copy = ["copy", source, scratch.path("destination"), "--bwlimit", "20M"]

            let output: String
            switch progressCase {
            case .pipeDefault, .pipeForced:
                let result = try Syncd.run(copy + (progressCase == .pipeForced ? ["--progress"] : []))
                #expect(result.status == 0, "\(result)")
                output = result.standardError
            case .terminalDefault, .terminalDisabled:
                // `script` gives the run a pseudo-terminal and copies what it prints to stdout.
                let command = ([Syncd.binaryPath] + copy + (progressCase == .terminalDisabled ? ["--no-progress"] : [])).joined(separator: " ")
                let result = try runProcess("/usr/bin/script", ["-qec", command, "/dev/null"])
                #expect(result.status == 0, "\(result)")
                output = result.standardOutput
            }

            if progressCase.expectsProgress {
                #expect(containsCarriageReturn(output), "no progress line: \(output.debugDescription)")
            } else {
                #expect(!containsCarriageReturn(output), "unexpected progress line: \(output.debugDescription)")
            }
        }
    }
}
