import Foundation
import Glibc
import Synchronization

/// One way in which the destination differs from the source.
public struct TreeDifference: Sendable {
    /// Root-relative path with a leading `/`, as raw bytes.
    public var path: [UInt8]
    /// The aspect that differs: `missing`, `extra`, `type`, `size`, `content`, `mode`, `owner`, `mtime`,
    /// `xattrs`, `link-text`, `device`, `hard-links`, or `unreadable`.
    public var aspect: String
    public var detail: String

    /// The difference without the path: "missing from the destination", "content differs: …".
    public var message: String {
        switch aspect {
        case "missing": return "missing from the destination"
        case "extra": return "in the destination only, not in the source"
        case "unreadable": return "could not be compared: \(detail)"
        default: return "\(aspect) \(aspect.hasSuffix("s") ? "differ" : "differs"): \(detail)"
        }
    }

    /// One line for people: the escaped path, then the message.
    public var line: String {
        "\(escapedPath(path)): \(message)"
    }
}

/// Compares the whole source and destination trees: content checksums (the destination read
/// from storage, not the page cache) and the metadata the task options keep. Used by verify
/// mode `all` at the end of a run, and by `syncd verify`.
final class TreeVerifier: @unchecked Sendable {
    let context: TaskContext
    private let differences = Mutex<[TreeDifference]>([])
    private let linkGroups = Mutex<[HardLinkTable.Key: UInt64]>([:])

    init(context: TaskContext) {
        self.context = context
    }

    /// Walks both trees in parallel on the task's worker pool and returns every difference.
    @discardableResult
    func run(source: String, destination: String) -> [TreeDifference] {
        let sourceFD: Int32
        let destinationFD: Int32
        do {
            sourceFD = try Sys.openDirectory(path: source)
            destinationFD = try Sys.openDirectory(path: destination)
        } catch {
            record([UInt8(ascii: "/")], "unreadable", "cannot open the task roots: \(error.call) failed: \(error.message)")
            return differences.withLock { $0 }
        }
        let root = VerifyFolder(parent: nil, name: nil, sourceFD: sourceFD, destinationFD: destinationFD)
        context.pool.submit { [self] worker in compareFolder(root, worker: worker) }
        context.pool.runUntilIdle()
        return differences.withLock { $0 }
    }

    private func record(_ path: [UInt8], _ aspect: String, _ detail: String) {
        let difference = TreeDifference(path: path, aspect: aspect, detail: detail)
        differences.withLock { $0.append(difference) }
        context.update {
            $0.filesFailed.verify += 1
            $0.verifyMismatches += 1
        }
        if let observer = context.observer {
            observer.taskDidRecord(EntryEvent(path: path, kind: .regular, phase: .verify, transferType: .none,
                                              status: .verifyMismatch, source: nil, failure: difference.message))
        }
    }

    private func compareFolder(_ folder: VerifyFolder, worker: WorkerContext) {
        var sourceNames: [EntryName] = []
        var destinationNames = Set<[UInt8]>()
        do {
            let reader = DirectoryReader(buffer: worker.directoryBuffer, size: worker.directoryBufferSize)
            let sourceReader = try Sys.reopenDirectory(folder.sourceFD)
            defer { Sys.close(sourceReader) }
            try reader.list(sourceReader) { sourceNames.append($0) }
            let destinationReader = try Sys.reopenDirectory(folder.destinationFD)
            defer { Sys.close(destinationReader) }
            try reader.list(destinationReader) { destinationNames.insert($0.bytes) }
        } catch {
            record(folder.path, "unreadable", "\(error.call) failed: \(error.message)")
            return
        }

        for name in sourceNames {
            let path = folder.path(of: name)
            if isSkippedByDesign(folder, name) {
                destinationNames.remove(name.bytes)
                continue
            }
            if !context.options.filters.isEmpty, context.options.filters.decision(forPath: path, isDirectory: true) == .excluded {
                destinationNames.remove(name.bytes)
                continue
            }
            guard destinationNames.remove(name.bytes) != nil else {
                record(path, "missing", "the destination has no entry of this name")
                continue
            }
            context.pool.submit { [self] worker in compareEntry(folder, name, path: path, worker: worker) }
        }
        for name in destinationNames where !TemporaryName.isTemporary(name) {
            let path = folder.path(of: EntryName(name))
            if !context.options.filters.isEmpty, context.options.filters.decision(forPath: path, isDirectory: false) == .excluded {
                continue
            }
            record(path, "extra", "the source has no entry of this name")
        }
    }

