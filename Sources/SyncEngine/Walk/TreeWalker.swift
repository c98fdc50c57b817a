import Glibc

/// The parallel walk: lists each source folder over its descriptor and turns every entry into
/// the least work that makes the destination match.
///
/// Per entry it costs one statx on each side; an entry that matches costs nothing more than an
/// xattr listing on each side. Content moves in `FileCopier`; folders get their metadata after
/// their children, in `finishDirectory`.
struct TreeWalker {
    let context: TaskContext

    /// Entries per job: enough to amortise queueing, few enough to spread a folder over workers.
    static let batchSize = 64
    /// Files at least this large get a job of their own, so several copy at once.
    // NOTE: One file is copied by one worker; a tree holding a single huge file uses one core for it.
    static let largeFile: Int64 = 1 << 20

    // MARK: Folders

    /// Opens the folder on both sides, creating it on the destination, and queues the source's
    /// entries in batches. Then it finds the destination entries that the source lacks.
    func processDirectory(_ node: DirectoryNode, worker: WorkerContext) {
        defer { releaseDirectory(node) }
        guard !context.cancelled.load(ordering: .relaxed), openDirectory(node) else { return }

        var batch: [EntryName] = []
        // Source names are remembered only where the destination may hold extra entries.
        let comparesNames = node.destinationFD >= 0 && !node.destinationIsNew
        var names = Set<UInt64>()
        // A few jobs per worker keep every worker busy; beyond that, queued names only cost memory.
        let backlogLimit = context.pool.workerCount * 4
        do {
            try readDirectory(node.sourceFD, worker: worker) { name in
                if comparesNames {
                    names.insert(name.hash64)
                }
                batch.append(name)
                if batch.count == Self.batchSize {
                    submitBatch(node, batch)
                    batch = []
                    context.pool.helpWhileBacklogged(limit: backlogLimit, context: worker)
                }
            }
        } catch {
            context.fail(node, nil, kind: .directory, phase: .prepare, source: node.sourceStatus, error: error, readingSource: true)
        }
        if !batch.isEmpty {
            submitBatch(node, batch)
        }
        if comparesNames {
            findExtraneous(node, sourceNames: names, worker: worker)
        }
    }

    private func submitBatch(_ node: DirectoryNode, _ batch: [EntryName]) {
        node.retain()
        context.pool.submit { worker in
            for name in batch {
                processEntry(node, name, worker: worker)
            }
            releaseDirectory(node)
        }
    }

    /// Opens source and destination folders. The destination is created with mode 0700, so that
    /// no other user can open it before its real mode is set after its children.
    private func openDirectory(_ node: DirectoryNode) -> Bool {
        guard let parent = node.parent, let name = node.name else {
            return true  // The root's descriptors are opened by the task.
        }
        do {
            node.sourceFD = try Sys.openDirectory(parent.sourceFD, name.cString)
        } catch {
            let vanished = error.code == ENOENT
            if vanished {
                context.update { $0.filesVanished += 1 }
                context.emit(parent, name, kind: .directory, phase: .prepare, type: .none, status: .vanished, source: node.sourceStatus)
            } else {
                context.fail(parent, name, kind: .directory, phase: .prepare, source: node.sourceStatus, error: error, readingSource: true)
            }
            return false
        }
        guard parent.destinationFD >= 0 else {
            // Dry run below a folder that does not exist yet: this one would be created too.
            context.update { $0.estimatedFilesToTransfer += 1 }
            context.emit(parent, name, kind: .directory, phase: .transfer, type: .content, status: .success, source: node.sourceStatus)
            return true
        }
        do {
            if parent.destinationIsNew {
                try createDestinationDirectory(node, parent: parent, name: name)
                return true
            }
            let existing = try? Sys.stat(parent.destinationFD, name.cString)
            if let existing, !existing.isDirectory {
                if context.options.overwrite == .never {
                    context.update { $0.filesSkipped += 1 }
                    context.emit(parent, name, kind: .directory, phase: .prepare, type: .none, status: .skipped, source: node.sourceStatus)
                    return false
                }
                if context.dryRun {
                    return true
                }
                try removeTree(parent.destinationFD, name, isDirectory: false)
            }
            if existing == nil || !existing!.isDirectory {
                if context.dryRun {
                    context.update { $0.estimatedFilesToTransfer += 1 }
                    context.emit(parent, name, kind: .directory, phase: .transfer, type: .content, status: .success, source: node.sourceStatus)
                    return true
                }
                try createDestinationDirectory(node, parent: parent, name: name)
                return true
            }
            node.destinationFD = try Sys.openDirectory(parent.destinationFD, name.cString)
            node.destinationStatus = existing
            try makeWritableIfNeeded(node)
        } catch {
            context.fail(parent, name, kind: .directory, phase: .transfer, source: node.sourceStatus, error: error)
            return false
        }
        return true
    }

