import Foundation
import Glibc
import Synchronization

/// Receives what a running task does, entry by entry. Called from worker threads.
public protocol TaskObserver: AnyObject, Sendable {
    func taskDidRecord(_ event: EntryEvent)
    /// Whether successful entries are wanted too; failures, warnings and skips always are.
    var wantsEveryEntry: Bool { get }
}

extension TaskObserver {
    public var wantsEveryEntry: Bool { true }
}

/// One replication of a source tree into a destination tree.
///
/// `run()` replicates the contents of `source` into `destination` (created if missing), as
/// `rsync -aHAXS --numeric-ids source/ destination/` does, under DataSync's task options:
/// regular files, folders, symlinks, hard links, FIFOs, devices with `preserveDevices`, owners,
/// modes, nanosecond times, POSIX ACLs and xattrs, and sparse files. Sockets are skipped with a
/// warning. A destination filesystem that cannot hold ACLs, xattrs or owners is a counted
/// downgrade, not a failure. Every call is relative to an open folder descriptor with
/// O_NOFOLLOW, so a symlink in either tree never leads outside it; only the two root paths
/// themselves may be symlinks to folders.
public final class ReplicationTask: Sendable {
    public let source: String
    public let destination: String
    public let options: TaskOptions
    let observer: (any TaskObserver)?
    private let context: Mutex<TaskContext?> = Mutex(nil)

    public init(source: String, destination: String, options: TaskOptions, observer: (any TaskObserver)? = nil) {
        self.source = source
        self.destination = destination
        self.options = options
        self.observer = observer
    }

    /// Runs the task to its end. Failures are counted in the result, not thrown, so a task
    /// that could not start ends with status ERROR and an ErrorCode.
    public func run() -> TaskExecution {
        let startDate = Date()
        Sys.raiseOpenFileLimit()

        let roots: Roots
        do {
            roots = try openRoots()
        } catch let failure as SetupFailure {
            var execution = TaskExecution()
            execution.options = options
            execution.startTime = startDate
            execution.endTime = Date()
            execution.status = .error
            execution.prepareStatus = .error
            execution.errorCode = failure.code
            execution.errorDetail = failure.detail
            return execution
        } catch {
            fatalError("openRoots throws only SetupFailure")
        }

        // One run at a time per destination on this host: two runs would remove each other's
        // temporary files. The lock lives on a descriptor of its own, held to the end of the run.
        var lockFD: Int32 = -1
        defer { if lockFD >= 0 { Sys.close(lockFD) } }
        if !options.dryRun, let fd = try? Sys.openDirectory(path: destination) {
            lockFD = fd
            do {
                try Sys.lockExclusive(fd)
            } catch where error.code == EWOULDBLOCK {
                var execution = TaskExecution()
                execution.options = options
                execution.startTime = startDate
                execution.endTime = Date()
                execution.status = .error
                execution.prepareStatus = .error
                execution.errorCode = "DestinationBusy"
                execution.errorDetail = "another syncd run is writing into '\(destination)'; wait for it to finish or stop it"
                roots.close()
                return execution
            } catch {
                // NOTE: Filesystems without flock on folders (some NFS setups) run without the lock.
            }
        }

        let workers = options.workers ?? Self.defaultWorkers(forFileSystemOf: roots.destinationFD >= 0 ? roots.destinationFD : roots.sourceFD)
        let context = TaskContext(options: options, workers: workers, observer: observer)
        // Modes are set exactly as the source has them, so the creation mask must not remove bits.
        let previousUmask = Sys.setUmask(0)
        defer { _ = Sys.setUmask(previousUmask) }
        context.processUmaskIsZero = true
        self.context.withLock { $0 = context }
        let walker = TreeWalker(context: context)

        let root = DirectoryNode(parent: nil, name: nil, sourceStatus: roots.sourceStatus, traverseOnly: false)
        root.sourceFD = roots.sourceFD
        root.destinationFD = roots.destinationFD
        root.destinationIsNew = roots.destinationCreated
        root.destinationStatus = roots.destinationStatus
        context.destinationRoot = roots.destinationStatus.map { ($0.device, $0.inode) }
        if roots.destinationCreated {
            context.update {
                $0.estimatedFilesToTransfer += 1
                if !options.dryRun { $0.filesTransferred += 1 }
            }
            context.emit(root, nil, kind: .directory, phase: .transfer, type: .content, status: .success, source: roots.sourceStatus)
        }
        context.pool.submit { worker in walker.processDirectory(root, worker: worker) }
        context.pool.runUntilIdle()
        let walkEnd = context.elapsed

        if options.deleteExtraneous {
            DeferredDeletion(context: context, walker: walker).run(sourceRoot: roots.sourcePath, destinationRoot: roots.destinationPath)
        }
        context.hardLinks.closeAll()

        var verifyPhase: (start: Duration, end: Duration)? = nil
        if options.verifyMode == .all && !options.dryRun {
            let start = context.elapsed
            TreeVerifier(context: context).run(source: roots.sourcePath, destination: roots.destinationPath)
            verifyPhase = (start, context.elapsed)
        }

        return finish(context, startDate: startDate, walkEnd: walkEnd, verifyPhase: verifyPhase)
    }

