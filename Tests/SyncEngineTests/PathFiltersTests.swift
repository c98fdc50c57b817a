import Foundation
import Testing
@testable import SyncEngine

// Unit tests of the SIMPLE_PATTERN filters and of reading DataSync's Options object.

private func path(_ text: String) -> [UInt8] { Array(text.utf8) }

/// One path and the decision that the filters must reach for it.
struct FilterCase: Sendable, CustomStringConvertible {
    var include: [String]
    var exclude: [String]
    var path: String
    var isDirectory: Bool
    var expected: PathFilters.Decision

    var description: String { "include \(include) exclude \(exclude) path \(path.debugDescription)" }
}

private let filterCases: [FilterCase] = [
    // No filters: everything is copied.
    FilterCase(include: [], exclude: [], path: "/anything/at/all", isDirectory: false, expected: .included),
    // A plain pattern names one entry and everything below it, but not a longer sibling name.
    FilterCase(include: [], exclude: ["/tmp"], path: "/tmp", isDirectory: true, expected: .excluded),
    FilterCase(include: [], exclude: ["/tmp"], path: "/tmp/a/b", isDirectory: false, expected: .excluded),
    FilterCase(include: [], exclude: ["/tmp"], path: "/tmpfile", isDirectory: false, expected: .included),
    FilterCase(include: [], exclude: ["/tmp"], path: "/x/tmp", isDirectory: false, expected: .included),
    // A pattern without a leading slash is anchored at the root; a trailing slash is ignored.
    FilterCase(include: [], exclude: ["projects"], path: "/projects/a", isDirectory: false, expected: .excluded),
    FilterCase(include: [], exclude: ["projects"], path: "/x/projects", isDirectory: false, expected: .included),
    FilterCase(include: [], exclude: ["/cache/"], path: "/cache/blob", isDirectory: false, expected: .excluded),
    // `*` matches any run of bytes, `/` included, so it reaches any depth.
    FilterCase(include: [], exclude: ["*.tmp"], path: "/a/b/c.tmp", isDirectory: false, expected: .excluded),
    FilterCase(include: [], exclude: ["*.tmp"], path: "/a/b/c.tmpx", isDirectory: false, expected: .included),
    FilterCase(include: [], exclude: ["/a*z"], path: "/a/b/z", isDirectory: false, expected: .excluded),
    FilterCase(include: [], exclude: ["/a*z"], path: "/a/b/zy", isDirectory: false, expected: .included),
    FilterCase(include: [], exclude: ["*/.ipynb_checkpoints"], path: "/n/.ipynb_checkpoints/x.ipynb", isDirectory: false, expected: .excluded),
    FilterCase(include: [], exclude: ["*"], path: "/", isDirectory: true, expected: .excluded),
    // `|` separates patterns, and spaces around each are trimmed.
    FilterCase(include: [], exclude: ["/one | /two"], path: "/two/x", isDirectory: false, expected: .excluded),
    FilterCase(include: [], exclude: ["/one|/two"], path: "/three", isDirectory: false, expected: .included),
    // Includes: the named entry and everything below it, and the folders leading to it.
    FilterCase(include: ["/projects/churn"], exclude: [], path: "/projects/churn", isDirectory: true, expected: .included),
    FilterCase(include: ["/projects/churn"], exclude: [], path: "/projects/churn/model.pkl", isDirectory: false, expected: .included),
    FilterCase(include: ["/projects/churn"], exclude: [], path: "/projects", isDirectory: true, expected: .traverseOnly),
    FilterCase(include: ["/projects/churn"], exclude: [], path: "/projects/other", isDirectory: true, expected: .excluded),
    FilterCase(include: ["/projects/churn"], exclude: [], path: "/projects/readme", isDirectory: false, expected: .excluded),
    FilterCase(include: ["/projects/churn"], exclude: [], path: "/elsewhere", isDirectory: false, expected: .excluded),
    FilterCase(include: ["*.ipynb"], exclude: [], path: "/deep/folder", isDirectory: true, expected: .traverseOnly),
    FilterCase(include: ["*.ipynb"], exclude: [], path: "/deep/folder/n.ipynb", isDirectory: false, expected: .included),
    FilterCase(include: ["*.ipynb"], exclude: [], path: "/deep/folder/n.py", isDirectory: false, expected: .excluded),
    // An exclude wins over an include of the same entry or of a folder above it.
    FilterCase(include: ["/projects"], exclude: ["*.tmp"], path: "/projects/x.tmp", isDirectory: false, expected: .excluded),
    FilterCase(include: ["/projects"], exclude: ["/projects/secret"], path: "/projects/secret/key", isDirectory: false, expected: .excluded),
    FilterCase(include: ["/projects"], exclude: ["/projects/secret"], path: "/projects/public", isDirectory: false, expected: .included),
]