    private func createDestinationDirectory(_ node: DirectoryNode, parent: DirectoryNode, name: EntryName) throws(Errno) {
        if context.dryRun {
            context.update { $0.estimatedFilesToTransfer += 1 }
            context.emit(parent, name, kind: .directory, phase: .transfer, type: .content, status: .success, source: node.sourceStatus)
            node.destinationIsNew = true
            return
        }
        try Sys.mkdir(parent.destinationFD, name.cString, mode: 0o700)
        node.destinationFD = try Sys.openDirectory(parent.destinationFD, name.cString)
        node.destinationIsNew = true
        context.markTransfer()
        context.update {
            $0.estimatedFilesToTransfer += 1
            $0.filesTransferred += 1
        }
        context.emit(parent, name, kind: .directory, phase: .transfer, type: .content, status: .success, source: node.sourceStatus)
    }

    /// Without privileges, a read-only destination folder is opened up (owner write and search)
    /// while its children are written; its real mode is restored after them.
    private func makeWritableIfNeeded(_ node: DirectoryNode) throws(Errno) {
        guard !context.isPrivileged, !context.dryRun, let status = node.destinationStatus,
              status.permissions & 0o300 != 0o300, status.uid == context.userID else { return }
        try Sys.chmod(node.destinationFD, mode: status.permissions | 0o700)
        node.temporarilyWritable = true
    }

    /// Called for each count a folder holds; the last one applies the folder's metadata.
    func releaseDirectory(_ node: DirectoryNode) {
        guard node.release() else { return }
        finishDirectory(node)
        if let parent = node.parent {
            releaseDirectory(parent)
        }
    }

    private func finishDirectory(_ node: DirectoryNode) {
        defer { node.closeDescriptors() }
        guard node.destinationFD >= 0, node.sourceFD >= 0, !context.dryRun || !node.destinationIsNew else { return }
        do {
            let sourceXattrs = try readSourceXattrs(fd: node.sourceFD)
            let plan = context.plan(for: node.sourceStatus, xattrs: sourceXattrs)
            if node.destinationIsNew {
                try context.apply(plan, to: .descriptor(node.destinationFD), current: nil, currentXattrs: nil, isDirectory: true)
                return
            }
            // Children may have changed the folder's times, so the folder is compared as it is now.
            let current = try Sys.stat(node.destinationFD)
            var before = current
            if node.temporarilyWritable, let original = node.destinationStatus {
                before.mode = (before.mode & ~0o7777) | original.permissions
            }
            let currentXattrs = sourceXattrs == nil ? nil : try XattrIO.read(directory: -1, name: [], fd: node.destinationFD)
            let xattrsMatch = xattrsMatch(plan.xattrs, currentXattrs)
            // Counted as a transfer only when the folder differed before this run wrote into it,
            // so that a dry run and a real run count the same folders.
            let differedBefore = !(node.destinationStatus.map { context.matches(plan, $0) } ?? false)
            let differsNow = !context.matches(plan, before) || !xattrsMatch
            if !context.dryRun && (differsNow || node.temporarilyWritable) {
                try context.apply(plan, to: .descriptor(node.destinationFD), current: node.temporarilyWritable ? nil : current,
                                  currentXattrs: currentXattrs, isDirectory: true)
            }
            // Xattrs that the destination filesystem cannot hold are a downgrade, not a transfer,
            // so that later runs converge.
            let xattrsHeld = !xattrsMatch && context.destinationXattrs.load(ordering: .relaxed) != 0
            if differedBefore || xattrsHeld {
                countMetadataTransfer(node.parent ?? node, node.name, kind: .directory, source: node.sourceStatus)
            }
        } catch {
            context.fail(node.parent ?? node, node.name, kind: .directory, phase: .transfer, source: node.sourceStatus, error: error)
        }
    }

