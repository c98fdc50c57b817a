import Glibc

extension TreeWalker {
    /// Replicates one name of a source inode with several names (a hard-link group).
    typealias Replicate = @Sendable (_ worker: WorkerContext, _ keepDescriptor: Bool) -> HardLinkTable.Placed?

    /// Replicates the first name of the group with `replicate`, which returns a descriptor of the
    /// placed destination entry; every later name becomes a hard link to that entry, so the group
    /// is one destination inode, whatever the entry type.
    func replicateLinked(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus, worker: WorkerContext, replicate: @escaping Replicate) {
        let key = HardLinkTable.Key(device: source.device, inode: source.inode)
        let walker = self
        node.retain()
        let role = context.hardLinks.join(key, linkCount: source.linkCount) { placed in
            walker.context.pool.submit { worker in
                walker.follow(node, name, source, placed: placed, key: key, worker: worker, replicate: replicate)
                walker.releaseDirectory(node)
            }
        }
        switch role {
        case .leader:
            let placed = replicate(worker, true)
            context.hardLinks.complete(key, placed: placed)
            releaseDirectory(node)
        case .follow(let placed):
            follow(node, name, source, placed: placed, key: key, worker: worker, replicate: replicate)
            releaseDirectory(node)
        case .wait:
            break  // The waiter queued above runs once the leader has placed its entry.
        }
    }

    /// Links a later name of a group to the leader's destination inode, unless it already is one.
    private func follow(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus, placed: HardLinkTable.Placed?,
                        key: HardLinkTable.Key, worker: WorkerContext, replicate: Replicate) {
        defer { context.hardLinks.finishFollower(key) }
        guard let placed else {
            if context.dryRun {
                // The leader only planned its copy; this name would become a link to it.
                context.update { $0.estimatedFilesToTransfer += 1 }
                context.emit(node, name, kind: source.kind, phase: .transfer, type: .content, status: .success, source: source)
                return
            }
            // The leader failed; this name is replicated on its own so that its data is not lost.
            if let own = replicate(worker, false) {
                Sys.close(own.fd)
            }
            return
        }
        let existing: FileStatus?
        do {
            existing = try destinationStatus(node, name)
        } catch {
            context.fail(node, name, kind: source.kind, phase: .prepare, source: source, error: error)
            return
        }
        if let existing, existing.inode == placed.inode {
            context.update { $0.filesUnchanged += 1 }
            return
        }
        if existing != nil && context.options.overwrite == .never {
            context.update { $0.filesSkipped += 1 }
            context.emit(node, name, kind: source.kind, phase: .prepare, type: .none, status: .skipped, source: source)
            return
        }
        context.markTransfer()
        context.update {
            $0.estimatedFilesToTransfer += 1
            if !context.dryRun { $0.filesTransferred += 1 }
        }
        guard !context.dryRun, node.destinationFD >= 0 else {
            context.emit(node, name, kind: source.kind, phase: .transfer, type: .content, status: .success, source: source)
            return
        }
        let temporary = TemporaryName.make()
        defer { withExtendedLifetime(temporary) {} }
        do {
            try Sys.link(fd: placed.fd, node.destinationFD, temporary.cString)
            if existing?.isDirectory == true {
                let removed = try removeTree(node.destinationFD, name, isDirectory: true)
                context.update { $0.filesDeleted += removed }
            }
            try Sys.rename(node.destinationFD, temporary.cString, node.destinationFD, name.cString)
            context.emit(node, name, kind: source.kind, phase: .transfer, type: .content, status: .success, source: source)
        } catch {
            try? Sys.unlink(node.destinationFD, temporary.cString, isDirectory: false)
            context.fail(node, name, kind: source.kind, phase: .transfer, source: source, error: error)
        }
    }

    /// Opens a descriptor that names the destination entry `name` (symlinks included), for linking to it.
    func placedEntry(_ node: DirectoryNode, _ name: EntryName) -> HardLinkTable.Placed? {
        guard !context.dryRun, node.destinationFD >= 0,
              let fd = try? Sys.openPath(node.destinationFD, name.cString) else { return nil }
        guard let status = try? Sys.stat(fd) else {
            Sys.close(fd)
            return nil
        }
        return HardLinkTable.Placed(fd: fd, inode: status.inode)
    }
}
