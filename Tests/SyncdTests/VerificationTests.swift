import Foundation
import Glibc
import Testing
import TestSupport

// Verification by the real `syncd` binary: the three verify modes, `syncd verify`, both checksums,
// and files that change or vanish while they are copied.

private let time = Attributes(modificationTime: SampleTrees.commonTime)
private let verificationExit: Int32 = 26

/// A tree with one file worth corrupting, below a folder, and one file left alone.
private let verificationTree: [TreeEntry] = [
    .folder("sub", time, [
        .file("data", bytes: pseudoRandomBytes(count: 200_000, seed: 7), time),
    ]),
    .file("other", "other file\n", time),
]

/// Flips one byte of the file at `path` in place and puts back its access and modification
/// times, so that size and mtime still match the source and only the content differs.
func corruptByteKeepingTimes(_ path: String, at offset: Int64) throws {
    guard let before = fileStatus(path) else { throw SystemCallError("lstat", path: path) }
    let fd = open(path, O_RDWR | O_CLOEXEC)
    if fd < 0 { throw SystemCallError("open", path: path) }
    defer { close(fd) }

    var byte: UInt8 = 0
    if pread(fd, &byte, 1, off_t(offset)) != 1 { throw SystemCallError("pread", path: path) }
    byte ^= 0xFF
    if pwrite(fd, &byte, 1, off_t(offset)) != 1 { throw SystemCallError("pwrite", path: path) }
    var times = [before.st_atim, before.st_mtim]
    if futimens(fd, &times) != 0 { throw SystemCallError("futimens", path: path) }
}

/// Returns the lowercase hex SHA-256 of a file as `sha256sum` prints it.
func sha256sumOf(_ path: String) throws -> String {
    let result = try runProcess("/usr/bin/sha256sum", [path])
    guard result.status == 0, let digest = result.standardOutput.split(separator: " ").first else {
        throw SystemCallError("sha256sum: \(result)", path: path, code: EIO)
    }
    return String(digest)
}

@Suite struct VerifyModeTests {
    @Test(arguments: ["xxh128", "sha256"])
    func corruptionFoundOnlyByFullVerify(_ checksum: String) throws {
        try withCopyPair("verify-\(checksum)", tree: verificationTree) { pair in
            let reportPath = pair.scratch.path("first-report.json")
            let first = try pair.copy(["--checksum", checksum, "--report", reportPath, "--report-level", "successes-and-errors"])
            try expectReplicated(first, pair)

            // The report of the first run carries checksums of the requested algorithm.
            let report = try readTaskReport(reportPath)
            let dataEntry = reportEntries(report).first { $0["RelativePath"] as? String == "/sub/data" }
            #expect(dataEntry != nil, "no report entry for /sub/data: \(report)")
            let sourceChecksum = dataEntry?["SrcChecksum"] as? String
            let destinationChecksum = dataEntry?["DstChecksum"] as? String
            #expect(sourceChecksum?.count == (checksum == "sha256" ? 64 : 32), "\(String(describing: sourceChecksum))")
            #expect(sourceChecksum?.allSatisfy(\.isHexDigit) == true, "\(String(describing: sourceChecksum))")
            #expect(destinationChecksum == sourceChecksum)
            if checksum == "sha256" {
                #expect(sourceChecksum == (try sha256sumOf(pair.source + "/sub/data")))
            }

            let corrupted = pair.destination + "/sub/data"
            try corruptByteKeepingTimes(corrupted, at: 100_000)

            // Transferred-only verification and no verification never read an untransferred file.
            for mode in ["transferred", "none"] {
                let rerun = try pair.copy(["--verify-mode", mode, "--checksum", checksum])
                #expect(rerun.status == 0, "--verify-mode \(mode): \(rerun)")
            }

            // Full verification reads every file and names the corrupted one.
            let full = try pair.copy(["--verify-mode", "all", "--checksum", checksum, "--json"])
            #expect(full.status == verificationExit, "\(full)")
            #expect(full.standardError.split(separator: "\n").contains { $0.contains("/sub/data") }, "\(full)")
            let result = parseJSONObject(full.standardOutput)
            #expect(jsonInteger(result?["FilesTransferred"]) == 0, "\(full.standardOutput)")
            let failed = result?["FilesFailed"] as? [String: Any]
            #expect(jsonInteger(failed?["Verify"]) == 1, "\(full.standardOutput)")

            // `syncd verify` prints one line for the file and lists it in JSON.
            let verify = try Syncd.run(["verify", pair.source, pair.destination, "--checksum", checksum])
            #expect(verify.status == verificationExit, "\(verify)")
            let lines = verify.standardOutput.split(separator: "\n")
            #expect(lines.filter { $0.contains("/sub/data") }.count == 1, "\(verify)")
            #expect(lines.count == 1, "\(verify)")

            let verifyJSON = try Syncd.run(["verify", pair.source, pair.destination, "--checksum", checksum, "--json"])
            #expect(verifyJSON.status == verificationExit, "\(verifyJSON)")
            let differences = parseJSONArray(verifyJSON.standardOutput)
            #expect(differences?.count == 1, "\(verifyJSON.standardOutput)")
            #expect(differences?.first?["RelativePath"] as? String == "/sub/data", "\(verifyJSON.standardOutput)")
            if checksum == "sha256", let detail = differences?.first?["Detail"] as? String {
                #expect(detail.contains(try sha256sumOf(pair.source + "/sub/data")), "\(detail)")
                #expect(detail.contains(try sha256sumOf(corrupted)), "\(detail)")
            }

            // Rewriting all content repairs it, and then both ways of verifying agree.
            let repair = try pair.copy(["--transfer-mode", "all", "--checksum", checksum])
            try expectReplicated(repair, pair)
            let clean = try Syncd.run(["verify", pair.source, pair.destination, "--checksum", checksum])
            #expect(clean.status == 0, "\(clean)")
            #expect(clean.standardOutput.isEmpty, "\(clean)")
            let cleanJSON = try Syncd.run(["verify", pair.source, pair.destination, "--checksum", checksum, "--json"])
            #expect(cleanJSON.status == 0, "\(cleanJSON)")
            #expect(parseJSONArray(cleanJSON.standardOutput)?.isEmpty == true, "\(cleanJSON.standardOutput)")
            let fullAgain = try pair.copy(["--verify-mode", "all", "--checksum", checksum])
            #expect(fullAgain.status == 0, "\(fullAgain)")
        }
    }
}