@Suite struct PathFiltersTests {
    @Test(arguments: filterCases)
    func decisionForPath(_ filterCase: FilterCase) throws {
        let filters = try PathFilters(include: filterCase.include, exclude: filterCase.exclude)
        #expect(filters.decision(forPath: path(filterCase.path), isDirectory: filterCase.isDirectory) == filterCase.expected)
    }

    @Test func namesMatchedAsBytes() throws {
        let filters = try PathFilters(include: [], exclude: ["*.bin"])
        let invalidUTF8: [UInt8] = path("/data/") + [0xFF, 0xFE] + path(".bin")
        #expect(filters.decision(forPath: invalidUTF8, isDirectory: false) == .excluded)
        let withNewline = path("/data/new\nline.txt")
        #expect(filters.decision(forPath: withNewline, isDirectory: false) == .included)
    }

    @Test func emptyFiltersAreEmpty() throws {
        #expect(PathFilters().isEmpty)
        #expect(try PathFilters(include: [], exclude: []).isEmpty)
        #expect(try !PathFilters(include: [], exclude: ["/x"]).isEmpty)
    }

    @Test func patternsSplitTrimmedAnchored() throws {
        let filters = try PathFilters(include: ["a | /b/ |*c"], exclude: ["/d", "/e|/f"])
        #expect(filters.includes == [path("/a"), path("/b"), path("*c")])
        #expect(filters.excludes == [path("/d"), path("/e"), path("/f")])
    }

    @Test(arguments: ["", "|", "/a|", "|/a", "/a||/b", " | /a"])
    func emptyPatternRejected(_ list: String) {
        #expect(throws: TaskOptionsError.self) { try PathFilters(include: [], exclude: [list]) }
        #expect(throws: TaskOptionsError.self) { try PathFilters(include: [list], exclude: []) }
    }

    @Test func emptyPatternErrorNamesOption() {
        do {
            _ = try PathFilters(include: [], exclude: ["/a||/b"])
            Issue.record("no error for an empty pattern")
        } catch let error as TaskOptionsError {
            guard case let .invalidValue(option, value, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(option == "--exclude")
            #expect(value == "/a||/b")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test(arguments: [
        ("", "", true), ("*", "", true), ("*", "/any/thing", true), ("a*", "a", true), ("a*b", "ab", true),
        ("a*b", "axxb", true), ("a*b", "axxbx", false), ("a*b*c", "abxbc", true), ("**", "x", true),
        ("abc", "abd", false), ("abc", "ab", false), ("ab", "abc", false), ("*x", "", false),
    ])
    func globMatches(_ pattern: String, _ text: String, _ expected: Bool) {
        #expect(PathFilters.glob(path(pattern)[...], path(text)[...]) == expected)
    }
}

// MARK: - DataSync Options object

/// One Options field and the `TaskOptions` it must produce, starting from the defaults.
struct OptionsFieldCase: Sendable, CustomStringConvertible {
    var json: String
    var check: @Sendable (TaskOptions) -> Bool

