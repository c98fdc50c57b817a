import Foundation
import MappingStore
import Recovery

/// `syncd profile …`: registers Studio profiles in the mapping store and shows them.
///
/// A group: the first word chooses the subcommand, which parses the rest against its own spec,
/// so `syncd profile register --help` prints the options of `register`.
enum ProfileCommand: SubcommandRunner {
    static let commandName = "profile"
    static let abstract = "Register, list and change Studio profiles in the mapping store."

    static var members: [any SubcommandRunner.Type] {[
        ProfileRegisterCommand.self, ProfileListCommand.self, ProfileShowCommand.self,
        ProfileSetReplicationCommand.self, ProfileAddTargetCommand.self,
    ]}

    static var spec: CommandSpec {
        CommandSpec(
            name: "syncd profile",
            overview: abstract,
            subcommands: members.map { ($0.commandName, $0.abstract) }
        )
    }

    static func main(_ arguments: [String]) -> Int32 {
        guard let first = arguments.first else {
            printError(spec.helpText)
            return ExitCode.usage
        }
        if first == "-h" || first == "--help" || (first == "help" && arguments.count == 1) {
            print(spec.helpText)
            return ExitCode.success
        }
        let name = first == "help" ? arguments[1] : first
        guard let member = members.first(where: { $0.commandName == name }) else {
            let expected = members.map { $0.commandName }.joined(separator: ", ")
            return reportUsageError(UsageError(message: "Unknown subcommand '\(name)'; expected one of \(expected)"), spec: spec)
        }
        return member.main(first == "help" ? ["--help"] : Array(arguments.dropFirst()))
    }

    /// Not reached: `main` hands every invocation to a member.
    static func run(_ arguments: ParsedArguments) throws(UsageError) -> Int32 {
        ExitCode.usage
    }
}

/// Opens the store and prints the failure of one profile subcommand in one place.
private func runProfileCommand(_ arguments: ParsedArguments, spec: CommandSpec, createStore: Bool, _ body: (SQLiteMappingStore, ServiceLog) throws -> Int32) -> Int32 {
    let log = ServiceLog(arguments)
    do {
        let configuration = try ServiceOptions.configuration(from: arguments)
        let store = try ServiceOptions.openStore(configuration, createIfMissing: createStore)
        return try body(store, log)
    } catch {
        return ServiceOptions.report(error, spec: spec, log: log)
    }
}

private let profileNameOptions: [CommandSpec.Option] = [
    .value("profile-name", "name", help: "The user profile or space name."),
    .value("domain-name", "name", help: "The Studio domain name."),
    .flag("user", help: "Select the user profile when a space has the same name."),
    .flag("space", help: "Select the space when a user profile has the same name."),
]

/// `syncd profile register`: what the reference's event function writes after it describes a new profile.
enum ProfileRegisterCommand: SubcommandRunner {
    static let commandName = "register"
    static let abstract = "Record a profile's domain, EFS volume and home UID."

    static let spec = CommandSpec(
        name: "syncd profile register",
        overview: abstract,
        discussion: """
        Registering a known profile with another EFS id or UID records the move, and 'syncd \
        restore' then copies the old home into the new one. Registering it with the same values \
        changes nothing.
        """,
        options: [
            .value("profile-name", "name", help: "The user profile or space name."),
            .value("domain-name", "name", help: "The Studio domain name."),
            .value("domain-id", "id", help: "The Studio domain id, such as d-abcdefghijkl."),
            .value("efs-id", "fs-id", help: "The domain's home EFS file-system id, such as fs-0123abcd."),
            .value("uid", "uid", help: "The home folder's POSIX UID, in decimal."),
            .flag("space", help: "Register a shared space instead of a user profile."),
            .value("role", "name", help: "The execution role name or ARN."),
        ] + ServiceOptions.options
    )

