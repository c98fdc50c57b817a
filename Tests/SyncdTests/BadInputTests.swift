import Foundation
import Glibc
import Testing
import TestSupport

// Command lines and Options objects that `syncd copy` must reject before it touches anything:
// the exit code, an `Error:` line that names the culprit, and no destination or report left.

private let time = Attributes(modificationTime: SampleTrees.commonTime)
private let smallTree: [TreeEntry] = [.file("a", "alpha\n", time)]

private let usageExit: Int32 = 64
private let dataExit: Int32 = 65

/// A rejected command line: the extra arguments, the exit code and a text the error must contain.
struct RejectedInput: Sendable, CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    var mention: String

    var description: String { arguments.joined(separator: " ") }
}

private let rejectedInputs: [RejectedInput] = [
    RejectedInput(arguments: ["--workers", "0"], status: usageExit, mention: "--workers"),
    RejectedInput(arguments: ["--workers", "many"], status: usageExit, mention: "--workers"),
    RejectedInput(arguments: ["--bwlimit", "abc"], status: usageExit, mention: "--bwlimit"),
    RejectedInput(arguments: ["--bwlimit", "0"], status: usageExit, mention: "--bwlimit"),
    RejectedInput(arguments: ["--map-uid", "x"], status: usageExit, mention: "--map-uid"),
    RejectedInput(arguments: ["--map-gid", "5:"], status: usageExit, mention: "--map-gid"),
    RejectedInput(arguments: ["--checksum", "md5"], status: usageExit, mention: "--checksum"),
    RejectedInput(arguments: ["--verify-mode", "sometimes"], status: usageExit, mention: "--verify-mode"),
    RejectedInput(arguments: ["--report-level", "everything"], status: usageExit, mention: "--report-level"),
    RejectedInput(arguments: ["--no-such-flag"], status: usageExit, mention: "--no-such-flag"),
    RejectedInput(arguments: ["--transfer-mode", "all", "--delete"], status: usageExit, mention: "--delete"),
    RejectedInput(arguments: ["--options", #"{"Uid": "NAME"}"#], status: usageExit, mention: "Uid"),
    RejectedInput(arguments: ["--options", #"{"Uid": "BOTH"}"#], status: usageExit, mention: "Uid"),
    RejectedInput(arguments: ["--options", #"{"Gid": "NAME"}"#], status: usageExit, mention: "Gid"),
    RejectedInput(arguments: ["--options", #"{"Gid": "BOTH"}"#], status: usageExit, mention: "Gid"),
    RejectedInput(arguments: ["--options", #"{"TransferMode": "ALL", "PreserveDeletedFiles": "REMOVE"}"#], status: usageExit, mention: "PreserveDeletedFiles"),
    RejectedInput(arguments: ["--options", #"{"Frobnicate": "YES"}"#], status: dataExit, mention: "Frobnicate"),
    RejectedInput(arguments: ["--options", #"{"VerifyMode": "SOMETIMES"}"#], status: dataExit, mention: "SOMETIMES"),
    RejectedInput(arguments: ["--options", #"{"BytesPerSecond": "fast"}"#], status: dataExit, mention: "BytesPerSecond"),
    RejectedInput(arguments: ["--options", #"{"VerifyMode": "NONE""#], status: dataExit, mention: "--options"),
    RejectedInput(arguments: ["--options", "[1, 2]"], status: dataExit, mention: "--options"),
]

@Suite struct BadInputTests {
    @Test(arguments: rejectedInputs)
    func inputRejected(_ input: RejectedInput) throws {
        try withCopyPair("bad-input", tree: smallTree) { pair in
            let reportPath = pair.scratch.path("report.json")
            let result = try pair.copy(input.arguments + ["--report", reportPath])

            #expect(result.status == input.status, "\(result)")
            let firstLine = result.standardError.split(separator: "\n").first ?? ""
            #expect(firstLine.hasPrefix("Error: "), "\(result)")
            #expect(firstLine.contains(input.mention), "\(result)")
            #expect(result.standardOutput.isEmpty, "\(result)")
            #expect(fileStatus(pair.destination) == nil, "the destination was created")
            #expect(fileStatus(reportPath) == nil, "a report was written")
        }
    }

    @Test func unsupportedOwnerModeGivesReason() throws {
        try withCopyPair("owner-name", tree: smallTree) { pair in
            let result = try pair.copy(["--options", #"{"Uid": "NAME", "Gid": "NAME"}"#])
            #expect(result.status == usageExit, "\(result)")
            #expect(result.standardError.contains("NAME"), "\(result)")
            #expect(result.standardError.contains("INT_VALUE"), "the error does not say what to use instead: \(result)")
        }
    }

    @Test func missingOptionsFileRejected() throws {
        try withCopyPair("options-missing", tree: smallTree) { pair in
            let missing = pair.scratch.path("no-such-options.json")
            let result = try pair.copy(["--options", "@" + missing])
            #expect(result.status == usageExit || result.status == dataExit, "\(result)")
            #expect(result.standardError.hasPrefix("Error: "), "\(result)")
            #expect(result.standardError.contains(missing), "\(result)")
            #expect(fileStatus(pair.destination) == nil, "the destination was created")
        }
    }

    @Test func missingArgumentsRejected() throws {
        for arguments in [["copy"], ["copy", "/tmp"], ["verify", "/tmp"]] {
            let result = try Syncd.run(arguments)
            #expect(result.status == usageExit, "\(arguments): \(result)")
            #expect(result.standardError.hasPrefix("Error: "), "\(arguments): \(result)")
        }
    }
}

// MARK: - Overlapping folders

enum Overlap: String, CaseIterable, Sendable {
    case same, destinationInside, destinationContainsSource, destinationLinksToSource, sourceLinksToDestinationParent
}

@Suite struct OverlapTests {
    @Test(arguments: Overlap.allCases)
    func overlapRejected(_ overlap: Overlap) throws {
        try withScratchFolder("overlap") { scratch in
            let tree = scratch.path("tree")
            let source = tree + "/source"
            try TreeBuilder.build([.folder("source", time, [.folder("inner", time, [.file("f", "x", time)])])], at: tree, rootAttributes: time)
            let reportPath = scratch.path("report.json")

            let arguments: (source: String, destination: String)
            let created: String?
            switch overlap {
            case .same:
                arguments = (source, source + "/")
                created = nil
            case .destinationInside:
                arguments = (source, source + "/inner/copy")
                created = source + "/inner/copy"
            case .destinationContainsSource:
                arguments = (source, tree)
                created = nil
            case .destinationLinksToSource:
                #expect(symlink(source, scratch.path("alias")) == 0)
                arguments = (source, scratch.path("alias"))
                created = nil
            case .sourceLinksToDestinationParent:
                #expect(symlink(tree, scratch.path("alias")) == 0)
                arguments = (scratch.path("alias"), source + "/inner/copy")
                created = source + "/inner/copy"
            }

            let before = try TreeSnapshot(of: tree)
            let result = try Syncd.run(["copy", arguments.source, arguments.destination, "--delete", "--report", reportPath])
            let after = try TreeSnapshot(of: tree)

            #expect(result.status == usageExit, "\(result)")
            #expect(result.standardError.hasPrefix("Error: "), "\(result)")
            #expect(before.changes(to: after) == [])
            if let created {
                #expect(fileStatus(created) == nil, "the destination was created")
            }
            #expect(fileStatus(reportPath) == nil, "a report was written")
        }
    }
}

// MARK: - Help

@Suite struct HelpTests {
    @Test(arguments: [["--help"], ["copy", "--help"], ["verify", "--help"], ["help", "copy"]])
    func helpHasSections(_ arguments: [String]) throws {
        let result = try Syncd.run(arguments)
        #expect(result.status == 0, "\(result)")
        for section in ["OVERVIEW:", "USAGE:", "OPTIONS:"] {
            #expect(result.standardOutput.contains("\n\(section)") || result.standardOutput.hasPrefix(section), "\(section) missing: \(result)")
        }
        #expect(result.standardError.isEmpty, "\(result)")
    }

    @Test func copyHelpListsEveryOption() throws {
        let result = try Syncd.run(["copy", "--help"])
        let options = [
            "--transfer-mode", "--verify-mode", "--overwrite", "--delete", "--owner", "--map-uid", "--map-gid",
            "--perms", "--mtime", "--atime", "--devices", "--include", "--exclude", "--bwlimit", "--checksum",
            "--workers", "--log-level", "--options", "--json", "--report", "--report-level", "--report-type",
            "--dry-run", "--progress",
        ]
        for option in options {
            #expect(result.standardOutput.contains(option), "\(option) missing from copy --help")
        }
    }
}
