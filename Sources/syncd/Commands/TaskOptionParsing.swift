import Foundation
import SyncEngine

/// The task options shared by `copy` and the restore commands, and how flags become `TaskOptions`.
enum TaskOptionParsing {
    static let options: [CommandSpec.Option] = [
        .value("transfer-mode", "mode", help: "changed: copy only what differs; all: rewrite every file's content.", default: "changed"),
        .value("verify-mode", "mode", help: "transferred: check each copied file; all: compare both whole trees at the end; none.", default: "transferred"),
        .value("overwrite", "mode", help: "always, or never to keep every entry the destination already has.", default: "always"),
        .flag("delete", help: "Remove destination entries that the source does not have (PreserveDeletedFiles REMOVE)."),
        .value("owner", "mode", help: "preserve: keep numeric owner and group; none: leave them to this process.", default: "preserve"),
        .value("map-uid", "old:new", help: "Write owner NEW where the source has OLD (repeatable).", repeatable: true),
        .value("map-gid", "old:new", help: "Write group NEW where the source has OLD (repeatable).", repeatable: true),
        .value("perms", "mode", help: "preserve or none (PosixPermissions).", default: "preserve"),
        .value("mtime", "mode", help: "preserve or none.", default: "preserve"),
        .value("atime", "mode", help: "best-effort or none.", default: "best-effort"),
        .flag("devices", help: "Copy character and block devices (PreserveDevices PRESERVE)."),
        .value("include", "patterns", help: "Copy only paths matching these '|'-separated SIMPLE_PATTERN patterns (repeatable).", repeatable: true),
        .value("exclude", "patterns", help: "Skip paths matching these '|'-separated SIMPLE_PATTERN patterns (repeatable).", repeatable: true),
        .value("bwlimit", "bytes-per-second", help: "Average transfer rate cap; accepts K, M and G suffixes (powers of 1024)."),
        .value("checksum", "algorithm", help: "xxh128 or sha256.", default: "xxh128"),
        .value("workers", "n", help: "Parallel workers (default: chosen from the destination filesystem type)."),
        .value("log-level", "level", help: "off, basic, or transfer to log every entry.", default: "basic"),
        .value("options", "json", help: "DataSync's Options object as JSON, or @FILE to read it; explicit flags win."),
    ]

    /// Builds task options: defaults, then `--options`, then explicit flags.
    static func taskOptions(from arguments: ParsedArguments) throws(UsageError) -> TaskOptions {
        var options = TaskOptions()
        if let json = arguments.value("options") {
            let text: String
            if json.hasPrefix("@") {
                let path = String(json.dropFirst())
                guard let data = FileManager.default.contents(atPath: path), let decoded = String(data: data, encoding: .utf8) else {
                    throw UsageError(message: "Cannot read the Options file '\(path)': not found or not readable UTF-8")
                }
                text = decoded
            } else {
                text = json
            }
            do {
                try options.apply(dataSyncJSON: text)
            } catch let error as TaskOptionsError {
                // Malformed JSON, unknown fields and invalid values are bad data (65); a conflict
                // between settings or a setting syncd does not offer is a usage error (64).
                let isUsage: Bool
                switch error {
                case .conflict, .unsupported: isUsage = true
                default: isUsage = false
                }
                throw UsageError(message: "--options: \(error.description)", isDataError: !isUsage)
            } catch {
                throw UsageError(message: "--options: \(error)")
            }
        }

        if let mode = try arguments.choice("transfer-mode", ["changed", "all"]) {
            options.transferMode = TaskOptions.TransferMode(rawValue: mode)!
        }
        if let mode = try arguments.choice("verify-mode", ["transferred", "all", "none"]) {
            options.verifyMode = TaskOptions.VerifyMode(rawValue: mode)!
        }
        if let mode = try arguments.choice("overwrite", ["always", "never"]) {
            options.overwrite = TaskOptions.OverwriteMode(rawValue: mode)!
        }
        if arguments.isSet("delete") {
            options.deleteExtraneous = true
        }
        if let mode = try arguments.choice("owner", ["preserve", "none"]) {
            options.owners = TaskOptions.Preservation(rawValue: mode)!
        }
        if let mode = try arguments.choice("perms", ["preserve", "none"]) {
            options.permissions = TaskOptions.Preservation(rawValue: mode)!
        }
        if let mode = try arguments.choice("mtime", ["preserve", "none"]) {
            options.mtime = TaskOptions.Preservation(rawValue: mode)!
        }
        if let mode = try arguments.choice("atime", ["best-effort", "none"]) {
            options.atime = TaskOptions.AtimeMode(rawValue: mode)!
        } else if options.mtime == .none {
            // Access times are kept only along with modification times, as in DataSync.
            options.atime = .none
        }
        if arguments.isSet("devices") {
            options.preserveDevices = true
        }
        if let algorithm = try arguments.choice("checksum", ["xxh128", "sha256"]) {
            options.checksum = ChecksumAlgorithm(rawValue: algorithm)!
        }
        if let level = try arguments.choice("log-level", ["off", "basic", "transfer"]) {
            options.logLevel = TaskOptions.LogLevel(rawValue: level)!
        }
        options.workers = try arguments.integer("workers", Int.self, range: 1...1024)
        for (flag, keyPath) in [("map-uid", \TaskOptions.uidMap), ("map-gid", \TaskOptions.gidMap)] {
            for pair in arguments.values(flag) {
                let parts = pair.split(separator: ":", omittingEmptySubsequences: false)
                // 4294967295 is (uid_t)-1, which chown(2) reads as "leave unchanged".
                guard parts.count == 2, let old = UInt32(parts[0]), let new = UInt32(parts[1]),
                      old != UInt32.max, new != UInt32.max else {
                    throw UsageError(message: "Invalid value '\(pair)' for '--\(flag)': expected OLD:NEW with decimal ids below 4294967295, such as 200001:200005")
                }
                if let earlier = options[keyPath: keyPath][old], earlier != new {
                    throw UsageError(message: "Conflicting values for '--\(flag)': \(old) is mapped to both \(earlier) and \(new)")
                }
                options[keyPath: keyPath][old] = new
            }
        }
        if let limit = arguments.value("bwlimit") {
            guard let bytes = parseByteCount(limit), bytes > 0 else {
                throw UsageError(message: "Invalid value '\(limit)' for '--bwlimit': expected a positive byte rate such as 1048576, 512K or 10M")
            }
            options.bytesPerSecond = bytes
        }
        do {
            options.filters = try PathFilters(include: arguments.values("include"), exclude: arguments.values("exclude"))
            try options.validate()
        } catch {
            throw UsageError(message: "\(error)")
        }
        return options
    }

    /// Parses `123`, `64K`, `10M`, `1G` (powers of 1024).
    static func parseByteCount(_ text: String) -> Int64? {
        let multipliers: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        if let last = text.last, let multiplier = multipliers[last] {
            guard let number = Int64(text.dropLast()), number <= Int64.max / multiplier else { return nil }
            return number * multiplier
        }
        return Int64(text)
    }
}
