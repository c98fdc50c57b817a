import Foundation

/// The outcome of one run, with the fields and meanings of DataSync's `DescribeTaskExecution`.
///
/// `BytesWritten` counts logical bytes written to the destination (holes excluded), and
/// `BytesTransferred` the bytes read from the source and moved. Durations are milliseconds.
public struct TaskExecution: Sendable {
    public enum Status: String, Sendable {
        case success = "SUCCESS"
        case error = "ERROR"
    }

    public enum PhaseStatus: String, Sendable {
        case pending = "PENDING"
        case success = "SUCCESS"
        case error = "ERROR"
    }

    public var status: Status = .success
    public var startTime = Date()
    public var endTime = Date()
    public var options = TaskOptions()

    public var estimatedFilesToTransfer: Int64 = 0
    public var estimatedBytesToTransfer: Int64 = 0
    public var estimatedFilesToDelete: Int64 = 0
    public var filesTransferred: Int64 = 0
    public var bytesWritten: Int64 = 0
    public var bytesTransferred: Int64 = 0
    public var filesDeleted: Int64 = 0
    public var filesSkipped: Int64 = 0
    public var filesVerified: Int64 = 0
    public var filesFailed = FailedCounts()

    public var prepareDuration: Int64 = 0
    public var prepareStatus: PhaseStatus = .pending
    public var transferDuration: Int64 = 0
    public var transferStatus: PhaseStatus = .pending
    public var verifyDuration: Int64 = 0
    public var verifyStatus: PhaseStatus = .pending
    public var totalDuration: Int64 = 0
    public var errorCode: String? = nil
    public var errorDetail: String? = nil

    /// Counts beyond DataSync's, for the exit code and the summary.
    /// Entries that already matched and were left untouched.
    public var filesUnchanged: Int64 = 0
    public var filesVanished: Int64 = 0
    public var filesChanged: Int64 = 0
    public var verifyMismatches: Int64 = 0
    /// Attributes the destination filesystem could not hold (ACLs, xattrs, owners), by kind.
    public var downgrades: [String: Int64] = [:]
    public var warnings: Int64 = 0
    public var deletionSkippedAfterReadError = false

    public struct FailedCounts: Sendable, Equatable {
        public var prepare: Int64 = 0
        public var transfer: Int64 = 0
        public var verify: Int64 = 0
        public var delete: Int64 = 0

        public var total: Int64 { prepare + transfer + verify + delete }
    }

    public init() {}

    /// The JSON object `DescribeTaskExecution` returns for these counters, keys in DataSync's order.
    public func dataSyncJSON(pretty: Bool = true) -> String {
        var writer = OrderedJSONWriter(pretty: pretty)
        writer.beginObject()
        writer.field("Status", status.rawValue)
        writer.field("StartTime", Self.timestamp(startTime))
        writer.field("EndTime", Self.timestamp(endTime))
        writer.key("Options")
        writer.beginObject()
        for (key, value) in options.dataSyncObject {
            switch value {
            case .string(let text): writer.field(key, text)
            case .integer(let number): writer.field(key, number)
            }
        }
        writer.endObject()
        writer.field("EstimatedFilesToTransfer", estimatedFilesToTransfer)
        writer.field("EstimatedBytesToTransfer", estimatedBytesToTransfer)
        writer.field("EstimatedFilesToDelete", estimatedFilesToDelete)
        writer.field("FilesTransferred", filesTransferred)
        writer.field("BytesWritten", bytesWritten)
        writer.field("BytesTransferred", bytesTransferred)
        writer.field("FilesDeleted", filesDeleted)
        writer.field("FilesSkipped", filesSkipped)
        writer.field("FilesVerified", filesVerified)
        writer.key("FilesFailed")
        writer.beginObject()
        writer.field("Prepare", filesFailed.prepare)
        writer.field("Transfer", filesFailed.transfer)
        writer.field("Verify", filesFailed.verify)
        writer.field("Delete", filesFailed.delete)
        writer.endObject()
        writer.key("Result")
        writer.beginObject()
        writer.field("PrepareDuration", prepareDuration)
        writer.field("PrepareStatus", prepareStatus.rawValue)
        writer.field("TotalDuration", totalDuration)
        writer.field("TransferDuration", transferDuration)
        writer.field("TransferStatus", transferStatus.rawValue)
        writer.field("VerifyDuration", verifyDuration)
        writer.field("VerifyStatus", verifyStatus.rawValue)
        if let errorCode { writer.field("ErrorCode", errorCode) }
        if let errorDetail { writer.field("ErrorDetail", errorDetail) }
        writer.endObject()
        writer.endObject()
        return writer.text
    }

    /// ISO 8601 with milliseconds and a UTC offset, as the AWS CLI prints DataSync timestamps.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
