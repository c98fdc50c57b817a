import MappingStore
import SyncEngine

/// A restore that is due, with both homes resolved on this host.
public struct RestoreJob: Sendable {
    /// The change record that moved the profile's home; the restore carries it out.
    public var changeSequence: Int64
    public var source: StudioUser
    public var target: StudioUser
    public var sourceHome: String
    public var targetHome: String
}

/// The outcome of `ProfileRestore.restore`.
public enum RestoreOutcome: Sendable {
    /// The engine ran; its result was written to the row and a history record.
    case restored(RestoreJob, TaskExecution)
    /// The due change was restored successfully before, so nothing was copied again.
    case alreadyRestored(changeSequence: Int64, summary: RestoreSummary)
    case notDue(RestoreSkipReason)
}

/// Restores one profile's old home into its new one, as the reference's workflow runs DataSync.
public struct ProfileRestore: Sendable {
    public let store: any MappingStore
    public let locator: HomeLocator
    public let taskOptions: TaskOptions

    public init(store: any MappingStore, locator: HomeLocator, taskOptions: TaskOptions) {
        self.store = store
        self.locator = locator
        self.taskOptions = taskOptions
    }

    /// Finds the profile's latest home change and decides whether it calls for a copy.
    ///
    /// Reads the store and the mounts and changes nothing. Fails for an unknown profile and for
    /// mounts or homes that cannot be used, before any file is touched.
    public func plan(_ key: ProfileKey) throws -> RestorePlan {
        guard let current = try store.profile(key) else { throw MappingStoreError.profileNotFound(key) }
        guard let change = RestoreRule.latestHomeChange(in: try store.changeRecords(of: key)) else {
            return .skip(.notDue(.firstRegistration))
        }

        switch RestoreRule.decision(for: change) {
        case .notDue(let reason):
            return .skip(.notDue(reason))
        case .due(var source, let target):
            guard current.replication else {
                return .skip(.notDue(.replicationOff))
            }
            if !homeExists(source) {
                // Recreated more than once before a restore ran: the data is in an earlier home,
                // the old image of an earlier move that no successful restore has carried out.
                let lastRestored = current.lastRestore.flatMap {
                    $0.replicationStatus == TaskExecution.Status.success.rawValue ? $0.changeSequence : nil
                } ?? 0
                let earlier = try store.changeRecords(of: key).reversed()
                    .filter { $0.sequence < change.sequence && $0.sequence > lastRestored }
                for record in earlier {
                    if case .due(let older, _) = RestoreRule.decision(for: record), homeExists(older) {
                        source = older
                        break
                    }
                }
            }
            if let last = current.lastRestore, last.changeSequence == change.sequence,
               last.replicationStatus == TaskExecution.Status.success.rawValue {
                return .skip(.alreadyRestored(changeSequence: change.sequence, summary: last))
            }
            let homes = try locator.homes(source: source, target: target)
            return .run(RestoreJob(
                changeSequence: change.sequence, source: source, target: target, sourceHome: homes.source, targetHome: homes.target))
        }
    }

    /// Makes the engine task that copies the old home into the new one, with the old UID
    /// mapped to the new profile's UID.
    ///
    /// The engine creates a missing target home and gives it the new UID, because the root
    /// folder's owner goes through the same UID map as every entry.
    public func makeTask(for job: RestoreJob, observer: (any TaskObserver)? = nil) -> ReplicationTask {
        var options = taskOptions
        if job.source.efsUID != job.target.efsUID {
            options.uidMap[job.source.efsUID] = job.target.efsUID
        }
        return ReplicationTask(source: job.sourceHome, destination: job.targetHome, options: options, observer: observer)
    }

    /// Writes a finished task's counters and status to the row and appends a history record.
    public func record(_ execution: TaskExecution, of job: RestoreJob) throws {
        let summary = RestoreSummary(
            bytesWritten: execution.bytesWritten, bytesFileTransferred: execution.bytesTransferred,
            filesTransferred: execution.filesTransferred, totalDurationMilliseconds: execution.totalDuration,
            replicationStatus: execution.status.rawValue, changeSequence: job.changeSequence)
        var detail = "from \(job.source.efsFileSystemID.rawValue)/\(job.source.efsUID) to \(job.target.efsFileSystemID.rawValue)/\(job.target.efsUID) (change \(job.changeSequence))"
        if let code = execution.errorCode {
            detail += ": \(code)"
            if let errorDetail = execution.errorDetail { detail += " \(errorDetail)" }
        }
        // NOTE: two restores of one profile started at once both run the engine, and the last
        // one to finish writes the row. Nothing here prevents that; the daemon's job leases must.
        try store.recordRestore(summary, for: job.target.key, detail: detail)
    }

    private func homeExists(_ profile: StudioUser) -> Bool {
        guard let home = try? locator.home(of: profile) else { return false }
        return HomeLocator.isFolder(home)
    }

    /// Runs the job's task to its end and records the result.
    public func run(_ job: RestoreJob, observer: (any TaskObserver)? = nil) throws -> TaskExecution {
        let execution = makeTask(for: job, observer: observer).run()
        try record(execution, of: job)
        return execution
    }

    /// Plans and, when a restore is due, runs it.
    public func restore(_ key: ProfileKey, observer: (any TaskObserver)? = nil) throws -> RestoreOutcome {
        switch try plan(key) {
        case .skip(let outcome):
            return outcome
        case .run(let job):
            return .restored(job, try run(job, observer: observer))
        }
    }
}

/// The result of `ProfileRestore.plan`: a job to run, or the outcome without a copy.
public enum RestorePlan: Sendable {
    case run(RestoreJob)
    case skip(RestoreOutcome)
}
