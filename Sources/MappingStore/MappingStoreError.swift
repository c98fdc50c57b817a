/// A failure of the mapping store, with the file or value it concerns.
///
/// `isDataError` separates problems in the stored data or in the input (exit 65) from a store
/// that is busy or cannot be opened at all.
public enum MappingStoreError: Error, Equatable, CustomStringConvertible {
    /// Another process held the store's write lock for longer than the busy timeout.
    case locked(path: String, waitedMilliseconds: Int)
    /// The file is not an SQLite database, or its pages are damaged. The file is left unchanged.
    case corrupt(path: String, detail: String)
    /// The file was written by a newer syncd, with a schema this build does not know.
    case newerSchema(path: String, found: Int, supported: Int)
    case cannotOpen(path: String, detail: String)
    case notFound(path: String)
    /// An input value that the store rejects before writing anything.
    case invalidValue(field: String, value: String, reason: String)
    case profileNotFound(ProfileKey)
    /// A name matches both a user and a space in one domain; the caller must say which.
    case ambiguousProfile(profileName: String, domainName: String)
    case profileExists(ProfileKey, reason: String)
    case sqlite(path: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case let .locked(path, waited):
            return "The mapping store '\(path)' is locked by another process; gave up after waiting \(waited) ms. Retry when the other process has finished writing."
        case let .corrupt(path, detail):
            return "The mapping store '\(path)' is corrupt or not an SQLite database (\(detail)). The file was left unchanged; restore it from a backup or point --store at another file."
        case let .newerSchema(path, found, supported):
            return "The mapping store '\(path)' has schema version \(found), but this syncd supports versions up to \(supported). Use a newer syncd."
        case let .cannotOpen(path, detail):
            return "Cannot open the mapping store '\(path)': \(detail)."
        case let .notFound(path):
            return "The mapping store '\(path)' does not exist. Register a profile first, or check --store and the configuration file."
        case let .invalidValue(field, value, reason):
            return "Invalid \(field) '\(value)': \(reason)."
        case let .profileNotFound(key):
            return "No \(key.kind.rawValue) profile named '\(key.profileName)' in domain '\(key.domainName)' is registered."
        case let .ambiguousProfile(profileName, domainName):
            return "Domain '\(domainName)' has both a user and a space named '\(profileName)'; add --user or --space."
        case let .profileExists(key, reason):
            return "The \(key.kind.rawValue) profile '\(key.profileName)' in domain '\(key.domainName)' already exists: \(reason)."
        case let .sqlite(path, code, message):
            return "SQLite error \(code) on the mapping store '\(path)': \(message)."
        }
    }

    /// Whether the input or the stored data is at fault (exit 65) rather than the environment.
    public var isDataError: Bool {
        switch self {
        case .corrupt, .newerSchema, .invalidValue, .profileNotFound, .ambiguousProfile, .profileExists:
            return true
        case .locked, .cannotOpen, .notFound, .sqlite:
            return false
        }
    }
}
