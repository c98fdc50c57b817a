import Glibc

/// Replicates one regular file: decides whether content, metadata or nothing must change,
/// joins hard-link groups, and writes new content under a temporary name that is renamed over
/// the final name only once data and metadata are complete (and verified, if asked).
struct FileCopier {
    let context: TaskContext
    let worker: WorkerContext
    let walker: TreeWalker

    func process(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus) {
        let existing: FileStatus?
        do {
            existing = try destinationStatus(node, name)
        } catch {
            context.fail(node, name, kind: .regular, phase: .prepare, source: source, error: error)
            return
        }
        if existing != nil && context.options.overwrite == .never {
            context.update { $0.filesSkipped += 1 }
            context.emit(node, name, kind: .regular, phase: .prepare, type: .none, status: .skipped, source: source)
            return
        }

        guard source.linkCount > 1 else {
            if let placed = replicate(node, name, source, existing: existing, keepDescriptor: false) {
                Sys.close(placed.fd)
            }
            return
        }

        let key = HardLinkTable.Key(device: source.device, inode: source.inode)
        let context = self.context
        let walker = self.walker
        node.retain()
        let role = context.hardLinks.join(key, linkCount: source.linkCount) { placed in
            context.pool.submit { worker in
                FileCopier(context: context, worker: worker, walker: walker).follow(node, name, source, placed: placed, key: key)
                walker.releaseDirectory(node)
            }
        }
        switch role {
        case .leader:
            let placed = replicate(node, name, source, existing: existing, keepDescriptor: true)
            context.hardLinks.complete(key, placed: placed)
            walker.releaseDirectory(node)
        case .follow(let placed):
            follow(node, name, source, placed: placed, key: key)
            walker.releaseDirectory(node)
        case .wait:
            break  // The waiter queued above runs once the leader has placed its file.
        }
    }

    private func destinationStatus(_ node: DirectoryNode, _ name: EntryName) throws(Errno) -> FileStatus? {
        guard node.destinationFD >= 0, !node.destinationIsNew else { return nil }
        do {
            return try Sys.stat(node.destinationFD, name.cString)
        } catch where error.code == ENOENT {
            return nil
        }
    }

    /// A later name of a hard-link group: linked to the leader's destination inode.
    private func follow(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus, placed: HardLinkTable.Placed?, key: HardLinkTable.Key) {
        defer { context.hardLinks.finishFollower(key) }
        let existing: FileStatus?
        do {
            existing = try destinationStatus(node, name)
        } catch {
            context.fail(node, name, kind: .regular, phase: .prepare, source: source, error: error)
            return
        }
        guard let placed else {
            // The leader failed; this name is copied on its own so that its data is not lost.
            if let own = replicate(node, name, source, existing: existing, keepDescriptor: false) {
                Sys.close(own.fd)
            }
            return
        }
        if let existing, existing.inode == placed.inode {
            context.update { $0.filesUnchanged += 1 }
            return
        }
        context.markTransfer()
        context.update {
            $0.estimatedFilesToTransfer += 1
            if !context.dryRun { $0.filesTransferred += 1 }
        }
        guard !context.dryRun else {
            context.emit(node, name, kind: .regular, phase: .transfer, type: .content, status: .success, source: source)
            return
        }
        let temporary = TemporaryName.make()
        do {
            try Sys.link(fd: placed.fd, node.destinationFD, temporary.cString)
            if existing?.isDirectory == true {
                try walker.removeTree(node.destinationFD, name, isDirectory: true)
            }
            try Sys.rename(node.destinationFD, temporary.cString, node.destinationFD, name.cString)
            context.emit(node, name, kind: .regular, phase: .transfer, type: .content, status: .success, source: source)
        } catch {
            try? Sys.unlink(node.destinationFD, temporary.cString, isDirectory: false)
            context.fail(node, name, kind: .regular, phase: .transfer, source: source, error: error)
        }
    }

    /// Brings one file up to date. Returns a descriptor of the destination inode (for hard-link
    /// groups) when the file is in place, or nil when it failed or was only planned.
    private func replicate(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus, existing: FileStatus?, keepDescriptor: Bool) -> HardLinkTable.Placed? {
        let options = context.options
        let contentDiffers = options.transferMode == .all || existing.map { current in
            !current.isRegular || current.size != source.size
                || (options.mtime == .preserve && current.mtime != source.mtime)
        } ?? true

        if !contentDiffers, let existing {
            return refreshMetadata(node, name, source, existing: existing, keepDescriptor: keepDescriptor)
        }
        context.update {
            $0.estimatedFilesToTransfer += 1
            $0.estimatedBytesToTransfer += source.size
        }
        if context.dryRun || node.destinationFD < 0 {
            context.markTransfer()
            context.emit(node, name, kind: .regular, phase: .transfer, type: .content, status: .success, source: source)
            return nil
        }
        return copyContent(node, name, source, existing: existing)
    }

