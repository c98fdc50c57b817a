/// Renders a name or relative path as one printable line in double quotes: printable ASCII
/// stays as it is, `"` and `\` get a backslash, and every other byte becomes `\n`, `\t` or
/// `\xHH`. Two different byte strings never render the same.
public func escapedPath(_ bytes: [UInt8]) -> String {
    var text = "\""
    for byte in bytes {
        switch byte {
        case 0x22: text += "\\\""
        case 0x5C: text += "\\\\"
        case 0x0A: text += "\\n"
        case 0x09: text += "\\t"
        case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let hex = String(byte, radix: 16)
            text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
        }
    }
    return text + "\""
}

/// Joins a relative folder path and a name with `/`; an empty folder path is the tree root.
func joinPath(_ folder: [UInt8], _ name: [UInt8]) -> [UInt8] {
    folder.isEmpty ? name : folder + [0x2F] + name
}
