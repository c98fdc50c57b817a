import Foundation

/// A task report in the shape of DataSync's: one JSON file with an entry per reported file and
/// the execution's summary at the end.
///
/// Entries are written as they happen, through a 64 KiB buffer, so memory does not grow with
/// the tree. The file is written under a temporary name and renamed into place by `finish`, so
/// an interrupted run never leaves a report that looks complete.
public final class TaskReport: @unchecked Sendable {
    public enum ReportType: String, Sendable {
        case summaryOnly = "SUMMARY_ONLY"
        case standard = "STANDARD"
    }

    public enum ReportLevel: String, Sendable {
        case errorsOnly = "ERRORS_ONLY"
        case successesAndErrors = "SUCCESSES_AND_ERRORS"
    }

    private let path: String
    private let temporaryPath: String
    private let handle: FileHandle
    private let type: ReportType
    private let level: ReportLevel
    private let lock = NSLock()
    private var buffer = ""
    private var entryCount = 0
    public let executionID: String

    /// Creates the report file, or throws with the path when it cannot be created.
    public init(path: String, type: ReportType, level: ReportLevel) throws {
        self.path = path
        self.type = type
        self.level = level
        executionID = "exec-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let url = URL(fileURLWithPath: path)
        temporaryPath = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial").path
        guard FileManager.default.createFile(atPath: temporaryPath, contents: nil),
              let handle = FileHandle(forWritingAtPath: temporaryPath) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        self.handle = handle
        buffer = "{\n  \"TaskExecutionId\": \(OrderedJSONWriter.quoted(executionID)),\n"
            + "  \"ReportType\": \"\(type.rawValue)\",\n  \"ReportLevel\": \"\(level.rawValue)\",\n  \"Entries\": ["
    }

    /// Adds one entry, if the report's type and level include it.
    public func record(_ event: EntryEvent) {
        guard type == .standard else { return }
        let isError = event.status != .success && event.status != .skipped
        guard isError || level == .successesAndErrors else { return }

        var writer = OrderedJSONWriter(pretty: false)
        writer.beginObject()
        writer.field("RelativePath", escapedPath(event.path))
        if let source = event.source {
            writer.key("SrcMetadata")
            writer.beginObject()
            writer.field("Type", event.kind.rawValue)
            writer.field("ContentSize", source.size)
            writer.field("Mtime", Self.timestamp(source.mtime))
            writer.field("Atime", Self.timestamp(source.atime))
            writer.field("Uid", Int64(source.uid))
            writer.field("Gid", Int64(source.gid))
            writer.field("Mode", "0" + String(source.permissions, radix: 8))
            writer.endObject()
        }
        writer.field("TransferTimestamp", TaskExecution.timestamp(Date()))
        writer.field("TransferType", event.transferType.rawValue)
        writer.field("TransferStatus", event.status.rawValue)
        if let checksum = event.checksum {
            writer.field("SrcChecksum", checksum)
        }
        if let checksum = event.destinationChecksum {
            writer.field("DstChecksum", checksum)
            writer.field("VerifyStatus", checksum == event.checksum ? "SUCCESS" : "FAILED")
        }
        if let failure = event.failure {
            writer.field("FailureReason", failure)
        }
        writer.endObject()

        lock.lock()
        defer { lock.unlock() }
        buffer += (entryCount == 0 ? "\n    " : ",\n    ") + writer.text
        entryCount += 1
        if buffer.utf8.count >= 64 * 1024 {
            flushLocked()
        }
    }

    /// Writes the summary, closes the file and moves it to its final name.
    public func finish(_ execution: TaskExecution) throws {
        lock.lock()
        defer { lock.unlock() }
        let summary = execution.dataSyncJSON(pretty: true).split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated().map { $0.offset == 0 ? String($0.element) : "  " + $0.element }.joined(separator: "\n")
        buffer += (entryCount == 0 ? "],\n" : "\n  ],\n") + "  \"Summary\": " + summary + "\n}\n"
        flushLocked()
        try handle.close()
        if FileManager.default.fileExists(atPath: path) {
            try FileManager.default.removeItem(atPath: path)
        }
        try FileManager.default.moveItem(atPath: temporaryPath, toPath: path)
    }

    private func flushLocked() {
        handle.write(Data(buffer.utf8))
        buffer = ""
    }

    static func timestamp(_ time: FileStatus.Timestamp) -> String {
        let date = Date(timeIntervalSince1970: Double(time.seconds) + Double(time.nanoseconds) / 1e9)
        return TaskExecution.timestamp(date)
    }
}
