import Foundation
import MappingStore
import Recovery

extension ExitCode {
    /// `restore`: the profile's latest home change calls for no copy. It is a first registration,
    /// a removal, or a row from `add-target` whose profile has not registered yet. Nothing was changed.
    static let nothingDue: Int32 = 3
    /// `restore`: replication is off for the profile, so nothing was copied.
    static let replicationOff: Int32 = 4
    /// Another process kept the mapping store locked past the busy timeout (sysexits
    /// EX_TEMPFAIL). Nothing was changed; run the command again later.
    static let storeLocked: Int32 = 75
}

/// The options shared by the subcommands that use the mapping store: `--config`, `--store`,
/// `--mount` and `--log-format`. Values given here win over the configuration file.
enum ServiceOptions {
    static let options: [CommandSpec.Option] = [
        .value("config", "file", help: "Read settings from this JSON file; a missing default file means built-in defaults.", default: ServiceConfiguration.defaultPath),
        .value("store", "file", help: "The SQLite mapping store, over the file's 'store'.", default: ServiceConfiguration.defaultStorePath),
        .value("mount", "efs-id=path", help: "Where an EFS volume is mounted on this host, such as fs-0123abcd=/mnt/efs-old; repeatable, over the file's 'mounts'.", repeatable: true),
        .value("log-format", "format", help: "How messages on stderr are written: text or json (one object per line).", default: "text"),
    ]

    /// Reads the configuration file and applies the command-line options over it.
    static func configuration(from arguments: ParsedArguments) throws -> ServiceConfiguration {
        _ = try arguments.choice("log-format", ["text", "json"])
        let explicitPath = arguments.value("config")
        var configuration = try ServiceConfiguration.load(path: explicitPath ?? ServiceConfiguration.defaultPath, required: explicitPath != nil)
        if let store = arguments.value("store") {
            guard !store.isEmpty else { throw UsageError(message: "The option '--store' needs a file path") }
            configuration.storePath = ServiceConfiguration.absolutePath(store, relativeTo: FileManager.default.currentDirectoryPath)
        }
        for mount in arguments.values("mount") {
            try configuration.applyMountArgument(mount)
        }
        return configuration
    }

    /// Opens the mapping store. Read-only commands pass `createIfMissing: false`, so that a
    /// misspelt path is reported instead of read as a new, empty store.
    /// A writing command creates the store's folder when it is missing, as a first run on a
    /// new host needs for the default path.
    static func openStore(_ configuration: ServiceConfiguration, createIfMissing: Bool) throws -> SQLiteMappingStore {
        let folder = (configuration.storePath as NSString).deletingLastPathComponent
        if createIfMissing && !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            } catch {
                throw MappingStoreError.cannotOpen(path: configuration.storePath, detail: "its folder cannot be created: \(error.localizedDescription)")
            }
        }
        return try SQLiteMappingStore(path: configuration.storePath, createIfMissing: createIfMissing)
    }

    /// Which kind `--user` or `--space` selects, or nil when neither is given.
    static func kind(from arguments: ParsedArguments, user: String = "user", space: String = "space") throws(UsageError) -> ProfileKind? {
        switch (arguments.isSet(user), arguments.isSet(space)) {
        case (true, true): throw UsageError(message: "Give only one of '--\(user)' and '--\(space)'")
        case (true, false): return .user
        case (false, true): return .space
        case (false, false): return nil
        }
    }

    /// The value of a required option, or a usage error that names it.
    static func required(_ name: String, _ arguments: ParsedArguments) throws(UsageError) -> String {
        guard let value = arguments.value(name) else {
            throw UsageError(message: "Missing expected option '--\(name)'")
        }
        return value
    }

    /// Prints `error` in the usual `Error: …` form and returns its exit code.
    ///
    /// Usage errors and a name that needs `--user` or `--space` print the usage line (exit 64).
    /// Invalid ids, unknown profiles and a corrupt store exit 65, and a locked store exits 75.
    /// A store that cannot be opened or written exits 1.
    static func report(_ error: any Error, spec: CommandSpec, log: ServiceLog) -> Int32 {
        switch error {
        case let usage as UsageError:
            return reportUsageError(usage, spec: spec)
        case let recovery as RecoveryError where recovery.isUsageError:
            return reportUsageError(UsageError(message: recovery.description), spec: spec)
        case let recovery as RecoveryError:
            log.error(recovery.description)
            return ExitCode.dataError
        case let store as MappingStoreError:
            if case .ambiguousProfile = store {
                return reportUsageError(UsageError(message: store.description), spec: spec)
            }
            log.error(store.description)
            if case .locked = store { return ExitCode.storeLocked }
            return store.isDataError ? ExitCode.dataError : ExitCode.taskFailed
        default:
            log.error("\(error)")
            return ExitCode.taskFailed
        }
    }
}

/// Writes the messages of the store commands to stderr, as text or as one JSON object per line.
struct ServiceLog {
    let json: Bool

    init(_ arguments: ParsedArguments) {
        json = arguments.value("log-format") == "json"
    }

    func info(_ message: String, _ fields: [String: String] = [:]) {
        write("info", message, fields)
    }

    func error(_ message: String, _ fields: [String: String] = [:]) {
        write("error", message, fields)
    }

    private func write(_ level: String, _ message: String, _ fields: [String: String]) {
        guard json else {
            printError(level == "error" ? "Error: \(message)" : message)
            return
        }
        var object = fields
        object["level"] = level
        object["message"] = message
        object["time"] = ISO8601DateFormatter().string(from: Date())
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
            printError(String(decoding: data, as: UTF8.self))
        }
    }
}
