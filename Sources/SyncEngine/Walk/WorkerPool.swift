import Foundation

/// Buffers owned by one worker thread, reused by every job it runs.
final class WorkerContext: @unchecked Sendable {
    /// Data moves through this buffer; aligned so that O_DIRECT reads can use it too.
    let buffer: UnsafeMutableRawPointer
    let bufferSize: Int
    let directoryBuffer: UnsafeMutableRawPointer
    let directoryBufferSize = 64 * 1024
    /// Work this worker put off, oldest first: verifications that wait for writeback. Only this
    /// worker's thread touches the list, and it runs the list before it goes idle or exits.
    private(set) var deferred: [(WorkerContext) -> Void] = []
    static let maxDeferred = 16

    /// Puts `work` off until later work of this worker has run; runs the oldest item when the
    /// list is full.
    func deferWork(_ work: @escaping (WorkerContext) -> Void) {
        deferred.append(work)
        if deferred.count > Self.maxDeferred {
            let oldest = deferred.removeFirst()
            oldest(self)
        }
    }

    /// Runs every deferred item, including items that running them defers.
    func runDeferred() {
        while !deferred.isEmpty {
            let oldest = deferred.removeFirst()
            oldest(self)
        }
    }

    init(bufferSize: Int) {
        self.bufferSize = bufferSize
        buffer = UnsafeMutableRawPointer(syncdAlignedAllocate(alignment: 4096, size: bufferSize))
        directoryBuffer = UnsafeMutableRawPointer(syncdAlignedAllocate(alignment: 4096, size: directoryBufferSize))
    }

    deinit {
        free(buffer)
        free(directoryBuffer)
    }
}

/// A fixed set of threads that run jobs from one shared stack.
///
/// Jobs are taken newest first, so the walk goes depth first and the number of folders that
/// are open at once stays near depth times workers. Blocking calls run here, never on Swift's
/// cooperative pool. A job may call `helpWhileBacklogged` to run other jobs while the stack is
/// long, which bounds memory when one folder contains millions of entries.
final class WorkerPool: @unchecked Sendable {
    typealias Job = (WorkerContext) -> Void

    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var running = 0
    private var finished = false
    private var threads: [Thread] = []
    let workerCount: Int
    private let bufferSize: Int

    init(workers: Int, bufferSize: Int) {
        workerCount = workers
        self.bufferSize = bufferSize
    }

    func submit(_ job: @escaping Job) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Number of jobs waiting to start.
    var backlog: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count
    }

    /// Runs waiting jobs on the calling worker while more than `limit` are queued.
    func helpWhileBacklogged(limit: Int, context: WorkerContext) {
        while true {
            condition.lock()
            guard jobs.count > limit, let job = jobs.popLast() else {
                condition.unlock()
                return
            }
            condition.unlock()
            job(context)
        }
    }

    /// Starts the workers and blocks until every job, including jobs submitted by jobs, has run.
    func runUntilIdle() {
        let group = DispatchGroup()
        for index in 0..<workerCount {
            group.enter()
            let thread = Thread { [self] in
                workLoop()
                group.leave()
            }
            thread.name = "syncd-worker-\(index)"
            // Listers that help run queued jobs nest folder listings on one stack; 8 MiB is reserved, not used.
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
    }

    private func workLoop() {
        let context = WorkerContext(bufferSize: bufferSize)
        while true {
            condition.lock()
            if jobs.isEmpty && !context.deferred.isEmpty {
                // Idle: this worker's put-off work runs now, counted as running so that the
                // pool does not finish under it.
                running += 1
                condition.unlock()
                context.runDeferred()
                condition.lock()
                running -= 1
                if running == 0 && jobs.isEmpty {
                    condition.broadcast()
                }
                condition.unlock()
                continue
            }
            while jobs.isEmpty && !finished {
                if running == 0 {
                    // Nothing is queued and no running job could queue more, so the task is done.
                    finished = true
                    condition.broadcast()
                    break
                }
                condition.wait()
            }
            if finished && jobs.isEmpty {
                condition.unlock()
                context.runDeferred()
                return
            }
            let job = jobs.removeLast()
            running += 1
            condition.unlock()

            job(context)

            condition.lock()
            running -= 1
            if running == 0 && jobs.isEmpty {
                condition.broadcast()
            }
            condition.unlock()
        }
    }
}

func syncdAlignedAllocate(alignment: Int, size: Int) -> UnsafeMutableRawPointer {
    var pointer: UnsafeMutableRawPointer? = nil
    guard posix_memalign(&pointer, alignment, size) == 0, let pointer else {
        fatalError("Out of memory: could not allocate a \(size)-byte buffer")
    }
    return pointer
}
