import Foundation
import MappingStore
import SyncEngine

/// The settings that `restore`, `profile` and `serve` share, read from one JSON object.
///
/// Keys: `store` (SQLite file), `mounts` (EFS id to mount path), `spool` (event folder),
/// `taskOptions` (DataSync's Options object for restores), `maxConcurrentJobs`, `maxAttempts`,
/// `homeWaitInterval` and `homeWaitTimeout` (durations such as "30s" or "5m"), and
/// `resolverCommand` (an argv template). Unknown keys are rejected so that a misspelt key is
/// not silently ignored. Command-line options are applied over the file by the caller.
public struct ServiceConfiguration: Sendable {
    public static let defaultPath = "/etc/syncd/syncd.json"
    public static let defaultStorePath = "/var/lib/syncd/syncd.sqlite"

    public var storePath = ServiceConfiguration.defaultStorePath
    /// The mount path of each EFS volume on this host. A home is `<mount>/<uid>`.
    public var mounts: [EFSFileSystemID: String] = [:]
    /// Options for restore tasks: DataSync's defaults, then the file's `taskOptions`.
    public var taskOptions = TaskOptions()
    public var spoolPath: String?
    public var maxConcurrentJobs: Int?
    public var maxAttempts: Int?
    public var homeWaitInterval: Duration?
    public var homeWaitTimeout: Duration?
    public var resolverCommand: [String]?

    public static let knownKeys: Set<String> = [
        "store", "mounts", "spool", "taskOptions", "maxConcurrentJobs", "maxAttempts", "homeWaitInterval",
        "homeWaitTimeout", "resolverCommand",
    ]

    public init() {}

    /// Reads the file at `path`. A missing file is an error when `required`, and the defaults otherwise.
    public static func load(path: String, required: Bool) throws -> ServiceConfiguration {
        guard FileManager.default.fileExists(atPath: path) else {
            if required { throw RecoveryError.configurationNotFound(path: path) }
            return ServiceConfiguration()
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecoveryError.invalidConfiguration(path: path, detail: "the file cannot be read")
        }
        return try ServiceConfiguration(json: data, origin: path)
    }

    /// Parses the JSON object. `origin` names the file in error messages, and relative paths
    /// are taken relative to the file's folder.
    public init(json data: Data, origin: String) throws {
        func invalid(_ detail: String) -> RecoveryError { .invalidConfiguration(path: origin, detail: detail) }

        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw invalid("not valid JSON")
        }
        guard let object = parsed as? [String: Any] else { throw invalid("expected one JSON object") }
        if let unknown = object.keys.sorted().first(where: { !Self.knownKeys.contains($0) }) {
            throw invalid("unknown key '\(unknown)'; expected one of \(Self.knownKeys.sorted().joined(separator: ", "))")
        }
        let baseFolder = (origin as NSString).deletingLastPathComponent

        if let store = object["store"] {
            guard let text = store as? String, !text.isEmpty else { throw invalid("'store' must be a file path") }
            storePath = Self.absolutePath(text, relativeTo: baseFolder)
        }
        if let rawMounts = object["mounts"] {
            guard let table = rawMounts as? [String: Any] else { throw invalid("'mounts' must map EFS ids to mount paths") }
            for (idText, rawPath) in table {
                guard let id = try? EFSFileSystemID(validating: idText) else {
                    throw invalid("'mounts' key '\(idText)' is not an EFS file-system id such as fs-0123abcd")
                }
                guard let path = rawPath as? String, !path.isEmpty else { throw invalid("'mounts' value for \(idText) must be a path") }
                mounts[id] = Self.absolutePath(path, relativeTo: baseFolder)
            }
        }
        if let rawOptions = object["taskOptions"] {
            guard let options = rawOptions as? [String: Any] else { throw invalid("'taskOptions' must be DataSync's Options object") }
            do {
                try taskOptions.apply(dataSyncObject: options)
            } catch let error as TaskOptionsError {
                throw invalid("'taskOptions': \(error.description)")
            }
        }
        if let spool = object["spool"] {
            guard let text = spool as? String, !text.isEmpty else { throw invalid("'spool' must be a folder path") }
            spoolPath = Self.absolutePath(text, relativeTo: baseFolder)
        }
        maxConcurrentJobs = try Self.positiveInteger(object["maxConcurrentJobs"], key: "maxConcurrentJobs", origin: origin)
        maxAttempts = try Self.positiveInteger(object["maxAttempts"], key: "maxAttempts", origin: origin)
        homeWaitInterval = try Self.duration(object["homeWaitInterval"], key: "homeWaitInterval", origin: origin)
        homeWaitTimeout = try Self.duration(object["homeWaitTimeout"], key: "homeWaitTimeout", origin: origin)
        if let command = object["resolverCommand"] {
            guard let words = command as? [String], !words.isEmpty else {
                throw invalid("'resolverCommand' must be a non-empty array of strings (an argv template)")
            }
            resolverCommand = words
        }
    }

    /// Applies one `--mount EFS_ID=PATH` argument, which wins over the file's entry for that id.
    public mutating func applyMountArgument(_ text: String) throws {
        guard let equals = text.firstIndex(of: "=") else {
            throw RecoveryError.invalidMountArgument(text, reason: "there is no '='")
        }
        let idText = String(text[..<equals])
        let path = String(text[text.index(after: equals)...])
        guard let id = try? EFSFileSystemID(validating: idText) else {
            throw RecoveryError.invalidMountArgument(text, reason: "'\(idText)' is not 'fs-' followed by 8 or 17 lowercase hexadecimal digits")
        }
        guard !path.isEmpty else {
            throw RecoveryError.invalidMountArgument(text, reason: "the path is empty")
        }
        mounts[id] = Self.absolutePath(path, relativeTo: FileManager.default.currentDirectoryPath)
    }

    /// Parses a duration such as "250ms", "30s", "5m" or "2h".
    public static func parseDuration(_ text: String) -> Duration? {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                  let value = Double(number), value.isFinite else { return nil }
            return .milliseconds(Int64((value * unit.seconds * 1000).rounded()))
        }
        return nil
    }

    /// `path` made absolute against `folder`, with `.` and `..` components removed.
    public static func absolutePath(_ path: String, relativeTo folder: String) -> String {
        let joined = path.hasPrefix("/") ? path : (folder as NSString).appendingPathComponent(path)
        return (joined as NSString).standardizingPath
    }

    private static func positiveInteger(_ raw: Any?, key: String, origin: String) throws -> Int? {
        guard let raw else { return nil }
        guard !(raw is Bool), let number = raw as? NSNumber, let value = Int(exactly: number.doubleValue), value > 0 else {
            throw RecoveryError.invalidConfiguration(path: origin, detail: "'\(key)' must be a positive whole number")
        }
        return value
    }

    private static func duration(_ raw: Any?, key: String, origin: String) throws -> Duration? {
        guard let raw else { return nil }
        guard let text = raw as? String, let value = parseDuration(text) else {
            throw RecoveryError.invalidConfiguration(path: origin, detail: "'\(key)' must be a duration such as \"30s\" or \"5m\"")
        }
        return value
    }
}
