import Foundation

/// Receives what a running task does, entry by entry. Called from worker threads.
public protocol TaskObserver: AnyObject, Sendable {
    func taskDidRecord(_ event: EntryEvent)
}

/// One replication of a source tree into a destination tree.
///
/// `run()` replicates the contents of `source` into `destination` (created if missing), as
/// `rsync -aHAXS --numeric-ids source/ destination/` does, under DataSync's task options.
public final class ReplicationTask: Sendable {
    public let source: String
    public let destination: String
    public let options: TaskOptions
    let observer: (any TaskObserver)?

    public init(source: String, destination: String, options: TaskOptions, observer: (any TaskObserver)? = nil) {
        self.source = source
        self.destination = destination
        self.options = options
        self.observer = observer
    }

    /// Runs the task to its end. Failures are counted in the result and never thrown:
    /// a task that could not start ends with status ERROR and an ErrorCode.
    public func run() -> TaskExecution {
        var execution = TaskExecution()
        execution.options = options
        execution.status = .error
        execution.errorCode = "NotImplemented"
        return execution
    }
}
