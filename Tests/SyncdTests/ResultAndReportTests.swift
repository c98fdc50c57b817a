import Foundation
import Glibc
import Testing
import TestSupport

// The `--json` result and the `--report` task report of `syncd copy`, field by field, on trees
// whose sizes, counts and failures are known in advance.

private let time = Attributes(modificationTime: SampleTrees.commonTime)

// MARK: - JSON helpers

/// Parses `text` as one JSON array of objects, or returns nil.
func parseJSONArray(_ text: String) -> [[String: Any]]? {
    guard let data = text.data(using: .utf8) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]]
}

/// Lists every object key of a JSON text in document order, each as its path of keys from the
/// outermost object (arrays add nothing to the path). `JSONSerialization` loses key order, so the
/// order a writer chose can only be checked on the text.
func jsonKeyPaths(_ text: String) -> [[String]] {
    let bytes = Array(text.utf8)
    var paths: [[String]] = []
    var openingKeys: [String?] = []
    var lastKey: String? = nil
    var index = 0
    while index < bytes.count {
        switch bytes[index] {
        case UInt8(ascii: "\""):
            var end = index + 1
            while end < bytes.count && bytes[end] != UInt8(ascii: "\"") {
                end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1
            }
            let string = String(decoding: bytes[(index + 1)..<min(end, bytes.count)], as: UTF8.self)
            var next = end + 1
            while next < bytes.count && [0x20, 0x0A, 0x0D, 0x09].contains(bytes[next]) {
                next += 1
            }
            if next < bytes.count && bytes[next] == UInt8(ascii: ":") {
                paths.append(openingKeys.compactMap { $0 } + [string])
                lastKey = string
            }
            index = end + 1
            continue
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            openingKeys.append(lastKey)
            lastKey = nil
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            if !openingKeys.isEmpty { openingKeys.removeLast() }
            lastKey = nil
        default:
            break
        }
        index += 1
    }
    return paths
}

/// Returns the keys directly inside the object at `parent` (empty for the outermost object).
func jsonKeys(_ text: String, under parent: [String] = []) -> [String] {
    jsonKeyPaths(text).filter { $0.count == parent.count + 1 && Array($0.dropLast()) == parent }.map { $0.last! }
}

/// Parses DataSync's timestamps, such as `2024-05-01T12:00:00.123Z`, with or without a fraction.
func parseISO8601(_ value: Any?) -> Date? {
    guard let text = value as? String else { return nil }
    let withFraction = ISO8601DateFormatter()
    withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return withFraction.date(from: text) ?? ISO8601DateFormatter().date(from: text)
}

func readTaskReport(_ path: String) throws -> [String: Any] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    guard let report = parseJSONObject(text) else {
        throw SystemCallError("parse task report as JSON: \(text)", path: path, code: EINVAL)
    }
    return report
}

func reportEntries(_ report: [String: Any]) -> [[String: Any]] {
    report["Entries"] as? [[String: Any]] ?? []
}

private let topLevelKeys = [
    "Status", "StartTime", "EndTime", "Options", "EstimatedFilesToTransfer", "EstimatedBytesToTransfer",
    "EstimatedFilesToDelete", "FilesTransferred", "BytesWritten", "BytesTransferred", "FilesDeleted",
    "FilesSkipped", "FilesVerified", "FilesFailed", "Result",
]
private let failedKeys = ["Prepare", "Transfer", "Verify", "Delete"]
private let resultKeys = [
    "PrepareDuration", "PrepareStatus", "TotalDuration", "TransferDuration", "TransferStatus",
    "VerifyDuration", "VerifyStatus",
]

// MARK: - Result

