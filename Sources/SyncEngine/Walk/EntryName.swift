import Glibc
import Synchronization

/// One path component as raw bytes, kept NUL-terminated for the *at() calls.
///
/// Names are opaque bytes (newlines, invalid UTF-8, 255 bytes): they never pass through String.
/// `cString` lives as long as the object: a local name must be kept alive (`withExtendedLifetime`)
/// until the call that reads the pointer has returned.
final class EntryName: @unchecked Sendable {
    let cString: UnsafeMutablePointer<CChar>
    let count: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        count = bytes.count
        cString = .allocate(capacity: count + 1)
        if count > 0 {
            UnsafeMutableRawPointer(cString).copyMemory(from: bytes.baseAddress!, byteCount: count)
        }
        cString[count] = 0
    }

    convenience init(_ bytes: [UInt8]) {
        self.init(bytes.withUnsafeBytes { UnsafeRawBufferPointer(start: $0.baseAddress, count: $0.count) })
    }

    deinit {
        cString.deallocate()
    }

    var bytes: [UInt8] {
        Array(UnsafeRawBufferPointer(start: cString, count: count))
    }

    var isDotOrDotDot: Bool {
        (count == 1 && cString[0] == 0x2E) || (count == 2 && cString[0] == 0x2E && cString[1] == 0x2E)
    }

    /// A 64-bit FNV-1a hash of the bytes, for the per-folder set of source names.
    var hash64: UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for index in 0..<count {
            hash = (hash ^ UInt64(UInt8(bitPattern: cString[index]))) &* 0x100_0000_01b3
        }
        return hash
    }

    func hasPrefix(_ prefix: [UInt8]) -> Bool {
        guard count >= prefix.count else { return false }
        for (index, byte) in prefix.enumerated() where UInt8(bitPattern: cString[index]) != byte {
            return false
        }
        return true
    }
}

/// Names of the engine's temporary files: `.~syncd-RUN-N`, where RUN is random per process.
///
/// A run removes leftover temporary files of earlier runs (a killed run leaves them behind) but
/// never its own, which other workers may still be writing in the same folder.
enum TemporaryName {
    static let prefix = Array(".~syncd-".utf8)
    static let runPrefix = prefix + Array(String(UInt64.random(in: 0...UInt64.max), radix: 36).utf8) + [UInt8(ascii: "-")]
    private static let counter = Atomic<UInt64>(0)

    static func make() -> EntryName {
        let number = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return EntryName(runPrefix + Array(String(number, radix: 36).utf8))
    }

    /// Returns whether `name` has the exact form of a temporary file of this or another run.
    static func isTemporary(_ name: [UInt8]) -> Bool {
        let entry = EntryName(name)
        return isStale(entry) || entry.hasPrefix(runPrefix)
    }

    /// Returns whether `name` is a temporary file left by another (earlier) run.
    ///
    /// Only the exact form counts (two runs of lowercase base-36 digits joined by a dash), so
    /// a user's own file that merely starts with the prefix is never removed.
    // NOTE: The destination flock keeps two runs apart on one host only; runs on two hosts would still clash.
    static func isStale(_ name: EntryName) -> Bool {
        guard name.hasPrefix(prefix), !name.hasPrefix(runPrefix) else { return false }
        let rest = name.bytes.dropFirst(prefix.count)
        let parts = rest.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        let isBase36: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) }
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.count <= 13 && $0.allSatisfy(isBase36) }
    }
}

/// Escapes a path so that it prints as one line: `\n`, `\t`, `\\`, and `\xNN` for control bytes
/// and invalid UTF-8. Valid UTF-8 text prints as is.
public func escapedPath(_ bytes: [UInt8]) -> String {
    var output = ""
    var index = 0
    while index < bytes.count {
        let byte = bytes[index]
        let length: Int
        switch byte {
        case 0x00..<0x80: length = 1
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: length = 0
        }
        if length > 1, index + length <= bytes.count,
           let text = String(validating: bytes[index..<(index + length)], as: UTF8.self) {
            output += text
            index += length
            continue
        }
        switch byte {
        case 0x0A: output += "\\n"
        case 0x09: output += "\\t"
        case 0x0D: output += "\\r"
        case 0x5C: output += "\\\\"
        case 0x20..<0x7F: output.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let digits = String(byte, radix: 16)
            output += "\\x" + (digits.count == 1 ? "0" : "") + digits
        }
        index += 1
    }
    return output
}
