import Foundation
import SyncEngine
import Synchronization

/// Prints each failed, vanished or skipped entry as one line on stderr while the task runs,
/// and every entry with `--log-level transfer`.
final class EntryLogger: TaskObserver, @unchecked Sendable {
    private let level: TaskOptions.LogLevel
    private let lock = NSLock()
    /// Called for every event after logging, for example by a task report.
    var forward: ((EntryEvent) -> Void)?

    init(level: TaskOptions.LogLevel) {
        self.level = level
    }

    /// Successful entries matter only to the transfer log and to a task report.
    var wantsEveryEntry: Bool {
        level == .transfer || forward != nil
    }

    func taskDidRecord(_ event: EntryEvent) {
        let line: String?
        switch event.status {
        case .failed, .verifyMismatch:
            line = level == .off ? nil : "error: \(escapedPath(event.path)): \(event.failure ?? event.status.rawValue)"
        case .vanished:
            line = level == .off ? nil : "warning: \(escapedPath(event.path)): vanished from the source during the run"
        case .changedDuringTransfer:
            line = level == .off ? nil : "warning: \(escapedPath(event.path)): \(event.failure ?? "changed during transfer")"
        case .skipped where [.socket, .characterDevice, .blockDevice, .directory].contains(event.kind):
            line = level == .off ? nil : "warning: \(escapedPath(event.path)): \(event.failure ?? "skipped")"
        default:
            line = level == .transfer ? "\(event.transferType.rawValue.lowercased()) \(event.status.rawValue.lowercased()): \(escapedPath(event.path))" : nil
        }
        lock.lock()
        if let line {
            printError(line)
        }
        forward?(event)
        lock.unlock()
    }
}

/// Returns the exit code for a finished task; the most severe outcome wins.
func exitCode(for execution: TaskExecution) -> Int32 {
    let setupFailures: Set<String> = ["SourceNotReadable", "DestinationNotWritable", "OverlappingLocations", "DestinationBusy"]
    if let code = execution.errorCode, setupFailures.contains(code) {
        return ExitCode.taskFailed
    }
    if execution.verifyMismatches > 0 || execution.filesFailed.verify > 0 { return ExitCode.verificationMismatch }
    if execution.filesFailed.total > 0 { return ExitCode.someEntriesFailed }
    if execution.errorCode == "Cancelled" { return ExitCode.interrupted }
    if execution.filesChanged > 0 { return ExitCode.changedDuringCopy }
    if execution.filesVanished > 0 { return ExitCode.sourceVanished }
    return ExitCode.success
}

/// Builds the short human summary printed on stderr at the end of a run.
func summary(of execution: TaskExecution, dryRun: Bool) -> String {
    var lines: [String] = []
    let seconds = Double(execution.totalDuration) / 1000
    let rate = seconds > 0 ? Double(execution.bytesWritten) / seconds : 0
    let verb = dryRun ? "would transfer" : "transferred"
    lines.append("\(dryRun ? "Dry run: " : "")\(execution.status.rawValue): \(verb) \(dryRun ? execution.estimatedFilesToTransfer : execution.filesTransferred) entries, "
        + "\(formatBytes(dryRun ? execution.estimatedBytesToTransfer : execution.bytesWritten)); "
        + "\(execution.filesUnchanged) unchanged, \(execution.filesSkipped) skipped, "
        + "\(dryRun ? execution.estimatedFilesToDelete : execution.filesDeleted) \(dryRun ? "to delete" : "deleted"), "
        + "\(execution.filesVerified) verified, \(execution.filesFailed.total) failed "
        + "in \(String(format: "%.2f", seconds)) s (\(formatBytes(Int64(rate)))/s)")
    if execution.filesVanished > 0 {
        lines.append("\(count(execution.filesVanished, "source entry", "source entries")) vanished during the run.")
    }
    if execution.filesChanged > 0 {
        lines.append("\(count(execution.filesChanged, "file", "files")) changed while being copied and were not verified; run again to converge.")
    }
    if !execution.downgrades.isEmpty {
        let names = ["acl": "ACLs", "xattr": "xattrs", "owner": "owners"]
        let kinds = execution.downgrades.sorted { $0.key < $1.key }
            .map { "\(names[$0.key] ?? $0.key) on \(count($0.value, "entry", "entries"))" }
            .joined(separator: ", ")
        lines.append("Not kept, because the destination or this process's privileges do not allow them: \(kinds).")
    }
    if execution.deletionSkippedAfterReadError {
        lines.append("Deletion was skipped for this run because the source could not be read completely.")
    }
    if let code = execution.errorCode, let detail = execution.errorDetail {
        lines.append("\(code): \(detail)")
    }
    return lines.joined(separator: "\n")
}

/// "1 entry", "3 entries".
func count(_ number: Int64, _ singular: String, _ plural: String) -> String {
    "\(number) \(number == 1 ? singular : plural)"
}

func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