/// Three regular files (one sparse, with two 4 KiB extents), a folder and a symlink.
private let resultTree: [TreeEntry] = [
    .file("a", bytes: pseudoRandomBytes(count: 1_000, seed: 2), time),
    .folder("sub", Attributes(mode: 0o755, modificationTime: SampleTrees.commonTime), [
        .file("b", bytes: pseudoRandomBytes(count: 5_000, seed: 3), time),
    ]),
    .sparseFile("sparse", size: 4 << 20, extents: [
        Extent(offset: 0, bytes: pseudoRandomBytes(count: 4096, seed: 4)),
        Extent(offset: 1 << 20, bytes: pseudoRandomBytes(count: 4096, seed: 5)),
    ], time),
    .symlink("link", to: "a", time),
]
private let resultTreeEntryCount: Int64 = 6
private let resultTreeLogicalBytes: Int64 = 1_000 + 5_000 + (4 << 20)
private let resultTreeDataBytes: Int64 = 1_000 + 5_000 + 8_192

@Suite struct ResultFieldTests {
    @Test func firstRunFieldsAndOrder() throws {
        try withCopyPair("result-fields", tree: resultTree) { pair in
            let result = try pair.copy(["--json"])
            try expectReplicated(result, pair)
            let text = result.standardOutput

            #expect(jsonKeys(text) == topLevelKeys, "\(text)")
            #expect(jsonKeys(text, under: ["FilesFailed"]) == failedKeys, "\(text)")
            #expect(jsonKeys(text, under: ["Result"]) == resultKeys, "\(text)")

            let json = try #require(parseJSONObject(text), "\(text)")
            #expect(json["Status"] as? String == "SUCCESS")
            #expect(jsonInteger(json["EstimatedFilesToTransfer"]) == resultTreeEntryCount, "\(text)")
            #expect(jsonInteger(json["EstimatedBytesToTransfer"]) == resultTreeLogicalBytes, "\(text)")
            #expect(jsonInteger(json["EstimatedFilesToDelete"]) == 0, "\(text)")
            #expect(jsonInteger(json["FilesTransferred"]) == resultTreeEntryCount, "\(text)")
            #expect(jsonInteger(json["BytesWritten"]) == resultTreeDataBytes, "\(text)")
            #expect(jsonInteger(json["BytesTransferred"]) == resultTreeDataBytes, "\(text)")
            #expect(jsonInteger(json["FilesDeleted"]) == 0, "\(text)")
            #expect(jsonInteger(json["FilesSkipped"]) == 0, "\(text)")
            #expect(jsonInteger(json["FilesVerified"]) == 3, "\(text)")
            let failed = json["FilesFailed"] as? [String: Any] ?? [:]
            for key in failedKeys {
                #expect(jsonInteger(failed[key]) == 0, "FilesFailed.\(key): \(text)")
            }

            let start = parseISO8601(json["StartTime"])
            let end = parseISO8601(json["EndTime"])
            #expect(start != nil, "StartTime: \(String(describing: json["StartTime"]))")
            #expect(end != nil, "EndTime: \(String(describing: json["EndTime"]))")
            if let start, let end {
                #expect(end >= start)
                #expect(abs(start.timeIntervalSinceNow) < 600, "StartTime is not this run's: \(start)")
            }

            // Phases overlap, so only each duration's sign and type are fixed.
            let outcome = json["Result"] as? [String: Any] ?? [:]
            for key in ["PrepareDuration", "TotalDuration", "TransferDuration", "VerifyDuration"] {
                let duration = jsonInteger(outcome[key])
                #expect(duration != nil, "Result.\(key): \(text)")
                #expect((duration ?? -1) >= 0, "Result.\(key): \(text)")
            }
            for key in ["PrepareStatus", "TransferStatus", "VerifyStatus"] {
                #expect(outcome[key] as? String == "SUCCESS", "Result.\(key): \(text)")
            }
            #expect(outcome["ErrorCode"] == nil)
            #expect(outcome["ErrorDetail"] == nil)
        }
    }

