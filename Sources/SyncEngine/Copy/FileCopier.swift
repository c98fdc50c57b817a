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
            existing = try walker.destinationStatus(node, name)
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
            let current = keepDescriptor ? existingStatus : (try? walker.destinationStatus(node, name)) ?? nil
            return copier.replicate(node, name, source, existing: current, keepDescriptor: keepDescriptor)
        }
    }

    /// Brings one file up to date. Returns a descriptor of the destination inode (for hard-link
    /// groups) when the file is in place, or nil when it failed or was only planned.
    func replicate(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus, existing: FileStatus?, keepDescriptor: Bool) -> HardLinkTable.Placed? {
        let options = context.options
        // A destination name still linked to others, while the source name has no other links, gets
        // its own inode, so that writing through one name never changes another.
        let contentDiffers = options.transferMode == .all || existing.map { current in
            !current.isRegular || current.size != source.size
                || (options.mtime == .preserve && current.mtime != source.mtime)
                || (source.linkCount == 1 && current.linkCount > 1)
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

    /// A copied temporary file waiting for verification, metadata and its final name.
    private struct PendingCopy {
        var node: DirectoryNode
        var name: EntryName
        var temporary: EntryName
        var destinationFD: Int32
        var outcome: DataTransfer.Outcome
        var source: FileStatus
        var sourceXattrs: XattrIO.Attributes?
        var existing: FileStatus?
        var sawChange: Bool
        var attempt: Int
    }

    private enum FinishResult {
        case placed(HardLinkTable.Placed?)
        /// Verification failed on the first attempt: copy again.
        case retry
    }

    /// Copies content and metadata into a temporary file and renames it over the final name.
    ///
    /// Where O_DIRECT reads work, a verified file's read-back is put off behind the worker's
    /// next copies, with writeback started at once, so that the read rarely waits for the disk.
    private func copyContent(_ node: DirectoryNode, _ name: EntryName, _ listed: FileStatus, existing: FileStatus?,
                             keepDescriptor: Bool, firstAttempt: Int = 1) -> HardLinkTable.Placed? {
        guard var sourceFD = openSource(node, name, listed) else { return nil }
        defer { if sourceFD >= 0 { Sys.close(sourceFD) } }

        // The listing's status is the baseline. If the file changed since, the check after the
        // copy detects it and copies again, so a statx here would add nothing.
        var attempt = firstAttempt - 1
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

                let pending = PendingCopy(
                    node: node, name: name, temporary: temporary, destinationFD: destinationFD, outcome: outcome,
                    source: before, sourceXattrs: try walker.readSourceXattrs(fd: sourceFD), existing: existing,
                    sawChange: sawChange, attempt: attempt)
                let verifies = !sawChange && outcome.checksum != nil
                if verifies && !keepDescriptor && context.directReadWorks.load(ordering: .relaxed) == 1 {
                    Sys.startWriteback(destinationFD)
                    node.retain()
                    let context = self.context
                    let walker = self.walker
                    worker.deferWork { worker in
                        let copier = FileCopier(context: context, worker: worker, walker: walker)
                        if case .retry = copier.finish(pending, keepDescriptor: false) {
                            _ = copier.copyContent(node, name, listed, existing: existing, keepDescriptor: false, firstAttempt: 2)
                        }
                        walker.releaseDirectory(node)
                    }
                    return nil
                }
                switch finish(pending, keepDescriptor: keepDescriptor) {
                case .placed(let placed): return placed
                case .retry: continue
                }
            } catch {
                if destinationFD >= 0 {
                    discard(node, temporary, destinationFD)
                }
                if error.code == ECANCELED {
                    return nil  // Stopped by a signal: the file is left for the next run.
                }
                let readingSource = ["pread", "lseek(SEEK_DATA)", "lseek(SEEK_HOLE)", "copy_file_range", "listxattr", "getxattr"].contains(error.call)
                context.fail(node, name, kind: .regular, phase: .transfer, source: before, error: error, readingSource: readingSource)
                return nil
            }
        }
    }

    /// Verifies a copied temporary file against its checksum, applies metadata, and renames it
    /// over the final name. A mismatch on the first attempt returns `.retry` for another copy.
    private func finish(_ pending: PendingCopy, keepDescriptor: Bool) -> FinishResult {
        let node = pending.node
        let name = pending.name
        let before = pending.source
        do {
            var storedChecksum: String? = nil
            if !pending.sawChange, let expected = pending.outcome.checksum {
                let verifyStart = context.elapsed
                let transfer = DataTransfer(context: context, worker: worker)
                storedChecksum = try transfer.checksumFromStorage(of: pending.destinationFD, directory: node.destinationFD,
                                                                  name: pending.temporary, size: before.size,
                                                                  mayBeSparse: before.blocks * 512 < before.size)
                context.markVerify(start: verifyStart)
                if storedChecksum != expected {
                    discard(node, pending.temporary, pending.destinationFD)
                    if pending.attempt < 2 { return .retry }
                    context.update { $0.filesFailed.verify += 1; $0.verifyMismatches += 1 }
                    context.emit(node, name, kind: .regular, phase: .verify, type: .content, status: .verifyMismatch, source: before,
                                 checksum: expected, destinationChecksum: storedChecksum,
                                 failure: "destination checksum \(storedChecksum ?? "?") differs from source checksum \(expected)")
                    return .placed(nil)
                }
            }

            let plan = context.plan(for: before, xattrs: pending.sourceXattrs)
            try context.apply(plan, to: .descriptor(pending.destinationFD), current: createdStatus(node, before),
                              currentXattrs: nil, isDirectory: false)
            if pending.existing?.isDirectory == true {
                let removed = try walker.removeTree(node.destinationFD, name, isDirectory: true)
                context.update { $0.filesDeleted += removed }
            }
            try Sys.rename(node.destinationFD, pending.temporary.cString, node.destinationFD, name.cString)
            if storedChecksum == nil {
                context.markTransfer()
            }

            // A file that changed during any attempt is never counted verified, even when the
            // second copy went through unchanged: its content belongs to no single moment.
            let verified = storedChecksum != nil && !pending.sawChange
            let outcome = pending.outcome
            context.update {
                $0.filesTransferred += 1
                $0.bytesWritten += outcome.bytesWritten
                $0.bytesTransferred += outcome.bytesWritten
                if verified { $0.filesVerified += 1 }
                if pending.sawChange { $0.filesChanged += 1 }
            }
            context.emit(node, name, kind: .regular, phase: .transfer, type: .content,
                         status: pending.sawChange ? .changedDuringTransfer : .success, source: before,
                         checksum: outcome.checksum, destinationChecksum: storedChecksum,
                         failure: pending.sawChange ? "source changed while it was copied (size, mtime or ctime moved); copied again once, not verified" : nil,
                         bytes: outcome.bytesWritten)
            guard keepDescriptor else {
                Sys.close(pending.destinationFD)
                return .placed(nil)
            }
            let inode = (try? Sys.stat(pending.destinationFD))?.inode ?? 0
            return .placed(HardLinkTable.Placed(fd: pending.destinationFD, inode: inode))
        } catch {
            discard(node, pending.temporary, pending.destinationFD)
            if error.code != ECANCELED {
                context.fail(node, name, kind: .regular, phase: .transfer, source: before, error: error)
            }
            return .placed(nil)
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
