import Foundation
import SyncEngine

/// `syncd copy SOURCE DESTINATION`: replicates one tree into another.
enum CopyCommand: SubcommandRunner {
    static let commandName = "copy"
    static let abstract = "Replicate the contents of a folder into another, exactly and in parallel."

    static let spec = CommandSpec(
        name: "syncd copy",
        overview: abstract,
        discussion: """
        Copies SOURCE/ into DESTINATION/ as 'rsync -aHAXS --numeric-ids' does: folders, files, \
        symlinks, hard links, FIFOs, owners, modes, times, ACLs, xattrs and sparse files. Entries \
        whose type, size, time and metadata already match are left untouched.
        """,
        arguments: [
            .init(name: "source", help: "The folder whose contents are copied."),
            .init(name: "destination", help: "The folder that receives them; created if missing."),
        ],
        options: TaskOptionParsing.options + [
            .flag("json", help: "Print the result as DataSync's DescribeTaskExecution JSON on stdout."),
            .value("report", "file", help: "Write a task report to this file."),
            .value("report-level", "level", help: "Which entries the report lists: errors-only or successes-and-errors.", default: "errors-only"),
            .value("report-type", "type", help: "summary-only or standard.", default: "standard"),
            .flag("dry-run", short: "n", help: "Report what would change and change nothing."),
            .flag("progress", inverse: "no-progress", help: "Show a live progress line on stderr (default: on when stderr is a terminal)."),
        ]
    )

    static func run(_ arguments: ParsedArguments) throws(UsageError) -> Int32 {
        var options = try TaskOptionParsing.taskOptions(from: arguments)
        options.dryRun = arguments.isSet("dry-run")
        let source = arguments.positionals[0]
        let destination = arguments.positionals[1]

        for (argument, path) in [("source", source), ("destination", destination)] where path.isEmpty {
            throw UsageError(message: "The \(argument) path is empty; give a folder path")
        }
        if let problem = ReplicationTask.overlapProblem(source: source, destination: destination) {
            throw UsageError(message: "Overlapping folders: \(problem); choose a destination outside the source")
        }

        let logger = EntryLogger(level: options.logLevel)
        var report: TaskReport? = nil
        if let path = arguments.value("report") {
            let type = try arguments.choice("report-type", ["summary-only", "standard"]) ?? "standard"
            let level = try arguments.choice("report-level", ["errors-only", "successes-and-errors"]) ?? "errors-only"
            do {
                report = try TaskReport(path: path, type: type == "standard" ? .standard : .summaryOnly,
                                        level: level == "errors-only" ? .errorsOnly : .successesAndErrors)
            } catch {
                throw UsageError(message: "Cannot create the report file '\(path)': check that its folder exists and is writable")
            }
            logger.forward = { [report] event in report?.record(event) }
        }

        let task = ReplicationTask(source: source, destination: destination, options: options, observer: logger)
        let progress = ProgressDisplay(task: task, enabled: arguments.flag("progress") ?? (isatty(STDERR_FILENO) != 0))
        let signals = StopSignals { task.cancel() }
        progress.start()
        let execution = task.run()
        progress.stop()

        if let report {
            do {
                try report.finish(execution)
            } catch {
                printError("error: cannot write the report file '\(arguments.value("report") ?? "")': \(error.localizedDescription)")
            }
        }

        if arguments.isSet("json") {
            print(execution.dataSyncJSON())
        }
        if options.logLevel != .off {
            printError(summary(of: execution, dryRun: options.dryRun))
        }
        return signals.exitCode ?? exitCode(for: execution)
    }
}
