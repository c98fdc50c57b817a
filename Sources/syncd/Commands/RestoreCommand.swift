import Foundation
import MappingStore
import Recovery
import SyncEngine

/// `syncd restore`: copies a profile's old home into its new one when its latest home change calls for it.
enum RestoreCommand: SubcommandRunner {
    static let commandName = "restore"
    static let abstract = "Restore a Studio profile's old home folder into its new one."

    static let spec = CommandSpec(
        name: "syncd restore",
        overview: abstract,
        discussion: """
        Finds the profile's latest change of EFS volume or UID in the mapping store. When the \
        old row had replication on, copies <old mount>/<old uid> into <new mount>/<new uid> with \
        the old UID mapped to the new one, then writes the counters and status to the row and a \
        history record. Running it again after a successful restore copies nothing. Exit codes: \
        0 restored or already restored, 3 nothing due, 4 replication off, 64 usage, 65 invalid \
        data or unknown profile, 75 store locked, 1 or the copy's own codes (23 to 26) when the copy fails, 130 or 143 \
        when stopped by SIGINT or SIGTERM.
        """,
        options: [
            .value("profile-name", "name", help: "The user profile or space name."),
            .value("domain-name", "name", help: "The Studio domain name."),
            .flag("user", help: "Select the user profile when a space has the same name."),
            .flag("space", help: "Select the space when a user profile has the same name."),
            .flag("json", help: "Print the copy's result as DataSync's DescribeTaskExecution JSON on stdout."),
        ] + ServiceOptions.options
    )

    static func run(_ arguments: ParsedArguments) throws(UsageError) -> Int32 {
        let log = ServiceLog(arguments)
        do {
            let profileName = try ServiceOptions.required("profile-name", arguments)
            let domainName = try ServiceOptions.required("domain-name", arguments)
            let kind = try ServiceOptions.kind(from: arguments)
            try Validation.checkResourceName(profileName, field: "profile name")
            try Validation.checkResourceName(domainName, field: "domain name")
            let configuration = try ServiceOptions.configuration(from: arguments)
            let store = try ServiceOptions.openStore(configuration, createIfMissing: false)
            let key = try store.resolveProfile(named: profileName, inDomain: domainName, kind: kind).key

            let restore = ProfileRestore(store: store, locator: HomeLocator(mounts: configuration.mounts), taskOptions: configuration.taskOptions)
            switch try restore.plan(key) {
            case .skip(let outcome):
                return reportSkipped(outcome, key: key, json: arguments.isSet("json"), log: log)
            case .run(let job):
                log.info("Restoring \(key) from \(job.sourceHome) (UID \(job.source.efsUID)) into \(job.targetHome) (UID \(job.target.efsUID)).",
                         ["profile": key.profileName, "domain": key.domainName, "change": String(job.changeSequence)])
                let logger = EntryLogger(level: configuration.taskOptions.logLevel)
                let task = restore.makeTask(for: job, observer: logger)
                let signals = StopSignals { task.cancel() }
                let execution = task.run()
                if execution.errorCode == "DestinationBusy" {
                    // Another restore of this home is running; its own result goes to the row.
                    log.info("Not restored: \(execution.errorDetail ?? "the target home is busy").", ["profile": key.profileName, "domain": key.domainName])
                    return ExitCode.taskFailed
                }
                if arguments.isSet("json") {
                    // Printed before the row is written, so the counters survive a store that stays locked.
                    print(execution.dataSyncJSON())
                }
                // A stopped copy is recorded too, with status ERROR, so the row never claims a finished restore.
                try recordPatiently(execution, of: job, restore: restore, log: log)
                if configuration.taskOptions.logLevel != .off {
                    log.info(summary(of: execution, dryRun: false), ["profile": key.profileName, "domain": key.domainName, "status": execution.status.rawValue])
                }
                return signals.exitCode ?? exitCode(for: execution)
            }
        } catch {
            return ServiceOptions.report(error, spec: spec, log: log)
        }
    }

    /// Writes the result to the row, waiting out a store locked by another process for up to a
    /// minute: the data has already moved, and a later run would find nothing left to count.
    private static func recordPatiently(_ execution: TaskExecution, of job: RestoreJob, restore: ProfileRestore, log: ServiceLog) throws {
        var attempt = 0
        while true {
            attempt += 1
            do {
                try restore.record(execution, of: job)
                return
            } catch MappingStoreError.locked(let path, let waited) where attempt < 12 {
                log.info("The store \(path) is locked (waited \(waited) ms); retrying to record the result, attempt \(attempt + 1) of 12.",
                         ["change": String(job.changeSequence)])
            } catch {
                log.info("The copy finished but its result could not be recorded; counters: bytes_written \(execution.bytesWritten), "
                         + "bytes_file_transferred \(execution.bytesTransferred), files_transferred \(execution.filesTransferred), "
                         + "total_duration_ms \(execution.totalDuration), replication_status \(execution.status.rawValue).",
                         ["change": String(job.changeSequence)])
                throw error
            }
        }
    }

    private static func reportSkipped(_ outcome: RestoreOutcome, key: ProfileKey, json: Bool, log: ServiceLog) -> Int32 {
        let fields = ["profile": key.profileName, "domain": key.domainName]
        switch outcome {
        case .alreadyRestored(let sequence, let summary):
            log.info("Nothing to copy: \(key) was already restored for change \(sequence) with status \(summary.replicationStatus).", fields)
            if json {
                print(alreadyRestoredJSON(sequence: sequence, summary: summary))
            }
            return ExitCode.success
        case .notDue(.replicationOff):
            log.info("Nothing copied: replication is off for \(key). Turn it on with 'syncd profile set-replication --replication'.", fields)
            return ExitCode.replicationOff
        case .notDue(let reason):
            log.info("Nothing to copy for \(key): \(reason).", fields)
            return ExitCode.nothingDue
        case .restored:
            return ExitCode.success
        }
    }

    /// The stored counters of the earlier successful restore, under DataSync's field names.
    private static func alreadyRestoredJSON(sequence: Int64, summary: RestoreSummary) -> String {
        let object: [String: Any] = [
            "Status": summary.replicationStatus,
            "AlreadyRestored": true,
            "ChangeSequence": sequence,
            "FilesTransferred": summary.filesTransferred,
            "BytesWritten": summary.bytesWritten,
            "BytesTransferred": summary.bytesFileTransferred,
            "Result": ["TotalDuration": summary.totalDurationMilliseconds],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