    /// Compares the two trees as verify mode `all` does, without copying anything.
    ///
    /// Returns every difference (content checksums, with the destination read from storage, and
    /// the metadata these options keep) and the run's counters.
    public func compare() -> (differences: [TreeDifference], execution: TaskExecution) {
        let startDate = Date()
        Sys.raiseOpenFileLimit()
        let workers = options.workers ?? ProcessInfo.processInfo.activeProcessorCount * 4
        let context = TaskContext(options: options, workers: workers, observer: observer)
        self.context.withLock { $0 = context }
        let differences = TreeVerifier(context: context).run(source: source, destination: destination)
        var execution = context.counters.withLock { $0.execution }
        execution.options = options
        execution.startTime = startDate
        execution.endTime = Date()
        execution.totalDuration = Self.milliseconds(context.elapsed)
        execution.verifyDuration = execution.totalDuration
        execution.verifyStatus = differences.isEmpty ? .success : .error
        execution.status = differences.isEmpty ? .success : .error
        return (differences, execution)
    }

    /// Asks the workers to stop taking new entries; entries in flight complete.
    public func cancel() {
        context.withLock { $0?.cancelled.store(true, ordering: .relaxed) }
    }

    /// Counters so far, for progress displays; safe to call while `run()` is going.
    public func snapshot() -> TaskExecution? {
        context.withLock { $0?.counters.withLock { $0.execution } }
    }