    /// Sockets, and devices without `--devices`, are never copied, so they are not compared.
    private func isSkippedByDesign(_ folder: VerifyFolder, _ name: EntryName) -> Bool {
        guard let status = try? Sys.stat(folder.sourceFD, name.cString) else { return false }
        switch status.kind {
        case .socket: return true
        case .characterDevice, .blockDevice: return !context.options.preserveDevices
        default: return false
        }
    }

    private func compareEntry(_ folder: VerifyFolder, _ name: EntryName, path: [UInt8], worker: WorkerContext) {
        do {
            let source = try Sys.stat(folder.sourceFD, name.cString)
            let destination = try Sys.stat(folder.destinationFD, name.cString)
            guard source.fileType == destination.fileType else {
                record(path, "type", "source is \(source.kind.rawValue), destination is \(destination.kind.rawValue)")
                return
            }
            compareMetadata(folder, name, path: path, source, destination)

            switch source.kind {
            case .directory:
                let child = VerifyFolder(parent: folder, name: name,
                                         sourceFD: try Sys.openDirectory(folder.sourceFD, name.cString),
                                         destinationFD: try Sys.openDirectory(folder.destinationFD, name.cString))
                compareFolder(child, worker: worker)
            case .regular:
                try compareContent(folder, name, path: path, source, destination, worker: worker)
            case .symlink:
                let sourceText = try Sys.readlink(folder.sourceFD, name.cString)
                let destinationText = try Sys.readlink(folder.destinationFD, name.cString)
                if sourceText != destinationText {
                    record(path, "link-text", "source -> \(escapedPath(sourceText)), destination -> \(escapedPath(destinationText))")
                }
            case .characterDevice, .blockDevice:
                if source.rdev != destination.rdev {
                    record(path, "device", "source \(source.rdev), destination \(destination.rdev)")
                }
            default:
                break
            }
        } catch {
            record(path, "unreadable", "\(error.call) failed: \(error.message) (errno \(error.code))")
        }
    }

