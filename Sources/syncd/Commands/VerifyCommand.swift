import Foundation
import SyncEngine

/// `syncd verify SOURCE DESTINATION`: compares two trees without copying.
enum VerifyCommand: SubcommandRunner {
    static let commandName = "verify"
    static let abstract = "Compare two trees by content checksum and metadata, without copying."

    static let spec = CommandSpec(
        name: "syncd verify",
        overview: abstract,
        discussion: "Prints one line per difference and exits 0 only when the trees are identical.",
        arguments: [
            .init(name: "source", help: "The folder taken as the reference."),
            .init(name: "destination", help: "The folder checked against it."),
        ],
        options: [
            .value("checksum", "algorithm", help: "xxh128 or sha256.", default: "xxh128"),
            .value("owner", "mode", help: "preserve: compare numeric owners; none: ignore them.", default: "preserve"),
            .value("map-uid", "old:new", help: "Expect owner NEW where the source has OLD (repeatable).", repeatable: true),
            .value("map-gid", "old:new", help: "Expect group NEW where the source has OLD (repeatable).", repeatable: true),
            .value("include", "patterns", help: "Compare only paths matching these '|'-separated patterns (repeatable), as copy --include.", repeatable: true),
            .value("exclude", "patterns", help: "Ignore paths matching these '|'-separated patterns (repeatable).", repeatable: true),
            .flag("devices", help: "Compare character and block devices too (copied only with --devices)."),
            .value("perms", "mode", help: "preserve: compare modes; none: ignore them.", default: "preserve"),
            .value("mtime", "mode", help: "preserve: compare modification times; none: ignore them.", default: "preserve"),
            .value("workers", "n", help: "Parallel workers."),
            .flag("json", help: "Print the differences as a JSON array on stdout."),
        ]
    )

    static func run(_ arguments: ParsedArguments) throws(UsageError) -> Int32 {
        let options = try TaskOptionParsing.taskOptions(from: arguments)
        let source = arguments.positionals[0]
        let destination = arguments.positionals[1]
        for path in [source, destination] {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                printError("Error: '\(path)' is not a folder")
                return ExitCode.taskFailed
            }
        }

        for (argument, path) in [("source", source), ("destination", destination)] where path.isEmpty {
            throw UsageError(message: "The \(argument) path is empty; give a folder path")
        }
        if let problem = ReplicationTask.overlapProblem(source: source, destination: destination) {
            throw UsageError(message: "Overlapping folders: \(problem)")
        }

        let (differences, execution) = ReplicationTask(source: source, destination: destination, options: options).compare()
        if !execution.downgrades.isEmpty {
            printError("note: the destination filesystem does not support xattrs (EFS, for example), so ACLs and xattrs were not compared.")
        }
        if arguments.isSet("json") {
            var writer = OrderedJSONWriter(pretty: true)
            writer.beginArray()
            for difference in differences {
                writer.beginObject()
                writer.field("RelativePath", escapedPath(difference.path))
                writer.field("Aspect", difference.aspect)
                writer.field("Detail", difference.detail)
                writer.endObject()
            }
            writer.endArray()
            print(writer.text)
        } else {
            for difference in differences {
                print(difference.line)
            }
        }
        if !differences.isEmpty {
            printError("\(differences.count) differences between '\(source)' and '\(destination)'.")
            return ExitCode.verificationMismatch
        }
        return ExitCode.success
    }
}