    private func finish(_ context: TaskContext, startDate: Date, walkEnd: Duration, verifyPhase: (start: Duration, end: Duration)?) -> TaskExecution {
        var execution = context.counters.withLock { $0.execution }
        let timeline = context.timeline.withLock { $0 }
        execution.options = options
        execution.startTime = startDate
        execution.endTime = Date()
        execution.totalDuration = Self.milliseconds(context.elapsed)
        // Phases overlap: each duration is the wall-clock span from the phase's first to last activity.
        execution.prepareDuration = Self.milliseconds(walkEnd)
        if let start = timeline.transferStart, let end = timeline.transferEnd {
            execution.transferDuration = Self.milliseconds(end - start)
        }
        if let verifyPhase {
            execution.verifyDuration = Self.milliseconds(verifyPhase.end - verifyPhase.start)
        } else if let start = timeline.verifyStart, let end = timeline.verifyEnd {
            execution.verifyDuration = Self.milliseconds(end - start)
        }
        execution.prepareStatus = execution.filesFailed.prepare > 0 ? .error : .success
        execution.transferStatus = execution.filesFailed.transfer + execution.filesFailed.delete > 0 ? .error : .success
        execution.verifyStatus = options.verifyMode == .none || options.dryRun ? .pending
            : execution.filesFailed.verify > 0 ? .error : .success
        if execution.filesFailed.total > 0 {
            execution.status = .error
            execution.errorCode = execution.filesFailed.verify > 0 ? "VerificationFailed" : "SomeEntriesFailed"
            execution.errorDetail = "\(execution.filesFailed.total) entries failed (prepare \(execution.filesFailed.prepare), transfer \(execution.filesFailed.transfer), verify \(execution.filesFailed.verify), delete \(execution.filesFailed.delete))"
        } else if execution.filesChanged > 0 {
            // The copy is not point-in-time consistent, so the fields a Step Functions definition reads show it.
            execution.status = .error
            execution.errorCode = "FilesChangedDuringTransfer"
            execution.errorDetail = "\(execution.filesChanged) files changed while they were copied and were not verified; run again to converge"
        } else if context.cancelled.load(ordering: .relaxed) {
            execution.status = .error
            execution.errorCode = "Cancelled"
            execution.errorDetail = "the task was stopped before it finished"
        } else {
            execution.status = .success
        }
        return execution
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// Chooses the worker count for a destination filesystem. A network filesystem takes about a
    /// millisecond per call, so many calls must be in flight; a local one is bound by the processors.
    static func defaultWorkers(forFileSystemOf fd: Int32) -> Int {
        let processors = ProcessInfo.processInfo.activeProcessorCount
        switch Sys.fileSystemType(fd) {
        case 0x6969: return 64                   // NFS, as EFS is mounted.
        case 0x6573_5546, 0x6573_5547: return 32 // FUSE (the EFS latency emulator among them).
        case 0xFF53_4D42, 0xFE53_4D42: return 32 // SMB/CIFS.
        default: return max(4, min(16, processors * 2))
        }
    }

    // MARK: Roots

    struct SetupFailure: Error {
        var code: String
        var detail: String
    }

    struct Roots {
        func close() {
            Sys.close(sourceFD)
            if destinationFD >= 0 { Sys.close(destinationFD) }
        }

        var sourceFD: Int32
        var sourceStatus: FileStatus
        var sourcePath: String
        var destinationFD: Int32
        var destinationStatus: FileStatus?
        var destinationCreated: Bool
        var destinationPath: String
    }

    private func openRoots() throws -> Roots {
        let sourceFD: Int32
        do {
            sourceFD = try Sys.openDirectory(path: source)
        } catch {
            throw SetupFailure(code: "SourceNotReadable", detail: "cannot open source folder '\(source)': \(error.call) failed: \(error.message) (errno \(error.code))")
        }
        let sourceStatus: FileStatus
        do {
            sourceStatus = try Sys.stat(sourceFD)
        } catch {
            Sys.close(sourceFD)
            throw SetupFailure(code: "SourceNotReadable", detail: "cannot stat source folder '\(source)': \(error.message)")
        }

        let sourceReal = URL(fileURLWithPath: source).resolvingSymlinksInPath().standardizedFileURL.path
        let destinationReal = Self.resolvedPath(destination)
        if Self.isSameOrNested(sourceReal, destinationReal) {
            Sys.close(sourceFD)
            throw SetupFailure(code: "OverlappingLocations",
                               detail: "source '\(source)' and destination '\(destination)' are the same folder or one is inside the other")
        }

        var created = false
        var destinationFD: Int32 = -1
        do {
            destinationFD = try Sys.openDirectory(path: destination)
        } catch where error.code == ENOENT {
            if options.dryRun {
                return Roots(sourceFD: sourceFD, sourceStatus: sourceStatus, sourcePath: source, destinationFD: -1,
                             destinationStatus: nil, destinationCreated: true, destinationPath: destination)
            }
            do {
                try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
                destinationFD = try Sys.openDirectory(path: destination)
                created = true
            } catch {
                Sys.close(sourceFD)
                throw SetupFailure(code: "DestinationNotWritable", detail: "cannot create destination folder '\(destination)': \(error)")
            }
        } catch {
            Sys.close(sourceFD)
            throw SetupFailure(code: "DestinationNotWritable", detail: "cannot open destination folder '\(destination)': \(error.call) failed: \(error.message) (errno \(error.code))")
        }
        let destinationStatus = try? Sys.stat(destinationFD)
        return Roots(sourceFD: sourceFD, sourceStatus: sourceStatus, sourcePath: source, destinationFD: destinationFD,
                     destinationStatus: destinationStatus, destinationCreated: created, destinationPath: destination)
    }

    /// Returns a one-line reason when the two folders are the same or one is inside the other, else nil.
    ///
    /// Paths are compared after resolving symlinks, and then folders by device and inode up the
    /// parent chain, so a bind mount that shows one tree under two names is caught too.
    public static func overlapProblem(source: String, destination: String) -> String? {
        let sourceReal = resolvedPath(source)
        let destinationReal = resolvedPath(destination)
        guard isSameOrNested(sourceReal, destinationReal) else {
            let sourceChain = identityChain(sourceReal)
            let destinationChain = identityChain(destinationReal)
            if let sourceSelf = sourceChain.first, sourceSelf.exists, destinationChain.contains(where: { $0.identity == sourceSelf.identity }) {
                return "destination '\(destination)' is the source '\(source)' or inside it (through a bind mount)"
            }
            if let destinationSelf = destinationChain.first, destinationSelf.exists, sourceChain.contains(where: { $0.identity == destinationSelf.identity }) {
                return "source '\(source)' is the destination '\(destination)' or inside it (through a bind mount)"
            }
            return nil
        }
        if sourceReal == destinationReal {
            return "source '\(source)' and destination '\(destination)' are the same folder"
        }
        return sourceReal.count < destinationReal.count
            ? "destination '\(destination)' is inside source '\(source)'"
            : "source '\(source)' is inside destination '\(destination)'"
    }

    /// Resolves the part of `path` that exists to its real path and appends the rest.
    static func resolvedPath(_ path: String) -> String {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        var missing: [String] = []
        while !FileManager.default.fileExists(atPath: url.path) && url.path != "/" {
            missing.insert(url.lastPathComponent, at: 0)
            url.deleteLastPathComponent()
        }
        var resolved = url.resolvingSymlinksInPath()
        for component in missing {
            resolved.appendPathComponent(component)
        }
        return resolved.standardizedFileURL.path
    }

    /// Device and inode of `path` (flagged `exists` when it does) and of each existing ancestor.
    private static func identityChain(_ path: String) -> [(identity: [UInt64], exists: Bool)] {
        var chain: [(identity: [UInt64], exists: Bool)] = []
        var current = path
        var isFirst = true
        while true {
            if let status = try? current.withCString({ path throws(Errno) in try Sys.stat(AT_FDCWD, path) }) {
                chain.append(([status.device, status.inode], isFirst))
            }
            isFirst = false
            if current == "/" || current.isEmpty { break }
            current = (current as NSString).deletingLastPathComponent
        }
        return chain
    }

    static func isSameOrNested(_ a: String, _ b: String) -> Bool {
        let first = a.hasSuffix("/") ? a : a + "/"
        let second = b.hasSuffix("/") ? b : b + "/"
        return first.hasPrefix(second) || second.hasPrefix(first)
    }
}
