import SyncEngine

/// Engine results made up for tests of what is written after a run.
enum TaskExecutionSample {
    static func make(status: String) -> TaskExecution {
        var execution = TaskExecution()
        execution.status = TaskExecution.Status(rawValue: status) ?? .error
        execution.bytesWritten = 100
        execution.bytesTransferred = 100
        execution.totalDuration = 12
        return execution
    }
}
