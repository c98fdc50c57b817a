import CAcl
import CSyncShim
import Glibc

/// What `TreeComparator` checks. The defaults check everything that `rsync -aHAXS --numeric-ids`
/// preserves, plus device numbers and sparseness.
public struct ComparisonOptions: Sendable {
    public var compareFolderTimes = true
    public var compareAccessTimes = false
    public var compareRootAttributes = true
    public var compareOwners = true
    public var compareACLs = true
    public var compareExtendedAttributes = true
    public var compareSparseness = true
    /// How many 512-byte blocks the destination may allocate beyond the source.
    public var sparseSlackBlocks: Int64 = 64
    /// Relative paths (names joined with `/`) skipped on both sides, with everything below them.
    public var ignoredPaths: Set<[UInt8]> = []

    public init() {}
}

/// Compares two trees entry by entry and lists every difference, one line each, with the path
/// rendered by `escapedPath`. The comparison walks both trees single-threaded through folder
/// descriptors, never follows a symlink, and shares no code with the engine.
///
/// It checks names as bytes, types, sizes, content byte for byte, symlink text, owners, modes
/// and modification times to the nanosecond, and access times on request. It also checks access
/// and default ACLs as `acl_to_any_text` output, every extended attribute `llistxattr` returns,
/// hard-link groups, sparseness and device numbers.
public enum TreeComparator {
    public static func differences(
        source: String, destination: String, options: ComparisonOptions = ComparisonOptions()
    ) throws -> [String] {
        var walk = ComparisonWalk(options: options)
        let sourceRoot = Location(folder: AT_FDCWD, name: Array(source.utf8))
        let destinationRoot = Location(folder: AT_FDCWD, name: Array(destination.utf8))
        try walk.compareEntry(sourceRoot, destinationRoot, path: [], isRoot: true)
        walk.compareHardLinkGroups()
        return walk.lines
    }
}

private struct InodeKey: Hashable {
    var device: UInt
    var inode: UInt
}

private struct ComparisonWalk {
    let options: ComparisonOptions
    var lines: [String] = []
    var sourceInodes: [[UInt8]: InodeKey] = [:]
    var destinationInodes: [[UInt8]: InodeKey] = [:]

    init(options: ComparisonOptions) {
        self.options = options
    }

    mutating func report(_ path: [UInt8], _ message: String) {
        lines.append("\(path.isEmpty ? "\".\"" : escapedPath(path)): \(message)")
    }

    mutating func compareFolder(_ source: Int32, _ destination: Int32, path: [UInt8]) throws {
        let sourceNames = try folderNames(source, path: path)
        let destinationNames = try folderNames(destination, path: path)
        let names = Set(sourceNames).union(destinationNames).sorted { $0.lexicographicallyPrecedes($1) }
        let inSource = Set(sourceNames)
        let inDestination = Set(destinationNames)

        for name in names {
            let entryPath = joinPath(path, name)
            if options.ignoredPaths.contains(entryPath) { continue }
            let sourceLocation = Location(folder: source, name: name)
            let destinationLocation = Location(folder: destination, name: name)
            if !inDestination.contains(name) {
                report(entryPath, "missing in destination (\(typeName(try sourceLocation.status().st_mode)) in source)")
            } else if !inSource.contains(name) {
                report(entryPath, "extra in destination (\(typeName(try destinationLocation.status().st_mode)))")
            } else {
                try compareEntry(sourceLocation, destinationLocation, path: entryPath, isRoot: false)
            }
        }
    }

    mutating func compareEntry(_ source: Location, _ destination: Location, path: [UInt8], isRoot: Bool) throws {
        let sourceStatus = try source.status()
        let destinationStatus = try destination.status()
        let sourceType = sourceStatus.st_mode & fileTypeMask
        let destinationType = destinationStatus.st_mode & fileTypeMask
        guard sourceType == destinationType else {
            report(path, "type differs: source \(typeName(sourceType)), destination \(typeName(destinationType))")
            return
        }

        if !isRoot || options.compareRootAttributes {
            try compareAttributes(source, destination, sourceStatus, destinationStatus, path: path)
        }

        switch sourceType {
        case typeFolder:
            let sourceFolder = try source.openFolder()
            defer { close(sourceFolder) }
            let destinationFolder = try destination.openFolder()
            defer { close(destinationFolder) }
            try compareFolder(sourceFolder, destinationFolder, path: path)
            return
        case typeRegular:
            try compareFileData(source, destination, sourceStatus, destinationStatus, path: path)
        case typeSymlink:
            let sourceText = try source.readLink()
            let destinationText = try destination.readLink()
            if sourceText != destinationText {
                report(path, "symlink text differs: source \(escapedPath(sourceText)), destination \(escapedPath(destinationText))")
            }
        case typeCharacterDevice, typeBlockDevice:
            if sourceStatus.st_rdev != destinationStatus.st_rdev {
                report(path, "device number differs: source \(deviceText(sourceStatus.st_rdev)), destination \(deviceText(destinationStatus.st_rdev))")
            }
        default:
            break
        }

        sourceInodes[path] = InodeKey(device: sourceStatus.st_dev, inode: sourceStatus.st_ino)
        destinationInodes[path] = InodeKey(device: destinationStatus.st_dev, inode: destinationStatus.st_ino)
    }