@Suite struct SourceChangeTests {
    /// A writer appends to a large file while it is copied at a capped rate. The run must not
    /// count that file verified, but everything else must arrive, and a quiet second run converges.
    @Test func appendDuringCopyReported() throws {
        let rest: [TreeEntry] = [
            .folder("rest", time, [
                .file("a", bytes: pseudoRandomBytes(count: 50_000, seed: 1), time),
                .file("b", "small\n", time),
            ]),
        ]
        try withCopyPair("changed-during-copy", tree: rest) { pair in
            let big = pair.source + "/big"
            try writeDenseFile(big, size: 96 << 20)
            let reportPath = pair.scratch.path("report.json")

            let copy = try Syncd.start([
                "copy", pair.source, pair.destination, "--bwlimit", "48M", "--json",
                "--report", reportPath, "--report-level", "successes-and-errors",
            ])
            let writer = try startProcess("/bin/sh", [
                "-c", "while :; do head -c 4096 /dev/urandom >> \"$1\"; sleep 0.05; done", "sh", big,
            ])
            let result = copy.wait()
            writer.send(SIGTERM)
            _ = writer.wait()

            #expect(result.status == SyncdExit.changedDuringCopy, "\(result)")
            let json = parseJSONObject(result.standardOutput)
            #expect(jsonInteger(json?["FilesVerified"]) == 2, "\(result.standardOutput)")

            let report = try readTaskReport(reportPath)
            let bigEntry = reportEntries(report).first { $0["RelativePath"] as? String == "/big" }
            #expect(bigEntry?["TransferStatus"] as? String == "CHANGED_DURING_TRANSFER", "\(String(describing: bigEntry))")

            var options = ComparisonOptions()
            options.ignoredPaths = [Array("big".utf8)]
            #expect(try TreeComparator.differences(source: pair.source, destination: pair.destination, options: options) == [])

            let second = try pair.copy()
            try expectReplicated(second, pair)
        }
    }

    @Test func fileDeletedDuringCopyVanishes() throws {
        let rest: [TreeEntry] = [.file("kept", "kept\n", time)]
        try withCopyPair("vanished-during-copy", tree: rest) { pair in
            let doomed = pair.source + "/doomed"
            try writeDenseFile(doomed, size: 40 << 20)

            let copy = try Syncd.start(["copy", pair.source, pair.destination, "--bwlimit", "40M", "--json"])
            let copyStarted = waitUntil(seconds: 10) { folderHoldsFileData(pair.destination, minimumBytes: 1 << 20) }
            #expect(copyStarted, "no destination file grew past 1 MiB")
            #expect(unlink(doomed) == 0)
            let result = copy.wait()

            #expect(result.status == SyncdExit.sourceVanished, "\(result)")
            #expect(result.standardError.contains("/doomed"), "\(result)")
            #expect(fileStatus(pair.destination + "/kept") != nil)
        }
    }
}