    @Test func deletionsCounted() throws {
        try withCopyPair("result-deleted", tree: resultTree) { pair in
            try expectReplicated(try pair.copy(), pair)
            #expect(unlink(pair.source + "/a") == 0)
            #expect(unlink(pair.source + "/sub/b") == 0)

            let result = try pair.copy(["--delete", "--json"])
            try expectReplicated(result, pair)
            let json = parseJSONObject(result.standardOutput)
            #expect(jsonInteger(json?["FilesDeleted"]) == 2, "\(result.standardOutput)")
            #expect(jsonInteger(json?["EstimatedFilesToDelete"]) == 2, "\(result.standardOutput)")
            #expect(jsonInteger(json?["BytesWritten"]) == 0, "\(result.standardOutput)")
        }
    }

    @Test func overwriteNeverCountsSkipped() throws {
        try withCopyPair("result-skipped", tree: resultTree) { pair in
            try expectReplicated(try pair.copy(), pair)
            let kept = try Data(contentsOf: URL(fileURLWithPath: pair.destination + "/a"))
            try runShell("printf 'changed in the source' > \"$1\"", [pair.source + "/a"])

            let result = try pair.copy(["--overwrite", "never", "--json"])
            #expect(result.status == 0, "\(result)")
            let json = parseJSONObject(result.standardOutput)
            #expect(jsonInteger(json?["FilesSkipped"]) == 1, "\(result.standardOutput)")
            #expect(jsonInteger(json?["FilesTransferred"]) == 0, "\(result.standardOutput)")
            #expect(jsonInteger(json?["BytesWritten"]) == 0, "\(result.standardOutput)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: pair.destination + "/a")) == kept)
        }
    }
}

// MARK: - Report

/// A tree with a folder, a symlink, a name that contains a newline and one with a backslash.
private let reportTree: [TreeEntry] = [
    .file("a", bytes: pseudoRandomBytes(count: 3_000, seed: 9), Attributes(mode: 0o640, modificationTime: SampleTrees.commonTime)),
    .folder("sub", Attributes(mode: 0o755, modificationTime: SampleTrees.commonTime), [
        .file("new\nline", "odd name\n", time),
        .file("back\\slash", "odd name\n", time),
    ]),
    .symlink("link", to: "a", time),
]

/// Returns the `RelativePath` a report gives a source path: the name bytes rendered as
/// `escapedPath` does, without its quotes, because JSON strings cannot carry invalid UTF-8.
/// A backslash is doubled, so two different names never share a rendering.
func reportedPath(_ relativePath: String) -> String {
    String(escapedPath(Array(relativePath.utf8)).dropFirst().dropLast())
}

/// Source paths on disk keyed by their `RelativePath` in the report of `reportTree`.
private let reportTreePaths: [String: String] = Dictionary(uniqueKeysWithValues: [
    "/", "/a", "/sub", "/sub/new\nline", "/sub/back\\slash", "/link",
].map { (reportedPath($0), $0) })

/// Returns the lines of the report text between `"Entries": [` and its closing `]`.
private func entryLines(_ text: String) -> [Substring] {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard let start = lines.firstIndex(where: { $0.contains("\"Entries\"") }) else { return [] }
    if lines[start].hasSuffix("[]") || lines[start].hasSuffix("[ ]") { return [] }
    guard let end = lines[(start + 1)...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("]") }) else {
        return []
    }
    return Array(lines[(start + 1)..<end])
}

/// Checks that each entry sits on its own line as one complete JSON object.
private func expectOneEntryPerLine(_ text: String, count: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    let lines = entryLines(text)
    #expect(lines.count == count, "\(text)", sourceLocation: sourceLocation)
    for line in lines {
        var trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix(",") { trimmed.removeLast() }
        #expect(parseJSONObject(trimmed) != nil, "entry line is not one JSON object: \(line)", sourceLocation: sourceLocation)
    }
}

private func typeName(_ status: stat) -> String {
    switch status.st_mode & 0o170000 {
    case 0o040000: return "Directory"
    case 0o120000: return "SymbolicLink"
    default: return "File"
    }
}