    // MARK: - Attributes

    mutating func compareAttributes(
        _ source: Location, _ destination: Location, _ sourceStatus: stat, _ destinationStatus: stat, path: [UInt8]
    ) throws {
        let type = sourceStatus.st_mode & fileTypeMask
        if options.compareOwners {
            if sourceStatus.st_uid != destinationStatus.st_uid {
                report(path, "owner uid differs: source \(sourceStatus.st_uid), destination \(destinationStatus.st_uid)")
            }
            if sourceStatus.st_gid != destinationStatus.st_gid {
                report(path, "owner gid differs: source \(sourceStatus.st_gid), destination \(destinationStatus.st_gid)")
            }
        }

        let sourceMode = sourceStatus.st_mode & 0o7777
        let destinationMode = destinationStatus.st_mode & 0o7777
        if sourceMode != destinationMode {
            report(path, "mode differs: source \(String(sourceMode, radix: 8)), destination \(String(destinationMode, radix: 8))")
        }

        if type != typeFolder || options.compareFolderTimes {
            let sourceTime = Timestamp(seconds: Int64(sourceStatus.st_mtim.tv_sec), nanoseconds: Int64(sourceStatus.st_mtim.tv_nsec))
            let destinationTime = Timestamp(seconds: Int64(destinationStatus.st_mtim.tv_sec), nanoseconds: Int64(destinationStatus.st_mtim.tv_nsec))
            if sourceTime != destinationTime {
                report(path, "mtime differs: source \(sourceTime), destination \(destinationTime)")
            }
        }
        if options.compareAccessTimes && (type != typeFolder || options.compareFolderTimes) {
            let sourceTime = Timestamp(seconds: Int64(sourceStatus.st_atim.tv_sec), nanoseconds: Int64(sourceStatus.st_atim.tv_nsec))
            let destinationTime = Timestamp(seconds: Int64(destinationStatus.st_atim.tv_sec), nanoseconds: Int64(destinationStatus.st_atim.tv_nsec))
            if sourceTime != destinationTime {
                report(path, "atime differs: source \(sourceTime), destination \(destinationTime)")
            }
        }

        if options.compareExtendedAttributes {
            try compareExtendedAttributes(source, destination, path: path)
        }
        // Linux has no ACLs on symlinks; acl_get_file would follow the link.
        if options.compareACLs && type != typeSymlink {
            try compareACL(source, destination, xattr: "system.posix_acl_access", type: acl_type_t(ACL_TYPE_ACCESS), label: "access ACL", path: path)
            try compareACL(source, destination, xattr: "system.posix_acl_default", type: acl_type_t(ACL_TYPE_DEFAULT), label: "default ACL", path: path)
        }
    }

    mutating func compareExtendedAttributes(_ source: Location, _ destination: Location, path: [UInt8]) throws {
        // ACLs are compared as text by compareACL, which gives a readable difference.
        let aclNames: Set<String> = ["system.posix_acl_access", "system.posix_acl_default"]
        let sourceNames = Set(try extendedAttributeNames(source)).subtracting(aclNames)
        let destinationNames = Set(try extendedAttributeNames(destination)).subtracting(aclNames)

        for name in sourceNames.union(destinationNames).sorted() {
            let sourceValue = try extendedAttributeValue(source, name)
            let destinationValue = try extendedAttributeValue(destination, name)
            switch (sourceValue, destinationValue) {
            case (let sourceValue?, nil):
                report(path, "xattr \(name) missing in destination (source value \(escapedValue(sourceValue)))")
            case (nil, let destinationValue?):
                report(path, "xattr \(name) extra in destination (value \(escapedValue(destinationValue)))")
            case (let sourceValue?, let destinationValue?) where sourceValue != destinationValue:
                report(path, "xattr \(name) differs: source \(escapedValue(sourceValue)), destination \(escapedValue(destinationValue))")
            default:
                break
            }
        }
    }

    /// Compares one ACL. An entry without the ACL's xattr has no extended ACL, and then only
    /// its mode (compared elsewhere) describes its permissions.
    mutating func compareACL(
        _ source: Location, _ destination: Location, xattr: String, type: acl_type_t, label: String, path: [UInt8]
    ) throws {
        let sourceText = try extendedAttributeValue(source, xattr) == nil ? nil : try aclText(source, type: type, path: path)
        let destinationText = try extendedAttributeValue(destination, xattr) == nil ? nil : try aclText(destination, type: type, path: path)
        if sourceText != destinationText {
            report(path, "\(label) differs: source \(sourceText ?? "none"), destination \(destinationText ?? "none")")
        }
    }