    /// Content matches; fixes owner, mode, xattrs or times in place if they differ.
    private func refreshMetadata(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus, existing: FileStatus, keepDescriptor: Bool) -> HardLinkTable.Placed? {
        do {
            let sourceXattrs = context.sourceXattrs.load(ordering: .relaxed) == 0 ? nil
                : try XattrIO.read(directory: node.sourceFD, name: name.bytes)
            if sourceXattrs == nil { context.sourceXattrs.store(0, ordering: .relaxed) }
            let plan = context.plan(for: source, xattrs: sourceXattrs)
            let currentXattrs = sourceXattrs == nil || context.destinationXattrs.load(ordering: .relaxed) == 0 ? nil
                : try XattrIO.read(directory: node.destinationFD, name: name.bytes)
            let matches = context.matches(plan, existing) && walker.xattrsMatch(plan.xattrs, currentXattrs)

            if matches && !keepDescriptor {
                context.update { $0.filesUnchanged += 1 }
                return nil
            }
            if !matches && context.dryRun {
                walker.countMetadataTransfer(node, name, kind: .regular, source: source)
                return nil
            }
            let fd = try Sys.openPath(node.destinationFD, name.cString)
            if matches {
                context.update { $0.filesUnchanged += 1 }
            } else {
                try context.apply(plan, to: .procPath(fd: fd), current: existing, currentXattrs: currentXattrs, isDirectory: false)
                walker.countMetadataTransfer(node, name, kind: .regular, source: source)
            }
            return HardLinkTable.Placed(fd: fd, inode: existing.inode)
        } catch {
            context.fail(node, name, kind: .regular, phase: .transfer, source: source, error: error)
            return nil
        }
    }

    /// Copies content and metadata into a temporary file and renames it over the final name.
    private func copyContent(_ node: DirectoryNode, _ name: EntryName, _ listed: FileStatus, existing: FileStatus?) -> HardLinkTable.Placed? {
        let sourceFD: Int32
        do {
            sourceFD = try Sys.openRead(node.sourceFD, name.cString)
        } catch {
            if error.code == ENOENT {
                context.update { $0.filesVanished += 1 }
                context.emit(node, name, kind: .regular, phase: .transfer, type: .content, status: .vanished, source: listed)
            } else {
                context.fail(node, name, kind: .regular, phase: .transfer, source: listed, error: error, readingSource: true)
            }
            return nil
        }
        defer { Sys.close(sourceFD) }

        var attempt = 0
        var before: FileStatus
        do {
            before = try Sys.stat(sourceFD)
        } catch {
            context.fail(node, name, kind: .regular, phase: .transfer, source: listed, error: error, readingSource: true)
            return nil
        }
        while true {
            attempt += 1
            let temporary = TemporaryName.make()
            var destinationFD: Int32 = -1
            do {
                destinationFD = try Sys.createExclusive(node.destinationFD, temporary.cString)
                context.markTransfer()
                let transfer = DataTransfer(context: context, worker: worker)
                let outcome = try transfer.copy(from: sourceFD, to: destinationFD, size: before.size,
                                                mayBeSparse: before.blocks * 512 < before.size, hashing: context.verifiesTransfers)
                let after = try Sys.stat(sourceFD)
                let changed = after.size != before.size || after.mtime != before.mtime || after.ctime != before.ctime

                if changed && attempt < 2 {
                    discard(node, temporary, destinationFD)
                    before = after
                    continue
                }
                var storedChecksum: String? = nil
                if !changed, let expected = outcome.checksum {
                    let verifyStart = context.elapsed
                    storedChecksum = try transfer.checksumFromStorage(of: destinationFD, size: before.size)
                    context.markVerify(start: verifyStart)
                    if storedChecksum != expected {
                        discard(node, temporary, destinationFD)
                        if attempt < 2 { continue }
                        context.update { $0.filesFailed.verify += 1; $0.verifyMismatches += 1 }
                        context.emit(node, name, kind: .regular, phase: .verify, type: .content, status: .verifyMismatch, source: before,
                                     checksum: expected, destinationChecksum: storedChecksum,
                                     failure: "destination checksum \(storedChecksum ?? "?") differs from source checksum \(expected)")
                        return nil
                    }
                }

                let plan = context.plan(for: before, xattrs: try walker.readSourceXattrs(fd: sourceFD))
                try context.apply(plan, to: .descriptor(destinationFD), current: nil, currentXattrs: nil, isDirectory: false)
                if existing?.isDirectory == true {
                    try walker.removeTree(node.destinationFD, name, isDirectory: true)
                }
                try Sys.rename(node.destinationFD, temporary.cString, node.destinationFD, name.cString)
                context.markTransfer()

                let verified = storedChecksum != nil
                context.update {
                    $0.filesTransferred += 1
                    $0.bytesWritten += outcome.bytesWritten
                    $0.bytesTransferred += outcome.bytesWritten
                    if verified { $0.filesVerified += 1 }
                    if changed { $0.filesChanged += 1 }
                }
                context.emit(node, name, kind: .regular, phase: .transfer, type: .content,
                             status: changed ? .changedDuringTransfer : .success, source: before,
                             checksum: outcome.checksum, destinationChecksum: storedChecksum,
                             failure: changed ? "source changed while it was copied (size, mtime or ctime moved); not verified" : nil,
                             bytes: outcome.bytesWritten)
                let inode = (try? Sys.stat(destinationFD))?.inode ?? 0
                return HardLinkTable.Placed(fd: destinationFD, inode: inode)
            } catch {
                if destinationFD >= 0 {
                    discard(node, temporary, destinationFD)
                }
                let readingSource = ["pread", "lseek(SEEK_DATA)", "lseek(SEEK_HOLE)", "copy_file_range"].contains(error.call)
                context.fail(node, name, kind: .regular, phase: .transfer, source: before, error: error, readingSource: readingSource)
                return nil
            }
        }
    }

    private func discard(_ node: DirectoryNode, _ temporary: EntryName, _ fd: Int32) {
        Sys.close(fd)
        try? Sys.unlink(node.destinationFD, temporary.cString, isDirectory: false)
    }
}
