import Foundation
import Glibc
import Synchronization

/// State shared by every worker of one run: options, counters, hard-link groups, deferred deletions.
final class TaskContext: @unchecked Sendable {
    let options: TaskOptions
    let pool: WorkerPool
    let observer: (any TaskObserver)?
    let hardLinks = HardLinkTable()
    let throttle: Throttle?
    let userID = Sys.effectiveUserID
    let groupID = Sys.effectiveGroupID
    var isPrivileged: Bool { userID == 0 }
    let dryRun: Bool
    /// Whether successful entries are reported too. Building their paths costs time in the hot
    /// path, so without a report or a transfer log only failures and warnings are built.
    let wantsEveryEntry: Bool
    let verifiesTransfers: Bool
    /// Whether the run set the process umask to 0, so new files get exactly the mode asked for.
    var processUmaskIsZero = false

    let counters = Mutex(Counters())
    /// Set by any error reading the source; deletions are then skipped for the whole run.
    let sourceReadFailed = Atomic<Bool>(false)
    /// Destination paths (as components) that the source no longer has, deleted at the end.
    let deletions = Mutex<[[[UInt8]]]>([])
    /// -1 unknown, 0 unsupported, 1 supported: whether the destination filesystem supports xattrs.
    let destinationXattrs = Atomic<Int>(-1)
    let sourceXattrs = Atomic<Int>(-1)
    let cloneWorks = Atomic<Int>(-1)
    let copyRangeWorks = Atomic<Int>(-1)
    let directReadWorks = Atomic<Int>(-1)
    let cancelled = Atomic<Bool>(false)
    /// Device and inode of the destination root, so that a walk never descends into its own
    /// output when a bind mount or a mount inside the source leads back to it.
    var destinationRoot: (device: UInt64, inode: UInt64)? = nil

    let startTime = ContinuousClock.now
    let timeline = Mutex(Timeline())

    struct Counters {
        var execution = TaskExecution()
    }

    /// First and last moments of each phase, as offsets from the start.
    struct Timeline {
        var walkEnd: Duration?
        var transferStart: Duration?
        var transferEnd: Duration?
        var verifyStart: Duration?
        var verifyEnd: Duration?
    }

    init(options: TaskOptions, workers: Int, observer: (any TaskObserver)?) {
        self.options = options
        self.observer = observer
        dryRun = options.dryRun
        wantsEveryEntry = observer?.wantsEveryEntry ?? false
        verifiesTransfers = options.verifyMode == .transferred && !options.dryRun
        pool = WorkerPool(workers: workers, bufferSize: 1 << 20)
        throttle = options.bytesPerSecond.map { Throttle(bytesPerSecond: $0) }
    }

    var elapsed: Duration { ContinuousClock.now - startTime }

    func update(_ body: (inout TaskExecution) -> Void) {
        counters.withLock { body(&$0.execution) }
    }

    func markTransfer() {
        let now = elapsed
        timeline.withLock {
            if $0.transferStart == nil { $0.transferStart = now }
            $0.transferEnd = now
        }
    }

    func markVerify(start: Duration) {
        let now = elapsed
        timeline.withLock {
            if $0.verifyStart == nil || start < $0.verifyStart! { $0.verifyStart = start }
            $0.verifyEnd = now
        }
    }

    /// Sends one entry's outcome to the observer, building its path only when someone listens.
    func emit(_ node: DirectoryNode, _ name: EntryName?, kind: EntryEvent.Kind, phase: EntryEvent.Phase,
              type: EntryEvent.TransferType, status: EntryEvent.Status, source: FileStatus?,
              checksum: String? = nil, destinationChecksum: String? = nil, failure: String? = nil, bytes: Int64 = 0) {
        guard let observer, status != .success || wantsEveryEntry else { return }
        let path = name.map { node.path(of: $0) } ?? node.relativePath
        observer.taskDidRecord(EntryEvent(
            path: path, kind: kind, phase: phase, transferType: type, status: status, source: source,
            checksum: checksum, destinationChecksum: destinationChecksum, failure: failure, bytes: bytes))
    }

    /// Counts and reports a failed entry: one line naming the path, the call and the errno.
    func fail(_ node: DirectoryNode, _ name: EntryName?, kind: EntryEvent.Kind, phase: EntryEvent.Phase,
              source: FileStatus?, error: Errno, readingSource: Bool = false) {
        if readingSource {
            sourceReadFailed.store(true, ordering: .relaxed)
        }
        update {
            switch phase {
            case .prepare: $0.filesFailed.prepare += 1
            case .transfer: $0.filesFailed.transfer += 1
            case .verify: $0.filesFailed.verify += 1
            case .delete: $0.filesFailed.delete += 1
            }
        }
        let path = name.map { node.path(of: $0) } ?? node.relativePath
        let message = "\(error.call) failed: \(error.message) (errno \(error.code))"
        if let observer {
            observer.taskDidRecord(EntryEvent(
                path: path, kind: kind, phase: phase, transferType: .none, status: .failed, source: source, failure: message))
        }
    }

    /// Throws ECANCELED once the task is stopped, so that copies in flight end at the next block
    /// and leave only their temporary files, which are removed.
    func checkCancelled() throws(Errno) {
        if cancelled.load(ordering: .relaxed) {
            throw Errno(code: ECANCELED, call: "cancelled")
        }
    }

    func downgrade(_ what: String) {
        update { $0.downgrades[what, default: 0] += 1 }
    }
}