    func aclText(_ location: Location, type: acl_type_t, path: [UInt8]) throws -> String {
        guard let acl = withCBytes(location.procPath, { acl_get_file($0, type) }) else {
            throw SystemCallError("acl_get_file", path: escapedPath(path))
        }
        defer { acl_free(UnsafeMutableRawPointer(acl)) }
        guard let text = acl_to_any_text(acl, nil, CChar(UInt8(ascii: ",")), Int32(TEXT_ABBREVIATE | TEXT_NUMERIC_IDS)) else {
            throw SystemCallError("acl_to_any_text", path: escapedPath(path))
        }
        defer { acl_free(UnsafeMutableRawPointer(text)) }
        return String(cString: text)
    }

    // MARK: - File data

    mutating func compareFileData(
        _ source: Location, _ destination: Location, _ sourceStatus: stat, _ destinationStatus: stat, path: [UInt8]
    ) throws {
        if sourceStatus.st_size != destinationStatus.st_size {
            report(path, "size differs: source \(sourceStatus.st_size), destination \(destinationStatus.st_size)")
            return
        }
        if options.compareSparseness && Int64(destinationStatus.st_blocks) > Int64(sourceStatus.st_blocks) + options.sparseSlackBlocks {
            report(path, "sparseness differs: destination allocates \(destinationStatus.st_blocks) blocks of 512 bytes, source \(sourceStatus.st_blocks)")
        }

        let sourceFile = try source.openForReading()
        defer { close(sourceFile) }
        let destinationFile = try destination.openForReading()
        defer { close(destinationFile) }
        if let offset = try firstDifference(sourceFile, destinationFile, size: Int64(sourceStatus.st_size), path: path) {
            report(path, "content differs from byte \(offset)")
        }
    }

    /// Returns the offset of the first differing 1 MiB block, or nil when the data is equal.
    /// A range that is a hole in both files is skipped without reading.
    func firstDifference(_ source: Int32, _ destination: Int32, size: Int64, path: [UInt8]) throws -> Int64? {
        let blockSize = 1 << 20
        var sourceBuffer = [UInt8](repeating: 0, count: blockSize)
        var destinationBuffer = [UInt8](repeating: 0, count: blockSize)
        var offset: Int64 = 0
        while offset < size {
            let nextData = min(nextDataOffset(source, from: offset, size: size), nextDataOffset(destination, from: offset, size: size))
            if nextData > offset {
                offset = nextData
                continue
            }
            let length = Int(min(Int64(blockSize), size - offset))
            try readExactly(source, into: &sourceBuffer, count: length, at: offset, path: path)
            try readExactly(destination, into: &destinationBuffer, count: length, at: offset, path: path)
            if sourceBuffer[0..<length] != destinationBuffer[0..<length] {
                let index = (0..<length).first { sourceBuffer[$0] != destinationBuffer[$0] } ?? 0
                return offset + Int64(index)
            }
            offset += Int64(length)
        }
        return nil
    }

    /// Returns where data starts at or after `offset`, `size` when only a hole follows, or
    /// `offset` itself when the filesystem cannot tell (then the range is read).
    func nextDataOffset(_ fd: Int32, from offset: Int64, size: Int64) -> Int64 {
        let result = syncd_seek_data(fd, offset)
        if result >= 0 { return result }
        return errno == ENXIO ? size : offset
    }

    func readExactly(_ fd: Int32, into buffer: inout [UInt8], count: Int, at offset: Int64, path: [UInt8]) throws {
        var done = 0
        while done < count {
            let result = buffer.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("pread", path: escapedPath(path))
            }
            if result == 0 { throw SystemCallError("pread (file shrank while compared)", path: escapedPath(path), code: EIO) }
            done += result
        }
    }

    // MARK: - Hard links

    /// Checks that every name shares its inode with the same set of other names on both sides.
    mutating func compareHardLinkGroups() {
        let sourceGroups = Dictionary(grouping: sourceInodes.keys) { sourceInodes[$0]! }
        let destinationGroups = Dictionary(grouping: destinationInodes.keys) { destinationInodes[$0]! }
        var reported = Set<[[UInt8]]>()

        for path in sourceInodes.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard let destinationKey = destinationInodes[path] else { continue }
            let sourceGroup = sortedPaths(sourceGroups[sourceInodes[path]!]!)
            let destinationGroup = sortedPaths(destinationGroups[destinationKey]!)
            if sourceGroup != destinationGroup && reported.insert(sourceGroup + [[0]] + destinationGroup).inserted {
                let sourceText = sourceGroup.map(escapedPath).joined(separator: ", ")
                let destinationText = destinationGroup.map(escapedPath).joined(separator: ", ")
                report(path, "hard links differ: source links [\(sourceText)], destination links [\(destinationText)]")
            }
        }
    }

    func sortedPaths(_ paths: [[UInt8]]) -> [[UInt8]] {
        paths.sorted { $0.lexicographicallyPrecedes($1) }
    }
}

private func deviceText(_ device: UInt) -> String {
    "\(syncd_major(UInt64(device))):\(syncd_minor(UInt64(device)))"
}

/// Renders an xattr value for a difference line, cut after 64 bytes.
private func escapedValue(_ value: [UInt8]) -> String {
    let escapedPrefix = escapedPath(Array(value.prefix(64)))
    return value.count > 64 ? "\(escapedPrefix)... (\(value.count) bytes)" : escapedPrefix
}
