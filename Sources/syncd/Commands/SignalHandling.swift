import Dispatch
import Glibc

/// Turns SIGINT and SIGTERM into a prompt, clean stop: the task starts no new entry, copies in
/// flight stop at their next block and remove their temporary files, and the exit code names
/// the signal. A second signal exits at once.
final class StopSignals: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private(set) var received: Int32 = 0
    private let queue = DispatchQueue(label: "syncd.signals")

    init(onStop: @escaping @Sendable () -> Void) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [unowned self] in
                if received == 0 {
                    received = number
                    printError("syncd: received \(number == SIGINT ? "SIGINT" : "SIGTERM"); stopping (send it again to exit at once)")
                    onStop()
                } else {
                    // A second signal means the user does not want to wait.
                    exit(128 + number)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The exit code for the signal received, or nil when none was.
    var exitCode: Int32? {
        queue.sync { received == 0 ? nil : 128 + received }
    }
}
