import Foundation
import Glibc

/// How a child process ended and what it printed.
public struct ProcessResult: Sendable, CustomStringConvertible {
    /// The exit code, or the signal number when `killedBySignal` is true.
    public var status: Int32
    public var killedBySignal: Bool
    public var standardOutput: String
    public var standardError: String

    public var description: String {
        let ending = killedBySignal ? "killed by signal \(status)" : "exit \(status)"
        return "\(ending)\n--- stdout\n\(standardOutput)\n--- stderr\n\(standardError)"
    }
}

/// A child process started by `startProcess`, with its output sent to temporary files so that a
/// full pipe can never block it.
public final class RunningProcess: @unchecked Sendable {
    private let process: Process
    private let outputPath: String
    private let errorPath: String

    fileprivate init(process: Process, outputPath: String, errorPath: String) {
        self.process = process
        self.outputPath = outputPath
        self.errorPath = errorPath
    }

    public var processIdentifier: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to end and returns its status and output.
    public func wait() -> ProcessResult {
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let errorOutput = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        unlink(outputPath)
        unlink(errorPath)
        return ProcessResult(
            status: process.terminationStatus,
            killedBySignal: process.terminationReason == .uncaughtSignal,
            standardOutput: output,
            standardError: errorOutput
        )
    }
}

/// Starts `executable` with `arguments`; `environment` entries are added to the inherited ones.
public func startProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> RunningProcess {
    let outputPath = try makeTemporaryFile(label: "stdout")
    let errorPath = try makeTemporaryFile(label: "stderr")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle(forWritingAtPath: outputPath)
    process.standardError = FileHandle(forWritingAtPath: errorPath)
    try process.run()
    return RunningProcess(process: process, outputPath: outputPath, errorPath: errorPath)
}

/// Runs `executable` to the end and returns its status and output.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
    try startProcess(executable, arguments, environment: environment).wait()
}

private func makeTemporaryFile(label: String) throws -> String {
    var template = Array("/tmp/syncd-test-\(label)-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    if fd < 0 { throw SystemCallError("mkstemp", path: "/tmp") }
    close(fd)
    return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

// MARK: - syncd

/// The `syncd` binary under test.
public enum Syncd {
    /// `SYNCD_BINARY` when set, else `syncd` in the folder of the running test bundle, which is
    /// the build's products folder (for example `.build/debug`).
    public static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["SYNCD_BINARY"], !path.isEmpty { return path }
        let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? Bundle.main.executablePath
            ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("syncd").path
    }

    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: binaryPath)
    }

    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess(binaryPath, arguments, environment: environment)
    }

    public static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> RunningProcess {
        try startProcess(binaryPath, arguments, environment: environment)
    }
}

// MARK: - rsync

/// The independent second opinion: rsync's own view of whether two trees differ.
public enum Rsync {
    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/rsync")
    }

    /// Runs `rsync -aHAXc --numeric-ids -n -i --delete SOURCE/ DESTINATION/` and returns its
    /// itemized changes; an empty string means rsync would change nothing. Throws when rsync fails.
    public static func differences(source: String, destination: String, extraArguments: [String] = []) throws -> String {
        let arguments = ["-aHAXc", "--numeric-ids", "-n", "-i", "--delete"] + extraArguments + [source + "/", destination + "/"]
        let result = try runProcess("/usr/bin/rsync", arguments)
        if result.killedBySignal || result.status != 0 {
            throw SystemCallError("rsync \(arguments.joined(separator: " ")): \(result)", path: source, code: EIO)
        }
        return result.standardOutput
    }
}

// MARK: - Scratch folders

/// A unique folder under /tmp for one test.
public struct ScratchFolder: Sendable {
    public let path: String

    /// Makes a new folder named after `label`.
    public init(label: String = "scratch") throws {
        let safeLabel = String(label.map { $0.isLetter || $0.isNumber ? $0 : "-" })
        var template = Array("/tmp/syncd-test-\(safeLabel)-XXXXXX".utf8CString)
        let createdPath = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        if createdPath == nil { throw SystemCallError("mkdtemp", path: "/tmp") }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Returns the path of `name` inside the folder.
    public func path(_ name: String) -> String {
        path + "/" + name
    }

    /// Removes the folder and everything in it, also read-only folders and trees deeper than
    /// PATH_MAX (`rm` walks with descriptors), but never crosses into a mounted filesystem.
    /// Setting `SYNCD_KEEP_SCRATCH=1` keeps the folder for inspection.
    public func remove() {
        if ProcessInfo.processInfo.environment["SYNCD_KEEP_SCRATCH"] == "1" { return }
        _ = try? runProcess("/bin/chmod", ["-R", "u+rwX", path])
        _ = try? runProcess("/bin/rm", ["-rf", "--one-file-system", path])
    }
}

/// Runs `body` with a new scratch folder and removes the folder afterwards, also on error.
public func withScratchFolder<R>(_ label: String = "scratch", _ body: (ScratchFolder) throws -> R) throws -> R {
    let folder = try ScratchFolder(label: label)
    defer { folder.remove() }
    return try body(folder)
}

/// Runs `body` with a new scratch folder and removes the folder afterwards, also on error.
public func withScratchFolder<R>(_ label: String = "scratch", _ body: (ScratchFolder) async throws -> R) async throws -> R {
    let folder = try ScratchFolder(label: label)
    defer { folder.remove() }
    return try await body(folder)
}