    var description: String { json }
}

private let optionsFieldCases: [OptionsFieldCase] = [
    OptionsFieldCase(json: #"{"VerifyMode": "POINT_IN_TIME_CONSISTENT"}"#) { $0.verifyMode == .all },
    OptionsFieldCase(json: #"{"VerifyMode": "ONLY_FILES_TRANSFERRED"}"#) { $0.verifyMode == .transferred },
    OptionsFieldCase(json: #"{"VerifyMode": "NONE"}"#) { $0.verifyMode == .none },
    OptionsFieldCase(json: #"{"OverwriteMode": "NEVER"}"#) { $0.overwrite == .never },
    OptionsFieldCase(json: #"{"OverwriteMode": "ALWAYS"}"#) { $0.overwrite == .always },
    OptionsFieldCase(json: #"{"TransferMode": "ALL"}"#) { $0.transferMode == .all },
    OptionsFieldCase(json: #"{"TransferMode": "CHANGED"}"#) { $0.transferMode == .changed },
    OptionsFieldCase(json: #"{"PreserveDeletedFiles": "REMOVE"}"#) { $0.deleteExtraneous },
    OptionsFieldCase(json: #"{"PreserveDeletedFiles": "PRESERVE"}"#) { !$0.deleteExtraneous },
    OptionsFieldCase(json: #"{"PreserveDevices": "PRESERVE"}"#) { $0.preserveDevices },
    OptionsFieldCase(json: #"{"PosixPermissions": "NONE"}"#) { $0.permissions == .none },
    OptionsFieldCase(json: #"{"Mtime": "NONE"}"#) { $0.mtime == .none },
    OptionsFieldCase(json: #"{"Atime": "NONE"}"#) { $0.atime == .none },
    OptionsFieldCase(json: #"{"Atime": "BEST_EFFORT"}"#) { $0.atime == .bestEffort },
    OptionsFieldCase(json: #"{"LogLevel": "TRANSFER"}"#) { $0.logLevel == .transfer },
    OptionsFieldCase(json: #"{"LogLevel": "OFF"}"#) { $0.logLevel == .off },
    OptionsFieldCase(json: #"{"Uid": "NONE", "Gid": "NONE"}"#) { $0.owners == .none },
    OptionsFieldCase(json: #"{"Uid": "INT_VALUE", "Gid": "INT_VALUE"}"#) { $0.owners == .preserve },
    OptionsFieldCase(json: #"{"Uid": "NONE"}"#) { $0.owners == .none },
    OptionsFieldCase(json: #"{"BytesPerSecond": 1048576}"#) { $0.bytesPerSecond == 1_048_576 },
    OptionsFieldCase(json: #"{"BytesPerSecond": -1}"#) { $0.bytesPerSecond == nil },
    OptionsFieldCase(json: #"{"TaskQueueing": "ENABLED", "ObjectTags": "PRESERVE", "SecurityDescriptorCopyFlags": "NONE"}"#) {
        $0 == TaskOptions()
    },
    OptionsFieldCase(json: "{}") { $0 == TaskOptions() },
]

/// Options objects that must be rejected, with the kind of error expected.
enum RejectedOptions: String, CaseIterable, Sendable {
    case unknownField = #"{"VerifyMode": "NONE", "Colour": "BLUE"}"#
    case lowercaseField = #"{"verifyMode": "NONE"}"#
    case unknownValue = #"{"VerifyMode": "SOMETIMES"}"#
    case lowercaseValue = #"{"VerifyMode": "none"}"#
    case numberForString = #"{"OverwriteMode": 1}"#
    case uidName = #"{"Uid": "NAME"}"#
    case gidBoth = #"{"Gid": "BOTH"}"#
    case ownersDisagree = #"{"Uid": "INT_VALUE", "Gid": "NONE"}"#
    case zeroRate = #"{"BytesPerSecond": 0}"#
    case fractionalRate = #"{"BytesPerSecond": 1.5}"#
    case negativeRate = #"{"BytesPerSecond": -2}"#
    case booleanRate = #"{"BytesPerSecond": true}"#
    case stringRate = #"{"BytesPerSecond": "10M"}"#
    case fullTransferWithRemove = #"{"TransferMode": "ALL", "PreserveDeletedFiles": "REMOVE"}"#
    case truncated = #"{"VerifyMode": "NONE""#
    case array = #"["VerifyMode"]"#
    case scalar = "42"
    case empty = ""

    func matches(_ error: TaskOptionsError) -> Bool {
        switch (self, error) {
        case (.unknownField, .unknownField("Colour")), (.lowercaseField, .unknownField("verifyMode")):
            return true
        case (.unknownValue, .invalidValue("VerifyMode", "SOMETIMES", _)), (.lowercaseValue, .invalidValue("VerifyMode", "none", _)),
             (.numberForString, .invalidValue("OverwriteMode", _, _)):
            return true
        case (.uidName, .unsupported("Uid", "NAME", _)), (.gidBoth, .unsupported("Gid", "BOTH", _)):
            return true
        case (.ownersDisagree, .conflict), (.fullTransferWithRemove, .conflict):
            return true
        case (.zeroRate, .invalidValue("BytesPerSecond", _, _)), (.fractionalRate, .invalidValue("BytesPerSecond", _, _)),
             (.negativeRate, .invalidValue("BytesPerSecond", _, _)), (.booleanRate, .invalidValue("BytesPerSecond", _, _)),
             (.stringRate, .invalidValue("BytesPerSecond", _, _)):
            return true
        case (.truncated, .malformedJSON), (.array, .malformedJSON), (.scalar, .malformedJSON), (.empty, .malformedJSON):
            return true
        default:
            return false
        }
    }
}

@Suite struct DataSyncOptionsTests {
    @Test(arguments: optionsFieldCases)
    func fieldApplied(_ fieldCase: OptionsFieldCase) throws {
        var options = TaskOptions()
        try options.apply(dataSyncJSON: fieldCase.json)
        #expect(fieldCase.check(options), "\(options)")
    }

    @Test(arguments: RejectedOptions.allCases)
    func badObjectRejected(_ rejected: RejectedOptions) {
        var options = TaskOptions()
        do {
            try options.apply(dataSyncJSON: rejected.rawValue)
            Issue.record("accepted \(rejected.rawValue)")
        } catch let error as TaskOptionsError {
            #expect(rejected.matches(error), "unexpected error: \(error)")
            #expect(!error.description.isEmpty)
        } catch {
            Issue.record("not a TaskOptionsError: \(error)")
        }
    }

    @Test func absentFieldsKeepEarlierValues() throws {
        var options = TaskOptions()
        options.verifyMode = .none
        options.checksum = .sha256
        options.workers = 3
        options.bytesPerSecond = 4096
        try options.apply(dataSyncJSON: #"{"OverwriteMode": "NEVER"}"#)
        #expect(options.verifyMode == .none)
        #expect(options.checksum == .sha256)
        #expect(options.workers == 3)
        #expect(options.bytesPerSecond == 4096)
        #expect(options.overwrite == .never)
    }

    @Test func rejectedObjectNamesTheField() {
        var options = TaskOptions()
        #expect(throws: TaskOptionsError.invalidValue(option: "VerifyMode", value: "SOMETIMES", reason: "expected one of POINT_IN_TIME_CONSISTENT, ONLY_FILES_TRANSFERRED, NONE")) {
            try options.apply(dataSyncJSON: #"{"VerifyMode": "SOMETIMES"}"#)
        }
        let message = TaskOptionsError.unknownField("Colour").description
        #expect(message.contains("'Colour'"), "\(message)")
    }

    /// Writing the options as DataSync's object and reading it back gives the same options, for
    /// every combination of the fields that object carries.
    @Test(arguments: TaskOptions.VerifyMode.allCases, [false, true])
    func optionsObjectRoundTrips(_ verifyMode: TaskOptions.VerifyMode, _ alternate: Bool) throws {
        var original = TaskOptions()
        original.verifyMode = verifyMode
        if alternate {
            original.overwrite = .never
            original.deleteExtraneous = true
            original.preserveDevices = true
            original.owners = .none
            original.permissions = .none
            original.mtime = .none
            original.atime = .none
            original.bytesPerSecond = 123_456
            original.logLevel = .transfer
        } else {
            original.transferMode = .all
            original.logLevel = .off
        }

        var object: [String: Any] = [:]
        for (key, value) in original.dataSyncObject {
            switch value {
            case .string(let text): object[key] = text
            case .integer(let number): object[key] = number
            }
        }
        let text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        var restored = TaskOptions()
        try restored.apply(dataSyncJSON: text)
        #expect(restored == original, "\(text)")
    }

    @Test func optionsObjectKeysAreDataSyncFields() {
        let keys = TaskOptions().dataSyncObject.map(\.key)
        #expect(Set(keys).isSubset(of: TaskOptions.dataSyncFields))
        #expect(Set(keys).count == keys.count, "\(keys)")
    }
}
