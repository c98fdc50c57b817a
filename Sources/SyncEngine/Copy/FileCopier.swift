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
        if let existing, context.options.overwrite == .never {
            keepExisting(node, name, source, existing)
            return
        }

        guard source.linkCount > 1 else {
            if let placed = replicate(node, name, source, existing: existing, keepDescriptor: false) {
                Sys.close(placed.fd)
            }
            return
        }

        let existingStatus = existing
        walker.replicateLinked(node, name, source, worker: worker) { worker, keepDescriptor in
            let copier = FileCopier(context: context, worker: worker, walker: walker)
            // A follower whose leader failed re-reads the destination: the leader may have changed it.
            let current = keepDescriptor ? existingStatus : (try? copier.destinationStatus(node, name)) ?? nil
            return copier.replicate(node, name, source, existing: current, keepDescriptor: keepDescriptor)
        }
    }

    func destinationStatus(_ node: DirectoryNode, _ name: EntryName) throws(Errno) -> FileStatus? {
        guard node.destinationFD >= 0, !node.destinationIsNew else { return nil }
        do {
            return try Sys.stat(node.destinationFD, name.cString)
        } catch where error.code == ENOENT {
            return nil
        }
    }

    /// Brings one file up to date. Returns a descriptor of the destination inode (for hard-link
    /// groups) when the file is in place, or nil when it failed or was only planned.
    func replicate(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus, existing: FileStatus?, keepDescriptor: Bool) -> HardLinkTable.Placed? {
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
        return copyContent(node, name, source, existing: existing, keepDescriptor: keepDescriptor)
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
            // An entry whose only difference the destination cannot hold (xattrs on a filesystem
            // without them) stays unchanged, so later runs converge.
            if !matches, try context.apply(plan, to: .procPath(fd: fd), current: existing, currentXattrs: currentXattrs, isDirectory: false) {
                walker.countMetadataTransfer(node, name, kind: .regular, source: source)
            } else {
                context.update { $0.filesUnchanged += 1 }
            }
            return HardLinkTable.Placed(fd: fd, inode: existing.inode)
        } catch {
            context.fail(node, name, kind: .regular, phase: .transfer, source: source, error: error)
            return nil
        }
    }

    /// Copies content and metadata into a temporary file and renames it over the final name.
    private func copyContent(_ node: DirectoryNode, _ name: EntryName, _ listed: FileStatus, existing: FileStatus?, keepDescriptor: Bool) -> HardLinkTable.Placed? {
        guard var sourceFD = openSource(node, name, listed) else { return nil }
        defer { if sourceFD >= 0 { Sys.close(sourceFD) } }

        // The listing's status is the baseline. If the file changed since, the check after the
        // copy detects it and copies again, so a statx here would add nothing.
        var attempt = 0
        var before = listed
        var sawChange = false
        while true {
            attempt += 1
            let temporary = TemporaryName.make()
            defer { withExtendedLifetime(temporary) {} }
            var destinationFD: Int32 = -1
            do {
                // Created with its final permission bits (the task runs with umask 0), so no chmod
                // is needed. Set-id bits come later, after the owner is set.
                destinationFD = try Sys.createExclusive(node.destinationFD, temporary.cString, mode: mode_t(createMode(before)))
                context.markTransfer()
                let transfer = DataTransfer(context: context, worker: worker)
                let outcome = try transfer.copy(from: sourceFD, to: destinationFD, size: before.size,
                                                mayBeSparse: before.blocks * 512 < before.size, hashing: context.verifiesTransfers)
                // The data has moved: what follows (reading it back, metadata) is verification.
                context.markTransfer()
                let after = try Sys.stat(sourceFD)
                if after.linkCount == 0 {
                    // Deleted while it was copied: nothing of it may appear at the destination.
                    discard(node, temporary, destinationFD)
                    reportVanished(node, name, listed)
                    return nil
                }
                let changed = after.size != before.size || after.mtime != before.mtime
                    || after.ctime != before.ctime || after.inode != before.inode
                sawChange = sawChange || changed

                if changed && attempt < 2 {
                    // Copied again once from a fresh open, since the name may now be another file.
                    discard(node, temporary, destinationFD)
                    Sys.close(sourceFD)
                    guard let reopened = openSource(node, name, listed) else {
                        sourceFD = -1
                        return nil
                    }
                    sourceFD = reopened
                    before = try Sys.stat(sourceFD)
                    continue
                }
                var storedChecksum: String? = nil
                if !sawChange, let expected = outcome.checksum {
                    let verifyStart = context.elapsed
                    storedChecksum = try transfer.checksumFromStorage(of: destinationFD, directory: node.destinationFD,
                                                                      name: temporary, size: before.size,
                                                                      mayBeSparse: before.blocks * 512 < before.size)
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
                try context.apply(plan, to: .descriptor(destinationFD), current: createdStatus(node, before),
                                  currentXattrs: nil, isDirectory: false)
                if existing?.isDirectory == true {
                    try walker.removeTree(node.destinationFD, name, isDirectory: true)
                }
                try Sys.rename(node.destinationFD, temporary.cString, node.destinationFD, name.cString)
                if storedChecksum == nil {
                    context.markTransfer()
                }

                // A file that changed during any attempt is never counted verified, even when the
                // second copy went through unchanged: its content belongs to no single moment.
                let verified = storedChecksum != nil && !sawChange
                context.update {
                    $0.filesTransferred += 1
                    $0.bytesWritten += outcome.bytesWritten
                    $0.bytesTransferred += outcome.bytesWritten
                    if verified { $0.filesVerified += 1 }
                    if sawChange { $0.filesChanged += 1 }
                }
                context.emit(node, name, kind: .regular, phase: .transfer, type: .content,
                             status: sawChange ? .changedDuringTransfer : .success, source: before,
                             checksum: outcome.checksum, destinationChecksum: storedChecksum,
                             failure: sawChange ? "source changed while it was copied (size, mtime or ctime moved); copied again once, not verified" : nil,
                             bytes: outcome.bytesWritten)
                guard keepDescriptor else {
                    Sys.close(destinationFD)
                    return nil
                }
                let inode = (try? Sys.stat(destinationFD))?.inode ?? 0
                return HardLinkTable.Placed(fd: destinationFD, inode: inode)
            } catch {
                if destinationFD >= 0 {
                    discard(node, temporary, destinationFD)
                }
                if error.code == ECANCELED {
                    return nil  // Stopped by a signal: the file is left for the next run.
                }
                let readingSource = ["pread", "lseek(SEEK_DATA)", "lseek(SEEK_HOLE)", "copy_file_range"].contains(error.call)
                context.fail(node, name, kind: .regular, phase: .transfer, source: before, error: error, readingSource: readingSource)
                return nil
            }
        }
    }

    /// With `--overwrite never`: an entry that already matches counts as unchanged; one that
    /// differs is kept as it is and counted as skipped.
    private func keepExisting(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus, _ existing: FileStatus) {
        let contentMatches = existing.isRegular && existing.size == source.size
            && (context.options.mtime == .none || existing.mtime == source.mtime)
        if contentMatches && context.matches(context.plan(for: source, xattrs: nil), existing) {
            context.update { $0.filesUnchanged += 1 }
            return
        }
        context.update { $0.filesSkipped += 1 }
        context.emit(node, name, kind: .regular, phase: .prepare, type: .none, status: .skipped, source: source,
                     failure: "kept the destination's version (--overwrite never)")
    }

    /// Opens the source file, reporting a vanished or unreadable file and returning nil.
    private func openSource(_ node: DirectoryNode, _ name: EntryName, _ listed: FileStatus) -> Int32? {
        do {
            return try Sys.openRead(node.sourceFD, name.cString)
        } catch where error.code == ENOENT {
            reportVanished(node, name, listed)
        } catch {
            context.fail(node, name, kind: .regular, phase: .transfer, source: listed, error: error, readingSource: true)
        }
        return nil
    }

    private func reportVanished(_ node: DirectoryNode, _ name: EntryName, _ listed: FileStatus) {
        context.update { $0.filesVanished += 1 }
        context.emit(node, name, kind: .regular, phase: .transfer, type: .content, status: .vanished, source: listed,
                     failure: "vanished from the source during the run")
    }

    /// Permission bits for a new temporary file: the source's, without set-id and sticky bits.
    private func createMode(_ source: FileStatus) -> UInt32 {
        context.options.permissions == .preserve ? source.permissions & 0o777 : 0o644
    }

    /// Returns the status of a file this process just created, so that `apply` skips what already
    /// matches. It is known only in folders this run created (mode 0700, no set-gid bit to inherit).
    private func createdStatus(_ node: DirectoryNode, _ source: FileStatus) -> FileStatus? {
        guard node.destinationIsNew, context.processUmaskIsZero else { return nil }
        var status = source
        status.uid = context.userID
        status.gid = context.groupID
        status.mode = (source.mode & ~0o7777) | createMode(source)
        status.mtime = FileStatus.Timestamp(seconds: -1, nanoseconds: -1)
        return status
    }

    private func discard(_ node: DirectoryNode, _ temporary: EntryName, _ fd: Int32) {
        Sys.close(fd)
        try? Sys.unlink(node.destinationFD, temporary.cString, isDirectory: false)
    }
}
