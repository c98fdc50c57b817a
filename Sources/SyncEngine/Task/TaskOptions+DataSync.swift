import Foundation

extension TaskOptions {
    /// The fields of DataSync's `Options` object that this reader accepts.
    public static let dataSyncFields: Set<String> = [
        "VerifyMode", "OverwriteMode", "Atime", "Mtime", "Uid", "Gid", "PreserveDeletedFiles",
        "PreserveDevices", "PosixPermissions", "BytesPerSecond", "TaskQueueing", "LogLevel",
        "TransferMode", "SecurityDescriptorCopyFlags", "ObjectTags",
    ]

    /// Applies DataSync's `Options` object, given as JSON text, over these options.
    ///
    /// Fields for other location types (TaskQueueing, SecurityDescriptorCopyFlags, ObjectTags)
    /// are accepted and have no effect. Uid and Gid NAME or BOTH are rejected: owners are copied
    /// by number because the two volumes' hosts share no name service.
    public mutating func apply(dataSyncJSON text: String) throws {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw TaskOptionsError.malformedJSON("expected a JSON object such as {\"VerifyMode\": \"NONE\"}")
            }
            object = parsed
        } catch let error as TaskOptionsError {
            throw error
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "not valid JSON"
            throw TaskOptionsError.malformedJSON(detail.hasSuffix(".") ? String(detail.dropLast()) : detail)
        }
        try apply(dataSyncObject: object)
    }

    /// Applies an already parsed `Options` object (for example one key of a configuration file).
    public mutating func apply(dataSyncObject object: [String: Any]) throws {
        for key in object.keys.sorted() where !Self.dataSyncFields.contains(key) {
            throw TaskOptionsError.unknownField(key)
        }

        func value(_ field: String, _ allowed: [String]) throws -> String? {
            guard let raw = object[field] else { return nil }
            guard let string = raw as? String, allowed.contains(string) else {
                throw TaskOptionsError.invalidValue(
                    option: field, value: "\(raw)", reason: "expected one of \(allowed.joined(separator: ", "))")
            }
            return string
        }

        switch try value("VerifyMode", ["POINT_IN_TIME_CONSISTENT", "ONLY_FILES_TRANSFERRED", "NONE"]) {
        case "POINT_IN_TIME_CONSISTENT": verifyMode = .all
        case "ONLY_FILES_TRANSFERRED": verifyMode = .transferred
        case "NONE": verifyMode = .none
        default: break
        }
        switch try value("OverwriteMode", ["ALWAYS", "NEVER"]) {
        case "ALWAYS": overwrite = .always
        case "NEVER": overwrite = .never
        default: break
        }
        switch try value("TransferMode", ["CHANGED", "ALL"]) {
        case "CHANGED": transferMode = .changed
        case "ALL": transferMode = .all
        default: break
        }
        switch try value("PreserveDeletedFiles", ["PRESERVE", "REMOVE"]) {
        case "PRESERVE": deleteExtraneous = false
        case "REMOVE": deleteExtraneous = true
        default: break
        }
        switch try value("PreserveDevices", ["NONE", "PRESERVE"]) {
        case "NONE": preserveDevices = false
        case "PRESERVE": preserveDevices = true
        default: break
        }
        switch try value("PosixPermissions", ["NONE", "PRESERVE"]) {
        case "NONE": permissions = .none
        case "PRESERVE": permissions = .preserve
        default: break
        }
        switch try value("Mtime", ["NONE", "PRESERVE"]) {
        case "NONE": mtime = .none
        case "PRESERVE": mtime = .preserve
        default: break
        }
        switch try value("Atime", ["NONE", "BEST_EFFORT"]) {
        case "NONE": atime = .none
        case "BEST_EFFORT": atime = .bestEffort
        default:
            // Atime follows Mtime NONE unless given: DataSync accepts BEST_EFFORT only with PRESERVE.
            if mtime == .none { atime = .none }
        }
        switch try value("LogLevel", ["OFF", "BASIC", "TRANSFER"]) {
        case "OFF": logLevel = .off
        case "BASIC": logLevel = .basic
        case "TRANSFER": logLevel = .transfer
        default: break
        }

        // Uid and Gid: DataSync treats them as one setting each; syncd keeps or drops both together.
        let uid = try value("Uid", ["NONE", "INT_VALUE", "NAME", "BOTH"])
        let gid = try value("Gid", ["NONE", "INT_VALUE", "NAME", "BOTH"])
        for (field, setting) in [("Uid", uid), ("Gid", gid)] where setting == "NAME" || setting == "BOTH" {
            throw TaskOptionsError.unsupported(
                option: field, value: setting!,
                reason: "owners are copied by number (INT_VALUE) because the source and destination hosts share no user names; use INT_VALUE or NONE")
        }
        if let uid, let gid, uid != gid {
            throw TaskOptionsError.conflict("Uid \(uid) with Gid \(gid); syncd keeps owner and group together, so give both the same value")
        }
        if let setting = uid ?? gid {
            owners = setting == "NONE" ? .none : .preserve
        }

        if let raw = object["BytesPerSecond"] {
            guard !(raw is Bool), let number = raw as? NSNumber,
                  let limit = Int64(exactly: number.doubleValue), limit == -1 || limit > 0 else {
                throw TaskOptionsError.invalidValue(
                    option: "BytesPerSecond", value: "\(raw)", reason: "expected -1 (unlimited) or a positive whole number of bytes per second")
            }
            bytesPerSecond = limit == -1 ? nil : limit
        }

        if let queueing = try value("TaskQueueing", ["ENABLED", "DISABLED"]) {
            taskQueueing = queueing
        }
        _ = try value("ObjectTags", ["PRESERVE", "NONE"])
        _ = try value("SecurityDescriptorCopyFlags", ["NONE", "OWNER_DACL", "OWNER_DACL_SACL"])
        try validate()
    }

    /// Rejects combinations that DataSync rejects too.
    public func validate() throws {
        if atime == .bestEffort && mtime == .none {
            throw TaskOptionsError.conflict(
                "Atime BEST_EFFORT with Mtime NONE (--atime best-effort with --mtime none); DataSync requires Mtime PRESERVE when Atime is BEST_EFFORT, so use --atime none too")
        }
        if transferMode == .all && deleteExtraneous {
            throw TaskOptionsError.conflict(
                "TransferMode ALL with PreserveDeletedFiles REMOVE (--transfer-mode all with --delete); DataSync rejects this pair because a full transfer does not compare the destination")
        }
        if let workers, workers < 1 || workers > 1024 {
            throw TaskOptionsError.invalidValue(option: "--workers", value: "\(workers)", reason: "expected a number from 1 to 1024")
        }
    }

    /// DataSync's name for the verify mode.
    private var verifyModeName: String {
        switch verifyMode {
        case .all: return "POINT_IN_TIME_CONSISTENT"
        case .transferred: return "ONLY_FILES_TRANSFERRED"
        case .none: return "NONE"
        }
    }

    /// These options as DataSync's `Options` object, for results and reports.
    public var dataSyncObject: [(key: String, value: DataSyncValue)] {
        let owner = owners == .preserve ? "INT_VALUE" : "NONE"
        return [
            ("VerifyMode", .string(verifyModeName)),
            ("OverwriteMode", .string(overwrite == .always ? "ALWAYS" : "NEVER")),
            ("Atime", .string(atime == .bestEffort ? "BEST_EFFORT" : "NONE")),
            ("Mtime", .string(mtime == .preserve ? "PRESERVE" : "NONE")),
            ("Uid", .string(owner)),
            ("Gid", .string(owner)),
            ("PreserveDeletedFiles", .string(deleteExtraneous ? "REMOVE" : "PRESERVE")),
            ("PreserveDevices", .string(preserveDevices ? "PRESERVE" : "NONE")),
            ("PosixPermissions", .string(permissions == .preserve ? "PRESERVE" : "NONE")),
            ("BytesPerSecond", .integer(bytesPerSecond ?? -1)),
            ("TaskQueueing", .string(taskQueueing)),
            ("LogLevel", .string(logLevel.rawValue.uppercased())),
            ("TransferMode", .string(transferMode == .all ? "ALL" : "CHANGED")),
        ]
    }
}

/// A scalar in an ordered JSON object written by the engine.
public enum DataSyncValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
}