    // MARK: Entries

    private func processEntry(_ node: DirectoryNode, _ name: EntryName, worker: WorkerContext) {
        if context.cancelled.load(ordering: .relaxed) { return }
        let source: FileStatus
        do {
            source = try Sys.stat(node.sourceFD, name.cString)
        } catch {
            if error.code == ENOENT {
                context.update { $0.filesVanished += 1 }
                context.emit(node, name, kind: .regular, phase: .prepare, type: .none, status: .vanished, source: nil)
            } else {
                context.fail(node, name, kind: .regular, phase: .prepare, source: nil, error: error, readingSource: true)
            }
            return
        }

        var traverseOnly = node.traverseOnly
        if !context.options.filters.isEmpty {
            switch context.options.filters.decision(forPath: node.path(of: name), isDirectory: source.isDirectory) {
            case .excluded:
                return
            case .traverseOnly:
                traverseOnly = true
            case .included:
                traverseOnly = false
            }
        }

        if source.isDirectory {
            if let root = context.destinationRoot, root.device == source.device, root.inode == source.inode {
                context.update { $0.warnings += 1; $0.filesSkipped += 1 }
                context.emit(node, name, kind: .directory, phase: .prepare, type: .none, status: .skipped, source: source,
                             failure: "this folder is the destination itself (reached through a mount); not copied into itself")
                return
            }
            let child = DirectoryNode(parent: node, name: name, sourceStatus: source, traverseOnly: traverseOnly)
            node.retain()
            context.pool.submit { worker in processDirectory(child, worker: worker) }
            return
        }
        if traverseOnly {
            return
        }

        switch source.kind {
        case .regular:
            if source.size >= Self.largeFile {
                node.retain()
                context.pool.submit { worker in
                    processRegular(node, name, source, worker: worker)
                    releaseDirectory(node)
                }
            } else {
                processRegular(node, name, source, worker: worker)
            }
        case .socket:
            context.update { $0.warnings += 1; $0.filesSkipped += 1 }
            context.emit(node, name, kind: .socket, phase: .prepare, type: .none, status: .skipped, source: source,
                         failure: "sockets cannot be copied; skipped")
        case .characterDevice where !context.options.preserveDevices, .blockDevice where !context.options.preserveDevices:
            context.update { $0.filesSkipped += 1 }
            context.emit(node, name, kind: source.kind, phase: .prepare, type: .none, status: .skipped, source: source,
                         failure: "devices are copied only with --devices")
        default:
            guard source.linkCount > 1 else {
                SpecialFileCopier(context: context).process(node, name, source)
                return
            }
            let walker = self
            replicateLinked(node, name, source, worker: worker) { _, keepDescriptor in
                let placedOK = SpecialFileCopier(context: walker.context).process(node, name, source)
                return keepDescriptor && placedOK ? walker.placedEntry(node, name) : nil
            }
        }
    }

    private func processRegular(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus, worker: WorkerContext) {
        if context.cancelled.load(ordering: .relaxed) { return }
        FileCopier(context: context, worker: worker, walker: self).process(node, name, source)
    }

    // MARK: Listing

