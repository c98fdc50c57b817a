import Foundation
import Glibc
import Testing
import TestSupport

// Task options given to the `syncd` binary as flags, as DataSync's Options JSON (inline or from
// a file) and both together. Each is checked in the result's `Options` object and in what the run
// does. The bandwidth limit is measured.

private let time = Attributes(modificationTime: SampleTrees.commonTime)
private let smallTree: [TreeEntry] = [
    .file("a", "alpha\n", time),
    .folder("sub", Attributes(mode: 0o755, modificationTime: SampleTrees.commonTime), [.file("b", "beta\n", time)]),
]

/// One flag and the `Options` field it must set.
struct FlagCase: Sendable, CustomStringConvertible {
    var arguments: [String]
    var field: String
    var value: String

    var description: String { arguments.joined(separator: " ") }
}

private let flagCases: [FlagCase] = [
    FlagCase(arguments: ["--verify-mode", "all"], field: "VerifyMode", value: "POINT_IN_TIME_CONSISTENT"),
    FlagCase(arguments: ["--verify-mode", "none"], field: "VerifyMode", value: "NONE"),
    FlagCase(arguments: ["--verify-mode", "transferred"], field: "VerifyMode", value: "ONLY_FILES_TRANSFERRED"),
    FlagCase(arguments: ["--transfer-mode", "all"], field: "TransferMode", value: "ALL"),
    FlagCase(arguments: ["--overwrite", "never"], field: "OverwriteMode", value: "NEVER"),
    FlagCase(arguments: ["--delete"], field: "PreserveDeletedFiles", value: "REMOVE"),
    FlagCase(arguments: ["--devices"], field: "PreserveDevices", value: "PRESERVE"),
    FlagCase(arguments: ["--perms", "none"], field: "PosixPermissions", value: "NONE"),
    FlagCase(arguments: ["--mtime", "none"], field: "Mtime", value: "NONE"),
    FlagCase(arguments: ["--atime", "none"], field: "Atime", value: "NONE"),
    FlagCase(arguments: ["--owner", "none"], field: "Uid", value: "NONE"),
    FlagCase(arguments: ["--owner", "none"], field: "Gid", value: "NONE"),
    FlagCase(arguments: ["--log-level", "transfer"], field: "LogLevel", value: "TRANSFER"),
    FlagCase(arguments: ["--log-level", "off"], field: "LogLevel", value: "OFF"),
    FlagCase(arguments: ["--bwlimit", "1G"], field: "BytesPerSecond", value: "1073741824"),
    FlagCase(arguments: ["--bwlimit", "512K"], field: "BytesPerSecond", value: "524288"),
    FlagCase(arguments: [], field: "BytesPerSecond", value: "-1"),
    FlagCase(arguments: [], field: "VerifyMode", value: "ONLY_FILES_TRANSFERRED"),
    FlagCase(arguments: [], field: "TransferMode", value: "CHANGED"),
    FlagCase(arguments: ["--options", #"{"VerifyMode": "NONE", "OverwriteMode": "NEVER"}"#], field: "OverwriteMode", value: "NEVER"),
    FlagCase(arguments: ["--options", #"{"BytesPerSecond": 2097152}"#], field: "BytesPerSecond", value: "2097152"),
    FlagCase(arguments: ["--options", #"{"Uid": "NONE", "Gid": "NONE"}"#], field: "Gid", value: "NONE"),
    FlagCase(arguments: ["--options", #"{"VerifyMode": "NONE"}"#, "--verify-mode", "all"], field: "VerifyMode", value: "POINT_IN_TIME_CONSISTENT"),
    FlagCase(arguments: ["--verify-mode", "all", "--options", #"{"VerifyMode": "NONE"}"#], field: "VerifyMode", value: "POINT_IN_TIME_CONSISTENT"),
    FlagCase(arguments: ["--bwlimit", "1M", "--options", #"{"BytesPerSecond": 2097152}"#], field: "BytesPerSecond", value: "1048576"),
]

private func optionText(_ value: Any?) -> String? {
    if let string = value as? String { return string }
    return jsonInteger(value).map { String($0) }
}

@Suite struct OptionsObjectTests {
    @Test(arguments: flagCases)
    func flagShownInOptions(_ flagCase: FlagCase) throws {
        try withCopyPair("options-flag", tree: smallTree) { pair in
            let result = try pair.copy(flagCase.arguments + ["--json"])
            #expect(result.status == 0, "\(result)")
            let options = parseJSONObject(result.standardOutput)?["Options"] as? [String: Any]
            #expect(optionText(options?[flagCase.field]) == flagCase.value, "\(result.standardOutput)")
        }
    }

    /// The same Options object inline and from a file both reach the run: no verification,
    /// no overwrite, and removal of extra destination entries.
    @Test(arguments: [false, true])
    func optionsJSONObeyed(_ fromFile: Bool) throws {
        try withCopyPair("options-json", tree: smallTree) { pair in
            try expectReplicated(try pair.copy(), pair)
            try runShell("printf 'newer content' > \"$1/a\"; printf extra > \"$2/extra\"", [pair.source, pair.destination])

            let object = #"{"VerifyMode": "NONE", "OverwriteMode": "NEVER", "PreserveDeletedFiles": "REMOVE"}"#
            var argument = object
            if fromFile {
                let path = pair.scratch.path("options.json")
                try object.write(toFile: path, atomically: true, encoding: .utf8)
                argument = "@" + path
            }
            let result = try pair.copy(["--options", argument, "--json"])
            #expect(result.status == 0, "\(result)")

            let json = parseJSONObject(result.standardOutput)
            let options = json?["Options"] as? [String: Any]
            #expect(options?["VerifyMode"] as? String == "NONE", "\(result.standardOutput)")
            #expect(options?["OverwriteMode"] as? String == "NEVER", "\(result.standardOutput)")
            #expect(options?["PreserveDeletedFiles"] as? String == "REMOVE", "\(result.standardOutput)")
            #expect(jsonInteger(json?["FilesVerified"]) == 0, "\(result.standardOutput)")
            #expect(jsonInteger(json?["FilesDeleted"]) == 1, "\(result.standardOutput)")
            #expect(fileStatus(pair.destination + "/extra") == nil)
            #expect(try String(contentsOfFile: pair.destination + "/a", encoding: .utf8) == "alpha\n")
        }
    }

    @Test func explicitFlagBeatsOptionsFile() throws {
        try withCopyPair("options-precedence", tree: smallTree) { pair in
            let path = pair.scratch.path("options.json")
            try #"{"VerifyMode": "NONE", "Mtime": "NONE"}"#.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try pair.copy(["--options", "@" + path, "--verify-mode", "transferred", "--json"])
            #expect(result.status == 0, "\(result)")

            let json = parseJSONObject(result.standardOutput)
            let options = json?["Options"] as? [String: Any]
            #expect(options?["VerifyMode"] as? String == "ONLY_FILES_TRANSFERRED", "\(result.standardOutput)")
            #expect(options?["Mtime"] as? String == "NONE", "\(result.standardOutput)")
            #expect(jsonInteger(json?["FilesVerified"]) == 2, "\(result.standardOutput)")
        }
    }
}

// MARK: - Bandwidth

/// Copies `megabytes` MiB at `limit` bytes per second and returns the average rate measured from
/// outside (bytes over the process's lifetime, start-up included) and the one over the transfer
/// phase that the result reports.
private func measuredRates(label: String, megabytes: Int, arguments: [String]) throws -> (outside: Double, reported: Double?) {
    try withScratchFolder(label) { scratch in
        let source = scratch.path("source")
        #expect(mkdir(source, 0o755) == 0)
        let fileCount = 4
        for index in 0..<fileCount {
            try writeDenseFile(source + "/file-\(index)", size: (megabytes << 20) / fileCount)
        }

        let started = Date()
        let result = try Syncd.run(["copy", source, scratch.path("destination"), "--json"] + arguments)
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result)")

        let json = parseJSONObject(result.standardOutput)
        let bytes = Double(megabytes << 20)
        #expect(jsonInteger(json?["BytesTransferred"]) == Int64(megabytes << 20), "\(result.standardOutput)")
        let transferMilliseconds = jsonInteger((json?["Result"] as? [String: Any])?["TransferDuration"])
        let reported = transferMilliseconds.map { bytes / (Double($0) / 1000) }
        return (bytes / elapsed, reported)
    }
}

/// Benchmark-style checks: the average rate over a whole run, never a wall time.
@Suite struct BandwidthLimitTests {
    @Test func bwlimitFlagHoldsAverage() throws {
        let limit = Double(20 << 20)
        let rates = try measuredRates(label: "bwlimit-flag", megabytes: 200, arguments: ["--bwlimit", "20M"])
        // From outside, process start-up and the walk slow the average down, so only the cap is checked.
        #expect(rates.outside <= limit * 1.1, "measured \(rates.outside / 1_048_576) MiB/s for a 20 MiB/s limit")
        if let reported = rates.reported {
            #expect(abs(reported - limit) <= limit * 0.1, "result shows \(reported / 1_048_576) MiB/s for a 20 MiB/s limit")
        }
    }

    @Test func bytesPerSecondOptionHoldsAverage() throws {
        let limit = 16 << 20
        let rates = try measuredRates(label: "bwlimit-options", megabytes: 64, arguments: ["--options", "{\"BytesPerSecond\": \(limit)}"])
        let expected = Double(limit)
        #expect(rates.outside <= expected * 1.1, "measured \(rates.outside / 1_048_576) MiB/s for a 16 MiB/s limit")
        if let reported = rates.reported {
            #expect(abs(reported - expected) <= expected * 0.1, "result shows \(reported / 1_048_576) MiB/s for a 16 MiB/s limit")
        }
    }
}
