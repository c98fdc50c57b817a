/// Writes JSON with keys in the order given, which JSONSerialization and JSONEncoder do not keep.
///
/// Used for results and task reports so that they read like DataSync's, field for field.
public struct OrderedJSONWriter {
    public private(set) var text = ""
    private let pretty: Bool
    private var depth = 0
    private var needsComma = false

    public init(pretty: Bool) {
        self.pretty = pretty
    }

    public mutating func beginObject() {
        separate()
        text += "{"
        depth += 1
        needsComma = false
    }

    public mutating func endObject() {
        depth -= 1
        if pretty && needsComma { newline() }
        text += "}"
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        text += "["
        depth += 1
        needsComma = false
    }

    public mutating func endArray() {
        depth -= 1
        if pretty && needsComma { newline() }
        text += "]"
        needsComma = true
    }

    public mutating func key(_ name: String) {
        separate()
        text += Self.quoted(name) + (pretty ? ": " : ":")
        pendingValue = true
    }

    public mutating func field(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    public mutating func field(_ name: String, _ value: Int64) {
        key(name)
        raw(String(value))
    }

    public mutating func field(_ name: String, _ value: Bool) {
        key(name)
        raw(value ? "true" : "false")
    }

    public mutating func string(_ value: String) {
        raw(Self.quoted(value))
    }

    public mutating func raw(_ literal: String) {
        separate()
        text += literal
        needsComma = true
    }

    private var pendingValue = false

    private mutating func separate() {
        if pendingValue {
            pendingValue = false
            return
        }
        if needsComma { text += "," }
        if pretty && depth > 0 { newline() }
    }

    private mutating func newline() {
        text += "\n" + String(repeating: "  ", count: depth)
    }

    /// A JSON string literal. Control characters are escaped here; a Swift String contains no invalid UTF-8.
    public static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(c.value, radix: 16).count) + String(c.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