    /// Calls `body` for each name in the folder open as `fd`, except `.` and `..`, reading
    /// getdents64 records in 64 KiB batches.
    func readDirectory(_ fd: Int32, worker: WorkerContext, _ body: (EntryName) -> Void) throws(Errno) {
        // A folder descriptor is shared with child jobs, so the read position is kept apart.
        let reader = try Sys.reopenDirectory(fd)
        defer { Sys.close(reader) }
        try DirectoryReader(buffer: worker.directoryBuffer, size: worker.directoryBufferSize).list(reader, body)
    }

    /// Handles destination entries whose names the source lacks. Stale temporary files of an
    /// earlier, interrupted run are removed now, and the rest are deleted at the end with `--delete`.
    private func findExtraneous(_ node: DirectoryNode, sourceNames: Set<UInt64>, worker: WorkerContext) {
        do {
            try readDirectory(node.destinationFD, worker: worker) { name in
                guard !sourceNames.contains(name.hash64) else { return }
                if TemporaryName.isStale(name) {
                    if !context.dryRun {
                        try? removeTree(node.destinationFD, name, isDirectory: false)
                    }
                    return
                }
                if name.hasPrefix(TemporaryName.runPrefix) {
                    return  // Another worker of this run is writing it.
                }
                guard context.options.deleteExtraneous, !node.traverseOnly else { return }
                if !context.options.filters.isEmpty,
                   context.options.filters.decision(forPath: node.path(of: name), isDirectory: false) == .excluded {
                    return  // Excluded entries are outside the task: never deleted.
                }
                var path = node.components
                path.append(name.bytes)
                context.deletions.withLock { $0.append(path) }
                // A folder counts with everything below it, as rsync and DataSync count deletions.
                let entries = (try? removeExtraneous(node.destinationFD, name, path: node.path(of: name), remove: false).count) ?? 1
                context.update { $0.estimatedFilesToDelete += entries }
            }
        } catch {
            context.fail(node, nil, kind: .directory, phase: .prepare, source: node.sourceStatus, error: error)
        }
    }

    // MARK: Helpers shared with the copiers

    /// Reads the destination entry's status; returns nil when it does not exist or its folder is new.
    func destinationStatus(_ node: DirectoryNode, _ name: EntryName) throws(Errno) -> FileStatus? {
        guard node.destinationFD >= 0, !node.destinationIsNew else { return nil }
        do {
            return try Sys.stat(node.destinationFD, name.cString)
        } catch where error.code == ENOENT {
            return nil
        }
    }

    func readSourceXattrs(fd: Int32) throws(Errno) -> XattrIO.Attributes? {
        guard context.sourceXattrs.load(ordering: .relaxed) != 0 else { return nil }
        let attributes = try XattrIO.read(directory: -1, name: [], fd: fd)
        context.sourceXattrs.store(attributes == nil ? 0 : 1, ordering: .relaxed)
        return attributes
    }

