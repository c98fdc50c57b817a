import Foundation
import SyncEngine

/// A live progress line on stderr: entries and bytes done of the estimate so far, rate and
/// time left. Shown only when enabled (by default when stderr is a terminal).
final class ProgressDisplay: @unchecked Sendable {
    private let task: ReplicationTask
    private let enabled: Bool
    private var timer: DispatchSourceTimer?
    private let startDate = Date()

    init(task: ReplicationTask, enabled: Bool) {
        self.task = task
        self.enabled = enabled
    }

    func start() {
        guard enabled else { return }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "syncd.progress"))
        timer.schedule(deadline: .now() + .milliseconds(500), repeating: .milliseconds(500))
        timer.setEventHandler { [weak self] in self?.draw() }
        timer.resume()
        self.timer = timer
    }

    func stop() {
        guard let timer else { return }
        timer.cancel()
        self.timer = nil
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    private func draw() {
        guard let snapshot = task.snapshot() else { return }
        let elapsed = Date().timeIntervalSince(startDate)
        let rate = elapsed > 0 ? Double(snapshot.bytesWritten) / elapsed : 0
        let remainingBytes = max(0, snapshot.estimatedBytesToTransfer - snapshot.bytesWritten)
        let left = rate > 0 ? Self.clock(Double(remainingBytes) / rate) : "--:--"
        let line = "\(snapshot.filesTransferred)/\(snapshot.estimatedFilesToTransfer) entries, "
            + "\(formatBytes(snapshot.bytesWritten))/\(formatBytes(snapshot.estimatedBytesToTransfer)), "
            + "\(formatBytes(Int64(rate)))/s, \(left) left (estimate grows while the walk goes on)"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    private static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
    }
}