    private func compareMetadata(_ folder: VerifyFolder, _ name: EntryName, path: [UInt8], _ source: FileStatus, _ destination: FileStatus) {
        let options = context.options
        if !source.isDirectory && !source.isRegular || source.isRegular {
            if source.isRegular && source.size != destination.size {
                record(path, "size", "source \(source.size) bytes, destination \(destination.size) bytes")
            }
        }
        if options.owners == .preserve {
            let uid = options.uidMap[source.uid] ?? source.uid
            let gid = options.gidMap[source.gid] ?? source.gid
            if uid != destination.uid || gid != destination.gid {
                record(path, "owner", "expected \(uid):\(gid), destination \(destination.uid):\(destination.gid)")
            }
        }
        if options.permissions == .preserve && !source.isSymlink && source.permissions != destination.permissions {
            record(path, "mode", "source \(String(source.permissions, radix: 8)), destination \(String(destination.permissions, radix: 8))")
        }
        if options.mtime == .preserve && source.mtime != destination.mtime {
            record(path, "mtime", "source \(source.mtime.seconds).\(source.mtime.nanoseconds), destination \(destination.mtime.seconds).\(destination.mtime.nanoseconds)")
        }
        if !source.isSymlink, context.destinationXattrs.load(ordering: .relaxed) != 0,
           let sourceXattrs = try? XattrIO.read(directory: folder.sourceFD, name: name.bytes),
           let destinationXattrs = try? XattrIO.read(directory: folder.destinationFD, name: name.bytes) {
            let mapped = sourceXattrs.map { ($0.name, ACLMapping.remap($0.name, $0.value, uids: options.uidMap, gids: options.gidMap)) }
            let same = mapped.count == destinationXattrs.count
                && zip(mapped, destinationXattrs).allSatisfy { $0.0 == $1.name && $0.1 == $1.value }
            // A destination filesystem that cannot hold the attribute at all (EFS) is a known
            // downgrade, reported by copy, not a difference.
            if !same, let missing = mapped.first(where: { wanted in !destinationXattrs.contains { $0.name == wanted.0 } }),
               !XattrIO.supports(directory: folder.destinationFD, name: name.bytes, attribute: missing.0) {
                context.destinationXattrs.store(0, ordering: .relaxed)
                context.downgrade(ACLMapping.isACL(missing.0) ? "acl" : "xattr")
            } else if !same {
                let sourceNames = mapped.map { escapedPath($0.0) }.joined(separator: ",")
                let destinationNames = destinationXattrs.map { escapedPath($0.name) }.joined(separator: ",")
                record(path, "xattrs", "source [\(sourceNames)], destination [\(destinationNames)] (names or values differ)")
            }
        }
        if source.isRegular && source.linkCount == 1 && destination.linkCount > 1 {
            record(path, "hard-links", "the source name stands alone, the destination name shares its inode with \(destination.linkCount - 1) other names")
        }
        if source.linkCount > 1 && source.isRegular {
            let key = HardLinkTable.Key(device: source.device, inode: source.inode)
            let expected = linkGroups.withLock { groups in
                if let known = groups[key] { return known }
                groups[key] = destination.inode
                return destination.inode
            }
            if expected != destination.inode {
                record(path, "hard-links", "the source names share one inode, the destination names do not")
            }
        }
    }

    private func compareContent(_ folder: VerifyFolder, _ name: EntryName, path: [UInt8], _ source: FileStatus, _ destination: FileStatus, worker: WorkerContext) throws(Errno) {
        guard source.size == destination.size else { return }
        let sourceFD = try Sys.openRead(folder.sourceFD, name.cString)
        defer { Sys.close(sourceFD) }
        let destinationFD = try Sys.openRead(folder.destinationFD, name.cString)
        defer { Sys.close(destinationFD) }
        let transfer = DataTransfer(context: context, worker: worker)
        let sourceChecksum = try transfer.checksum(of: sourceFD, size: source.size)
        let destinationChecksum = try transfer.checksumFromStorage(of: destinationFD, size: destination.size, flush: false)
        if sourceChecksum != destinationChecksum {
            record(path, "content", "source \(context.options.checksum.rawValue) \(sourceChecksum), destination \(destinationChecksum)")
        } else {
            context.update { $0.filesVerified += 1 }
        }
    }
}

/// A pair of folders being compared; closes both descriptors when the last entry is done.
final class VerifyFolder: @unchecked Sendable {
    let parent: VerifyFolder?
    let name: EntryName?
    let sourceFD: Int32
    let destinationFD: Int32

    init(parent: VerifyFolder?, name: EntryName?, sourceFD: Int32, destinationFD: Int32) {
        self.parent = parent
        self.name = name
        self.sourceFD = sourceFD
        self.destinationFD = destinationFD
    }

    deinit {
        Sys.close(sourceFD)
        Sys.close(destinationFD)
    }

    var path: [UInt8] {
        var components: [[UInt8]] = []
        var folder: VerifyFolder? = self
        while let current = folder, let name = current.name {
            components.append(name.bytes)
            folder = current.parent
        }
        return [UInt8(ascii: "/")] + Array(components.reversed().joined(separator: [UInt8(ascii: "/")]))
    }

    func path(of name: EntryName) -> [UInt8] {
        let base = path
        return base + (base.count > 1 ? [UInt8(ascii: "/")] : []) + name.bytes
    }
}