    static func run(_ arguments: ParsedArguments) throws(UsageError) -> Int32 {
        let profileName = try ServiceOptions.required("profile-name", arguments)
        let domainName = try ServiceOptions.required("domain-name", arguments)
        let domainID = try ServiceOptions.required("domain-id", arguments)
        let efsID = try ServiceOptions.required("efs-id", arguments)
        let uid = try ServiceOptions.required("uid", arguments)
        let kind: ProfileKind = arguments.isSet("space") ? .space : .user

        return runProfileCommand(arguments, spec: spec, createStore: true) { store, log in
            let registration = try ProfileRegistration(
                profileName: profileName, domainName: domainName, kind: kind, domainID: domainID, efsFileSystemID: efsID, uid: uid,
                roleName: arguments.value("role"))
            let update = try store.register(registration)
            let fields = ["profile": profileName, "domain": domainName, "kind": kind.rawValue]
            let home = "\(registration.efsFileSystemID.rawValue), UID \(registration.efsUID)"
            guard update.changed else {
                log.info("Unchanged: \(registration.key) is already registered with \(home).", fields)
                return ExitCode.success
            }
            guard let old = update.oldImage, let sequence = update.changeSequence else {
                log.info("Registered \(registration.key) with \(home).", fields)
                return ExitCode.success
            }
            let change = ChangeRecord(sequence: sequence, recordedAt: 0, operation: .modify, key: registration.key, oldImage: old, newImage: update.newImage)
            switch RestoreRule.decision(for: change) {
            case .due(let source, _):
                log.info("Registered \(registration.key) with \(home); its old home is \(source.efsFileSystemID.rawValue), UID \(source.efsUID), so a restore is due: run 'syncd restore --profile-name \(profileName) --domain-name \(domainName)'.", fields)
            case .notDue(.homeUnchanged):
                log.info("Updated \(registration.key); its home is still \(home).", fields)
            case .notDue(let reason):
                log.info("Registered \(registration.key) with \(home); no restore is due because \(reason).", fields)
            }
            return ExitCode.success
        }
    }
}

/// `syncd profile list`: every row of the mapping store.
enum ProfileListCommand: SubcommandRunner {
    static let commandName = "list"
    static let abstract = "List the registered profiles."

    static let spec = CommandSpec(
        name: "syncd profile list",
        overview: abstract,
        options: [.flag("json", help: "Print the rows as a JSON array, with the store's column names.")] + ServiceOptions.options
    )

    static func run(_ arguments: ParsedArguments) throws(UsageError) -> Int32 {
        runProfileCommand(arguments, spec: spec, createStore: false) { store, _ in
            let profiles = try store.allProfiles()
            if arguments.isSet("json") {
                print(try ProfileFormatting.json(profiles))
                return ExitCode.success
            }
            print(ProfileFormatting.table(profiles))
            return ExitCode.success
        }
    }
}

/// `syncd profile show`: one row and its history.
enum ProfileShowCommand: SubcommandRunner {
    static let commandName = "show"
    static let abstract = "Show one profile's row and history."

    static let spec = CommandSpec(
        name: "syncd profile show",
        overview: abstract,
        options: profileNameOptions + [
            .flag("json", help: "Print {\"studioUser\": row, \"studioUserHistory\": [records]} as JSON."),
        ] + ServiceOptions.options
    )

    static func run(_ arguments: ParsedArguments) throws(UsageError) -> Int32 {
        let profileName = try ServiceOptions.required("profile-name", arguments)
        let domainName = try ServiceOptions.required("domain-name", arguments)
        let kind = try ServiceOptions.kind(from: arguments)
        return runProfileCommand(arguments, spec: spec, createStore: false) { store, _ in
            let profile = try store.resolveProfile(named: profileName, inDomain: domainName, kind: kind)
            let history = try store.history(of: profile.key)
            if arguments.isSet("json") {
                print(try ProfileFormatting.json(profile: profile, history: history))
            } else {
                print(ProfileFormatting.details(profile, history: history))
            }
            return ExitCode.success
        }
    }
}

/// `syncd profile set-replication`: turns restores on or off for one profile.
enum ProfileSetReplicationCommand: SubcommandRunner {
    static let commandName = "set-replication"
    static let abstract = "Turn restores on or off for one profile."

    static let spec = CommandSpec(
        name: "syncd profile set-replication",
        overview: abstract,
        options: profileNameOptions + [
            .flag("replication", inverse: "no-replication", help: "Restore the profile's old home when it moves (on), or never (off)."),
        ] + ServiceOptions.options
    )

    static func run(_ arguments: ParsedArguments) throws(UsageError) -> Int32 {
        let profileName = try ServiceOptions.required("profile-name", arguments)
        let domainName = try ServiceOptions.required("domain-name", arguments)
        let kind = try ServiceOptions.kind(from: arguments)
        guard let enabled = arguments.flag("replication") else {
            throw UsageError(message: "Missing expected flag '--replication' or '--no-replication'")
        }
        return runProfileCommand(arguments, spec: spec, createStore: false) { store, log in
            let key = try store.resolveProfile(named: profileName, inDomain: domainName, kind: kind).key
            let update = try store.setReplication(key, enabled: enabled)
            let state = enabled ? "on" : "off"
            log.info(update.changed ? "Replication is now \(state) for \(key)." : "Unchanged: replication was already \(state) for \(key).",
                     ["profile": key.profileName, "domain": key.domainName, "replication": state])
            return ExitCode.success
        }
    }
}

/// `syncd profile add-target`: the reference's cross-domain "add target".
enum ProfileAddTargetCommand: SubcommandRunner {
    static let commandName = "add-target"
    static let abstract = "Point a profile that does not exist yet at an existing profile's data."

