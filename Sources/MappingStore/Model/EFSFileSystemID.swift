/// An Amazon EFS file-system id such as `fs-0123456789abcdef0`.
///
/// Only the forms AWS issues are accepted: `fs-` followed by 8 or 17 lowercase hexadecimal
/// digits. The id is used as a key in the mount table and never as part of a path.
public struct EFSFileSystemID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: String

    public init(validating text: String) throws {
        guard Self.isValid(text) else {
            throw MappingStoreError.invalidValue(
                field: "EFS file-system id", value: text,
                reason: "expected 'fs-' followed by 8 or 17 lowercase hexadecimal digits, such as fs-0123abcd")
        }
        rawValue = text
    }

    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 11 || bytes.count == 20, bytes.starts(with: Array("fs-".utf8)) else { return false }
        return bytes.dropFirst(3).allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(validating: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: EFSFileSystemID, rhs: EFSFileSystemID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { rawValue }
}