/// Returns the path on disk of a source path that starts with `/`.
private func diskPath(_ root: String, _ relativePath: String) -> String {
    relativePath == "/" ? root : root + relativePath
}

@Suite struct TaskReportTests {
    @Test func standardReportFields() throws {
        try withCopyPair("report-standard", tree: reportTree) { pair in
            let reportPath = pair.scratch.path("report.json")
            let result = try pair.copy(["--json", "--report", reportPath, "--report-type", "standard", "--report-level", "successes-and-errors"])
            try expectReplicated(result, pair)

            let text = try String(contentsOfFile: reportPath, encoding: .utf8)
            let report = try readTaskReport(reportPath)
            #expect(report["ReportType"] as? String == "STANDARD")
            #expect(report["ReportLevel"] as? String == "SUCCESSES_AND_ERRORS")
            let summary = report["Summary"] as? [String: Any]
            let stdoutResult = parseJSONObject(result.standardOutput)
            #expect(summary.map { NSDictionary(dictionary: $0) } == stdoutResult.map { NSDictionary(dictionary: $0) },
                    "the report's Summary differs from the --json result")

            // Every transferred entry is listed, folders included, because FilesTransferred counts folders too.
            let entries = reportEntries(report)
            let paths = Set(entries.compactMap { $0["RelativePath"] as? String })
            #expect(paths == Set(reportTreePaths.keys), "\(text)")
            #expect(Int64(entries.count) == jsonInteger(stdoutResult?["FilesTransferred"]), "\(text)")
            expectOneEntryPerLine(text, count: entries.count)

            for entry in entries {
                let path = entry["RelativePath"] as? String ?? "?"
                #expect(entry["TransferType"] is String, "\(path): \(entry)")
                #expect(entry["TransferStatus"] as? String == "SUCCESS", "\(path): \(entry)")
                #expect(entry["FailureReason"] == nil, "\(path): \(entry)")

                let metadata = entry["SrcMetadata"] as? [String: Any] ?? [:]
                #expect(Set(metadata.keys).isSuperset(of: ["Type", "ContentSize", "Mtime", "Atime", "Uid", "Gid", "Mode"]), "\(path): \(entry)")
                guard let sourcePath = reportTreePaths[path], let status = fileStatus(diskPath(pair.source, sourcePath)) else {
                    Issue.record("\(path) is not in the source")
                    continue
                }
                #expect(metadata["Type"] as? String == typeName(status), "\(path): \(entry)")
                #expect(jsonInteger(metadata["Uid"]) == Int64(status.st_uid), "\(path): \(entry)")
                #expect(jsonInteger(metadata["Gid"]) == Int64(status.st_gid), "\(path): \(entry)")
                let mode = (metadata["Mode"] as? String).flatMap { UInt32($0, radix: 8) }
                #expect(mode == UInt32(status.st_mode & 0o7777), "\(path): \(entry)")
                #expect(parseISO8601(metadata["Atime"]) != nil, "\(path): \(entry)")
                let mtime = parseISO8601(metadata["Mtime"])
                let expectedMtime = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
                #expect(mtime.map { abs($0.timeIntervalSince1970 - expectedMtime) < 0.001 } == true, "\(path): \(entry)")

                if typeName(status) == "File" {
                    #expect(jsonInteger(metadata["ContentSize"]) == Int64(status.st_size), "\(path): \(entry)")
                    let sourceChecksum = entry["SrcChecksum"] as? String
                    #expect(sourceChecksum?.count == 32, "\(path): \(entry)")
                    #expect(entry["DstChecksum"] as? String == sourceChecksum, "\(path): \(entry)")
                }
            }
        }
    }

    @Test func summaryOnlyHasNoEntries() throws {
        try withCopyPair("report-summary", tree: reportTree) { pair in
            let reportPath = pair.scratch.path("report.json")
            let result = try pair.copy(["--report", reportPath, "--report-type", "summary-only", "--report-level", "successes-and-errors"])
            try expectReplicated(result, pair)

            let report = try readTaskReport(reportPath)
            #expect(report["ReportType"] as? String == "SUMMARY_ONLY")
            #expect(reportEntries(report).isEmpty, "\(report)")
            let summary = report["Summary"] as? [String: Any]
            #expect(summary?["Status"] as? String == "SUCCESS")
            #expect(jsonInteger(summary?["FilesTransferred"]) == 6)
        }
    }

    /// Checks that files the copying user cannot read fail. Root reads every file, so as root the
    /// run drops to user 65534 with `setpriv`.
    @Test(arguments: ["errors-only", "successes-and-errors"])
    func failuresReported(_ level: String) throws {
        let tree: [TreeEntry] = [
            .file("ok", "readable\n", Attributes(mode: 0o644, modificationTime: SampleTrees.commonTime)),
            .file("locked", "secret\n", Attributes(mode: 0o000, modificationTime: SampleTrees.commonTime)),
            .folder("sub", Attributes(mode: 0o755, modificationTime: SampleTrees.commonTime), [
                .file("bad\nname", "secret\n", Attributes(mode: 0o000, modificationTime: SampleTrees.commonTime)),
            ]),
        ]
        try withCopyPair("report-failures", tree: tree) { pair in
            let output = pair.scratch.path("output")
            #expect(mkdir(output, 0o755) == 0)
            let destination = output + "/destination"
            let reportPath = output + "/report.json"
            let copyArguments = ["copy", pair.source, destination, "--json", "--report", reportPath, "--report-level", level]

            let result: ProcessResult
            if runningAsRoot {
                #expect(chmod(pair.scratch.path, 0o755) == 0)
                #expect(chown(output, 65534, 65534) == 0)
                result = try runProcess("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Syncd.binaryPath] + copyArguments)
            } else {
                result = try Syncd.run(copyArguments)
            }
            #expect(result.status == SyncdExit.someEntriesFailed, "\(result)")
            #expect(fileStatus(destination + "/ok") != nil, "the readable file was not copied: \(result)")

            let outcome = parseJSONObject(result.standardOutput)?["Result"] as? [String: Any]
            #expect(jsonKeys(result.standardOutput, under: ["Result"]) == resultKeys + ["ErrorCode", "ErrorDetail"], "\(result.standardOutput)")
            #expect((outcome?["ErrorCode"] as? String)?.isEmpty == false, "\(result.standardOutput)")
            #expect((outcome?["ErrorDetail"] as? String)?.isEmpty == false, "\(result.standardOutput)")
            #expect(outcome?["TransferStatus"] as? String == "ERROR", "\(result.standardOutput)")

            let text = try String(contentsOfFile: reportPath, encoding: .utf8)
            let report = try readTaskReport(reportPath)
            let entries = reportEntries(report)
            expectOneEntryPerLine(text, count: entries.count)

            let failures = entries.filter { $0["TransferStatus"] as? String == "FAILED" }
            #expect(Set(failures.compactMap { $0["RelativePath"] as? String }) == [reportedPath("/locked"), reportedPath("/sub/bad\nname")], "\(text)")
            for failure in failures {
                #expect((failure["FailureReason"] as? String)?.isEmpty == false, "\(failure)")
                #expect((failure["SrcMetadata"] as? [String: Any])?["Mode"] != nil, "\(failure)")
            }

            let successes = entries.filter { $0["TransferStatus"] as? String != "FAILED" }
            if level == "errors-only" {
                #expect(successes.isEmpty, "\(text)")
                #expect(report["ReportLevel"] as? String == "ERRORS_ONLY")
            } else {
                #expect(successes.contains { $0["RelativePath"] as? String == "/ok" }, "\(text)")
                #expect(report["ReportLevel"] as? String == "SUCCESSES_AND_ERRORS")
            }
        }
    }
}
