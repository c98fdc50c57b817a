/// Checks on the values an administrator or an event puts into the store.
public enum Validation {
    /// Parses a POSIX UID written in decimal, such as `200001`.
    ///
    /// Rejects signs, spaces and leading zeros, because the home folder is named after the
    /// canonical decimal form. Rejects 4294967295 too, which `chown` reads as "leave unchanged",
    /// and 0: a restore would otherwise give root's files to the new profile.
    public static func parseUID(_ text: String) throws -> UInt32 {
        let isDecimal = !text.isEmpty && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard isDecimal, !text.hasPrefix("0"), let uid = UInt32(text), uid != UInt32.max else {
            throw MappingStoreError.invalidValue(
                field: "UID", value: text, reason: "expected a decimal number from 1 to 4294967294 without sign or leading zeros, such as 200001")
        }
        return uid
    }

    /// Checks a profile, space or domain name against SageMaker's pattern
    /// `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`: ASCII letters, digits and inner hyphens, at most 63 characters.
    public static func checkResourceName(_ text: String, field: String) throws {
        let bytes = Array(text.utf8)
        let isAlphanumeric: (UInt8) -> Bool = { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        let valid = !bytes.isEmpty && bytes.count <= 63 && isAlphanumeric(bytes.first!) && isAlphanumeric(bytes.last!)
            && bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        guard valid else {
            throw MappingStoreError.invalidValue(
                field: field, value: text,
                reason: "expected 1 to 63 ASCII letters, digits and inner hyphens, starting and ending with a letter or digit")
        }
    }

    /// Checks a domain id against SageMaker's pattern `^d-(-*[a-z0-9]){1,61}$`.
    public static func checkDomainID(_ text: String) throws {
        let bytes = Array(text.utf8)
        let isLowerAlphanumeric: (UInt8) -> Bool = { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        let rest = bytes.dropFirst(2)
        let valid = bytes.starts(with: Array("d-".utf8)) && bytes.count <= 63 && !rest.isEmpty
            && isLowerAlphanumeric(rest.last!) && rest.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        guard valid else {
            throw MappingStoreError.invalidValue(
                field: "domain id", value: text, reason: "expected 'd-' followed by lowercase letters and digits, such as d-abcdefghijkl")
        }
    }

    /// Checks an IAM role name or ARN: 1 to 2048 printable ASCII characters.
    public static func checkRoleName(_ text: String) throws {
        let valid = !text.isEmpty && text.utf8.count <= 2048 && text.utf8.allSatisfy { (0x21...0x7e).contains($0) }
        guard valid else {
            throw MappingStoreError.invalidValue(
                field: "role", value: text, reason: "expected an IAM role name or ARN of 1 to 2048 printable ASCII characters without spaces")
        }
    }
}
