import Foundation

/// Include and exclude filters in DataSync's SIMPLE_PATTERN syntax.
///
/// A filter is one or more patterns separated by `|`. A pattern is matched against the entry's
/// path relative to the task root, written with a leading `/` (`/projects/a.ipynb`). `*` matches
/// any run of bytes, `/` included, so `*.tmp` matches at any depth. A pattern that matches a
/// folder matches everything below it. With includes, an entry is copied only when it or a
/// folder above it matches; folders on the way to an include are walked but not otherwise copied.
public struct PathFilters: Sendable, Equatable {
    public private(set) var includes: [[UInt8]] = []
    public private(set) var excludes: [[UInt8]] = []

    public init() {}

    /// Creates filters from `|`-separated pattern lists, rejecting empty patterns.
    public init(include: [String], exclude: [String]) throws {
        includes = try include.flatMap { try Self.split($0, option: "--include") }
        excludes = try exclude.flatMap { try Self.split($0, option: "--exclude") }
    }

    public var isEmpty: Bool { includes.isEmpty && excludes.isEmpty }

    /// Decides what happens to one entry, given its root-relative path with a leading `/`.
    public func decision(forPath path: [UInt8], isDirectory: Bool) -> Decision {
        for pattern in excludes where Self.matchesSelfOrAncestor(pattern, path) {
            return .excluded
        }
        if includes.isEmpty {
            return .included
        }
        for pattern in includes where Self.matchesSelfOrAncestor(pattern, path) {
            return .included
        }
        if isDirectory, includes.contains(where: { Self.mayMatchBelow($0, path) }) {
            return .traverseOnly
        }
        return .excluded
    }

    public enum Decision: Sendable, Equatable {
        case included
        /// A folder that is not included itself but may contain included entries.
        case traverseOnly
        case excluded
    }

    private static func split(_ list: String, option: String) throws -> [[UInt8]] {
        var patterns: [[UInt8]] = []
        for piece in list.split(separator: "|", omittingEmptySubsequences: false) {
            let pattern = piece.trimmingCharacters(in: .whitespaces)
            if pattern.isEmpty {
                throw TaskOptionsError.invalidValue(option: option, value: list, reason: "a pattern between '|' separators is empty")
            }
            var bytes = Array(pattern.utf8)
            // A pattern without a leading slash or wildcard is anchored at the root, as DataSync reads it.
            if bytes.first != UInt8(ascii: "/") && bytes.first != UInt8(ascii: "*") {
                bytes.insert(UInt8(ascii: "/"), at: 0)
            }
            while bytes.count > 1 && bytes.last == UInt8(ascii: "/") {
                bytes.removeLast()
            }
            patterns.append(bytes)
        }
        return patterns
    }

    private static func matchesSelfOrAncestor(_ pattern: [UInt8], _ path: [UInt8]) -> Bool {
        if glob(pattern[...], path[...]) {
            return true
        }
        // Every ancestor folder: each prefix that ends just before a '/'.
        for index in path.indices.dropFirst() where path[index] == UInt8(ascii: "/") {
            if glob(pattern[...], path[..<index]) {
                return true
            }
        }
        return false
    }

    /// Returns whether something below folder `path` could match `pattern`.
    private static func mayMatchBelow(_ pattern: [UInt8], _ path: [UInt8]) -> Bool {
        let literal = pattern.prefix { $0 != UInt8(ascii: "*") }
        if literal.count < pattern.count && path.starts(with: literal) {
            return true
        }
        let folder = path + [UInt8(ascii: "/")]
        return literal.starts(with: folder) || (literal.count < pattern.count && folder.starts(with: literal))
    }

    /// Matches `*` against any run of bytes, iteratively with one backtrack point.
    static func glob(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        var p = pattern.startIndex
        var t = text.startIndex
        var starP = -1
        var starT = -1
        while t < text.endIndex {
            if p < pattern.endIndex && pattern[p] == UInt8(ascii: "*") {
                starP = p
                starT = t
                p += 1
            } else if p < pattern.endIndex && pattern[p] == text[t] {
                p += 1
                t += 1
            } else if starP >= 0 {
                p = starP + 1
                starT += 1
                t = starT
            } else {
                return false
            }
        }
        while p < pattern.endIndex && pattern[p] == UInt8(ascii: "*") {
            p += 1
        }
        return p == pattern.endIndex
    }
}
