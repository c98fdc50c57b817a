import Foundation
import Synchronization

/// Keeps the average transfer rate at or below a limit, across all workers.
///
/// A token bucket that holds at most half a second of bytes: a stall of up to half a second (a
/// busy processor, a slow call) is made up for afterwards, and the average over any 10-second
/// window exceeds the limit by at most 5%.
final class Throttle: Sendable {
    private let bytesPerSecond: Double
    private let state: Mutex<(tokens: Double, last: ContinuousClock.Instant)>

    init(bytesPerSecond: Int64) {
        self.bytesPerSecond = Double(bytesPerSecond)
        state = Mutex((0, .now))
    }

    /// Blocks until `bytes` may be sent.
    func consume(_ bytes: Int) {
        let wait: Double = state.withLock { bucket in
            let now = ContinuousClock.now
            let elapsed = now - bucket.last
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(bucket.tokens + seconds * bytesPerSecond, bytesPerSecond / 2)
            bucket.last = now
            bucket.tokens -= Double(bytes)
            return bucket.tokens < 0 ? -bucket.tokens / bytesPerSecond : 0
        }
        if wait > 0 {
            Thread.sleep(forTimeInterval: wait)
        }
    }
}