    static let spec = CommandSpec(
        name: "syncd profile add-target",
        overview: abstract,
        discussion: """
        Writes a row for the target with the source's EFS id and UID. When the target profile \
        is created and registered with its own home, 'syncd restore' for the target copies the \
        source's home into it. The target may be in another domain.
        """,
        options: [
            .value("src-profile-name", "name", help: "The existing profile whose home contains the data."),
            .value("src-domain-name", "name", help: "The existing profile's domain name."),
            .flag("src-user", help: "Select the source user profile when a space has the same name."),
            .flag("src-space", help: "Select the source space when a user profile has the same name."),
            .value("target-profile-name", "name", help: "The profile that will receive the data."),
            .value("target-domain-name", "name", help: "The target's domain name."),
            .flag("target-space", help: "The target will be a shared space rather than a user profile."),
        ] + ServiceOptions.options
    )

    static func run(_ arguments: ParsedArguments) throws(UsageError) -> Int32 {
        let sourceName = try ServiceOptions.required("src-profile-name", arguments)
        let sourceDomain = try ServiceOptions.required("src-domain-name", arguments)
        let sourceKind = try ServiceOptions.kind(from: arguments, user: "src-user", space: "src-space")
        let targetName = try ServiceOptions.required("target-profile-name", arguments)
        let targetDomain = try ServiceOptions.required("target-domain-name", arguments)
        let targetKind: ProfileKind = arguments.isSet("target-space") ? .space : .user

        return runProfileCommand(arguments, spec: spec, createStore: false) { store, log in
            let targetKey = try ProfileKey(validatingProfileName: targetName, domainName: targetDomain, kind: targetKind)
            try Validation.checkResourceName(sourceName, field: "source profile name")
            try Validation.checkResourceName(sourceDomain, field: "source domain name")
            let source = try store.resolveProfile(named: sourceName, inDomain: sourceDomain, kind: sourceKind)
            try store.addTarget(source: source.key, target: targetKey)
            log.info("\(targetKey) now points at the data of \(source.key) (\(source.efsFileSystemID.rawValue), UID \(source.efsUID)); register the target when it exists, then run 'syncd restore' for it.",
                     ["profile": targetName, "domain": targetDomain, "source_profile": sourceName, "source_domain": sourceDomain])
            return ExitCode.success
        }
    }
}

/// The text and JSON forms of rows and history records.
enum ProfileFormatting {
    static func json<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func json(profile: StudioUser, history: [HistoryRecord]) throws -> String {
        struct Shown: Encodable {
            var studioUser: StudioUser
            var studioUserHistory: [HistoryRecord]
        }
        return try json(Shown(studioUser: profile, studioUserHistory: history))
    }

    /// One line per row under a header, columns padded to their widest value.
    static func table(_ profiles: [StudioUser]) -> String {
        var rows = [["DOMAIN", "NAME", "KIND", "EFS ID", "UID", "REPLICATION", "LAST RESTORE"]]
        for profile in profiles {
            rows.append([
                profile.key.domainName, profile.key.profileName, profile.key.kind.rawValue, profile.efsFileSystemID.rawValue,
                String(profile.efsUID), profile.replication ? "on" : "off",
                profile.targetSource.map { "waits for data of \($0.profileName) in \($0.domainName)" } ?? profile.lastRestore?.replicationStatus ?? "-",
            ])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, text in
                column == row.count - 1 ? text : text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static func details(_ profile: StudioUser, history: [HistoryRecord]) -> String {
        var lines = ["\(profile.key)"]
        lines.append("  domain id:    \(profile.domainID ?? "-")")
        lines.append("  role:         \(profile.roleName ?? "-")")
        lines.append("  EFS id:       \(profile.efsFileSystemID.rawValue)")
        lines.append("  UID:          \(profile.efsUID)")
        lines.append("  replication:  \(profile.replication ? "on" : "off")")
        if let source = profile.targetSource {
            lines.append("  data of:      \(source) (added by add-target; waiting for this profile to register)")
        }
        if let restore = profile.lastRestore {
            var text = "\(restore.replicationStatus): \(restore.filesTransferred) files, \(restore.bytesWritten) bytes written, "
                + "\(restore.bytesFileTransferred) bytes transferred, \(restore.totalDurationMilliseconds) ms"
            if let sequence = restore.changeSequence { text += " (change \(sequence))" }
            lines.append("  last restore: \(text)")
        }
        lines.append("History:")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for record in history {
            let time = formatter.string(from: Date(timeIntervalSince1970: Double(record.epochTime) / 1000))
            var text = "  \(time)  \(record.action.rawValue)"
            if let image = record.image {
                text += "  \(image.efsFileSystemID.rawValue) UID \(image.efsUID), replication \(image.replication ? "on" : "off")"
            }
            if let detail = record.detail { text += "  \(detail)" }
            lines.append(text)
        }
        return lines.joined(separator: "\n")
    }
}