    func xattrsMatch(_ wanted: XattrIO.Attributes?, _ current: XattrIO.Attributes?) -> Bool {
        guard let wanted, context.destinationXattrs.load(ordering: .relaxed) != 0 else { return true }
        let existing = current ?? []
        return wanted.count == existing.count && zip(wanted, existing).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    func countMetadataTransfer(_ node: DirectoryNode, _ name: EntryName?, kind: EntryEvent.Kind, source: FileStatus) {
        context.markTransfer()
        context.update {
            $0.estimatedFilesToTransfer += 1
            if !context.dryRun { $0.filesTransferred += 1 }
        }
        context.emit(node, name, kind: kind, phase: .transfer, type: .metadata, status: .success, source: source)
    }

    /// Removes an entry, and everything below it when it is a folder, without following symlinks.
    /// Returns the number of entries removed, the entry itself included.
    @discardableResult
    func removeTree(_ directory: Int32, _ name: EntryName, isDirectory: Bool) throws(Errno) -> Int64 {
        do {
            try Sys.unlink(directory, name.cString, isDirectory: false)
            return 1
        } catch where error.code == EISDIR || error.code == EPERM {
            // A folder: empty it first.
        }
        var removed: Int64 = 1
        try forEachChild(directory, name) { fd, child throws(Errno) in
            removed += try removeTree(fd, child, isDirectory: false)
        }
        try Sys.unlink(directory, name.cString, isDirectory: true)
        return removed
    }

    /// Removes (or, with `remove` false, only counts) an extraneous entry and everything below
    /// it, except entries that the filters exclude: those stay, with the folders above them.
    /// Returns the entries removed or counted and whether anything was kept.
    func removeExtraneous(_ directory: Int32, _ name: EntryName, path: [UInt8], remove: Bool) throws(Errno) -> (count: Int64, kept: Bool) {
        let filters = context.options.filters
        if filters.isEmpty {
            return (remove ? try removeTree(directory, name, isDirectory: false) : try countTree(directory, name), false)
        }
        let status = try Sys.stat(directory, name.cString)
        if filters.decision(forPath: path, isDirectory: status.isDirectory) == .excluded {
            return (0, true)
        }
        guard status.isDirectory else {
            if remove {
                try Sys.unlink(directory, name.cString, isDirectory: false)
            }
            return (1, false)
        }
        var count: Int64 = 0
        var kept = false
        try forEachChild(directory, name) { fd, child throws(Errno) in
            let result = try removeExtraneous(fd, child, path: path + [UInt8(ascii: "/")] + child.bytes, remove: remove)
            count += result.count
            kept = kept || result.kept
        }
        if kept {
            return (count, true)
        }
        if remove {
            try Sys.unlink(directory, name.cString, isDirectory: true)
        }
        return (count + 1, false)
    }

    /// Counts the entry and, for a folder, everything below it, without following symlinks.
    func countTree(_ directory: Int32, _ name: EntryName) throws(Errno) -> Int64 {
        guard try Sys.stat(directory, name.cString).isDirectory else { return 1 }
        var count: Int64 = 1
        try forEachChild(directory, name) { fd, child throws(Errno) in
            count += try countTree(fd, child)
        }
        return count
    }

    /// Lists the folder `name` first, then calls `body` for each child with the folder's descriptor.
    private func forEachChild(_ directory: Int32, _ name: EntryName, _ body: (Int32, EntryName) throws(Errno) -> Void) throws(Errno) {
        let fd = try Sys.openDirectory(directory, name.cString)
        defer { Sys.close(fd) }
        var children: [EntryName] = []
        let buffer = syncdAlignedAllocate(alignment: 16, size: 32 * 1024)
        defer { free(buffer) }
        try DirectoryReader(buffer: buffer, size: 32 * 1024).list(fd) { children.append($0) }
        for child in children {
            try body(fd, child)
        }
    }
}

/// Reads getdents64(2) records into a caller's buffer and yields each name but `.` and `..`.
struct DirectoryReader {
    let buffer: UnsafeMutableRawPointer
    let size: Int

    /// Calls `body` only after a whole batch of records has been parsed: `body` may run other
    /// jobs of the same worker (`helpWhileBacklogged`), which reuse this buffer for their own folders.
    func list(_ fd: Int32, _ body: (EntryName) -> Void) throws(Errno) {
        var names: [EntryName] = []
        while true {
            let count = try Sys.getdents(fd, buffer, size)
            if count == 0 { return }
            names.removeAll(keepingCapacity: true)
            var offset = 0
            while offset < count {
                let record = buffer + offset
                let length = Int(record.loadUnaligned(fromByteOffset: 16, as: UInt16.self))
                let nameStart = record + 19
                let name = EntryName(UnsafeRawBufferPointer(start: nameStart, count: strlen(nameStart.assumingMemoryBound(to: CChar.self))))
                if !name.isDotOrDotDot { names.append(name) }
                offset += length
            }
            for name in names {
                body(name)
            }
        }
    }
}
