import Foundation
import Glibc
import Testing
import TestSupport

// Helpers that run the real `syncd copy` binary and judge its result with the tree comparator
// and the rsync dry run.

let runningAsRoot = getuid() == 0

/// Exit codes of `syncd`, as its README documents them.
enum SyncdExit {
    static let success: Int32 = 0
    static let someEntriesFailed: Int32 = 23
    static let sourceVanished: Int32 = 24
    static let changedDuringCopy: Int32 = 25
    static let verificationMismatch: Int32 = 26
}

/// A source and a destination path inside one scratch folder.
struct CopyPair {
    let scratch: ScratchFolder
    var source: String { scratch.path("source") }
    var destination: String { scratch.path("destination") }

    func copy(_ extraArguments: [String] = []) throws -> ProcessResult {
        try Syncd.run(["copy", source, destination] + extraArguments)
    }
}

/// Runs `body` with a fresh source/destination pair whose source is built from `tree`.
func withCopyPair(
    _ label: String,
    tree: [TreeEntry],
    rootAttributes: Attributes = Attributes(mode: 0o755, modificationTime: SampleTrees.commonTime),
    _ body: (CopyPair) throws -> Void
) throws {
    try withScratchFolder(label) { scratch in
        let pair = CopyPair(scratch: scratch)
        try TreeBuilder.build(tree, at: pair.source, rootAttributes: rootAttributes)
        try body(pair)
    }
}

/// Checks that a run exited with `expectedStatus` and that the destination equals the source
/// by the comparator and, when `rsyncArguments` is not nil, by the rsync dry run.
func expectReplicated(
    _ result: ProcessResult,
    _ pair: CopyPair,
    expectedStatus: Int32 = SyncdExit.success,
    options: ComparisonOptions = ComparisonOptions(),
    rsyncArguments: [String]? = [],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    #expect(!result.killedBySignal, "\(result)", sourceLocation: sourceLocation)
    #expect(result.status == expectedStatus, "\(result)", sourceLocation: sourceLocation)

    let differences = try TreeComparator.differences(source: pair.source, destination: pair.destination, options: options)
    #expect(differences == [], sourceLocation: sourceLocation)

    if let rsyncArguments, Rsync.isAvailable {
        let rsyncOutput = try Rsync.differences(source: pair.source, destination: pair.destination, extraArguments: rsyncArguments)
        #expect(rsyncOutput == "", sourceLocation: sourceLocation)
    }
}

/// Runs the copy again and checks that it changed nothing: every destination entry keeps its
/// inode and ctime, and the JSON result counts nothing transferred, written or deleted.
func expectSecondRunChangesNothing(
    _ pair: CopyPair,
    _ extraArguments: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let before = try TreeSnapshot(of: pair.destination)
    let result = try pair.copy(extraArguments + ["--json"])
    let after = try TreeSnapshot(of: pair.destination)

    #expect(!result.killedBySignal, "\(result)", sourceLocation: sourceLocation)
    #expect(result.status == SyncdExit.success, "\(result)", sourceLocation: sourceLocation)
    #expect(before.changes(to: after) == [], sourceLocation: sourceLocation)

    let json = parseJSONObject(result.standardOutput)
    #expect(json != nil, "the --json output is not a JSON object: \(result.standardOutput)", sourceLocation: sourceLocation)
    if let json {
        #expect(jsonInteger(json["FilesTransferred"]) == 0, "\(result.standardOutput)", sourceLocation: sourceLocation)
        #expect(jsonInteger(json["BytesWritten"]) == 0, "\(result.standardOutput)", sourceLocation: sourceLocation)
        #expect(jsonInteger(json["FilesDeleted"]) == 0, "\(result.standardOutput)", sourceLocation: sourceLocation)
    }
}

/// Parses `text` as one JSON object, or returns nil.
func parseJSONObject(_ text: String) -> [String: Any]? {
    guard let data = text.data(using: .utf8) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

func jsonInteger(_ value: Any?) -> Int64? {
    (value as? NSNumber)?.int64Value
}

/// Returns every JSON object nested anywhere in `value` (arrays and objects are searched).
func nestedJSONObjects(_ value: Any) -> [[String: Any]] {
    if let object = value as? [String: Any] {
        return [object] + object.values.flatMap(nestedJSONObjects)
    }
    if let array = value as? [Any] {
        return array.flatMap(nestedJSONObjects)
    }
    return []
}

/// Runs a shell script with `arguments` as `$1`, `$2` ...; the script stops at its first error.
@discardableResult
func runShell(_ script: String, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
    let result = try runProcess("/bin/sh", ["-e", "-c", script, "sh"] + arguments)
    #expect(result.status == 0, "shell step failed: \(script)\n\(result)", sourceLocation: sourceLocation)
    return result
}

/// Reads the status of a path without following a final symlink.
func fileStatus(_ path: String) -> stat? {
    var status = stat()
    return lstat(path, &status) == 0 ? status : nil
}

/// Waits until `condition` holds, checking every few milliseconds, for at most `seconds`.
func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}

/// Returns true when any regular file below `root` (not following symlinks) has a size or an
/// allocation of at least `minimumBytes`, which shows that a copy of that size is under way.
func folderHoldsFileData(_ root: String, minimumBytes: Int = 1) -> Bool {
    guard let enumerator = FileManager.default.enumerator(atPath: root) else { return false }
    for case let relative as String in enumerator {
        guard let status = fileStatus(root + "/" + relative), status.st_mode & 0o170000 == 0o100000 else { continue }
        if status.st_size >= minimumBytes || status.st_blocks * 512 >= minimumBytes {
            return true
        }
    }
    return false
}

/// Dense, non-repeating bytes, so that neither zero detection nor compression hides a bad copy.
func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    var bytes = [UInt8](repeating: 0, count: count)
    for index in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes[index] = UInt8(truncatingIfNeeded: state)
    }
    return bytes
}

/// Writes `size` bytes of pattern data to `path` in 1 MiB blocks.
func writeDenseFile(_ path: String, size: Int) throws {
    let block = pseudoRandomBytes(count: 1 << 20, seed: UInt64(size))
    guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
        throw SystemCallError("open", path: path, code: EIO)
    }
    defer { try? handle.close() }
    var written = 0
    while written < size {
        let count = min(block.count, size - written)
        try handle.write(contentsOf: block[0..<count])
        written += count
    }
}
