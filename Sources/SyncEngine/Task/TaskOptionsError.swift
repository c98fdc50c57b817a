/// An option or Options object that cannot be run; the message names the option and the value.
public enum TaskOptionsError: Error, Equatable, CustomStringConvertible {
    case invalidValue(option: String, value: String, reason: String)
    case unknownField(String)
    case malformedJSON(String)
    case conflict(String)
    case unsupported(option: String, value: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidValue(option, value, reason):
            return "Invalid value '\(value)' for '\(option)': \(reason)."
        case let .unknownField(field):
            return "Unknown field '\(field)' in Options; expected one of DataSync's Options fields."
        case let .malformedJSON(detail):
            return "Malformed Options JSON: \(detail)."
        case let .conflict(detail):
            return "Conflicting options: \(detail)."
        case let .unsupported(option, value, reason):
            return "Unsupported value '\(value)' for '\(option)': \(reason)."
        }
    }

    /// Whether the problem is in the data (exit 65) rather than in the command's words (exit 64).
    public var isDataError: Bool {
        switch self {
        case .malformedJSON, .unknownField: return true
        default: return false
        }
    }
}
