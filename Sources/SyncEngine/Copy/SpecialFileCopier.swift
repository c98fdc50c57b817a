import Glibc

/// Replicates symlinks (link text byte for byte, never followed), FIFOs (recreated, never
/// opened) and, with `--devices`, character and block devices (same major and minor numbers).
/// New entries are made under a temporary name and renamed over the final one.
struct SpecialFileCopier {
    let context: TaskContext

    /// Returns whether the destination entry is in place (created, refreshed or already matching).
    @discardableResult
    func process(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus) -> Bool {
        let walker = TreeWalker(context: context)
        do {
            let existing = try walker.destinationStatus(node, name)
            let linkText = source.isSymlink ? try Sys.readlink(node.sourceFD, name.cString) : []
            if let existing, context.options.overwrite == .never {
                // The destination's entry is kept; it counts as unchanged only when it matches.
                if try isSameEntry(node, name, source, existing, linkText: linkText),
                   context.matches(context.plan(for: source, xattrs: nil), existing) {
                    context.update { $0.filesUnchanged += 1 }
                    return true
                }
                context.update { $0.filesSkipped += 1 }
                context.emit(node, name, kind: source.kind, phase: .prepare, type: .none, status: .skipped, source: source,
                             failure: "kept the destination's version (--overwrite never)")
                return false
            }

            if let existing, try isSameEntry(node, name, source, existing, linkText: linkText) {
                try refreshMetadata(node, name, source, existing, walker: walker)
                return true
            }

            context.update { $0.estimatedFilesToTransfer += 1 }
            context.markTransfer()
            guard !context.dryRun, node.destinationFD >= 0 else {
                context.emit(node, name, kind: source.kind, phase: .transfer, type: .content, status: .success, source: source)
                return false
            }
            try create(node, name, source, existing, linkText: linkText, walker: walker)
            context.update { $0.filesTransferred += 1 }
            context.emit(node, name, kind: source.kind, phase: .transfer, type: .content, status: .success, source: source)
            return true
        } catch {
            let readingSource = error.call == "readlinkat"
            context.fail(node, name, kind: source.kind, phase: .transfer, source: source, error: error, readingSource: readingSource)
            return false
        }
    }

    private func isSameEntry(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus, _ existing: FileStatus, linkText: [UInt8]) throws(Errno) -> Bool {
        guard existing.fileType == source.fileType else { return false }
        if source.isSymlink {
            return try Sys.readlink(node.destinationFD, name.cString) == linkText
        }
        if source.kind == .characterDevice || source.kind == .blockDevice {
            return existing.rdev == source.rdev
        }
        return true
    }

    private func refreshMetadata(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus, _ existing: FileStatus, walker: TreeWalker) throws(Errno) {
        if source.isSymlink {
            // Symlinks carry only trusted.* and security.* xattrs; the kernel forbids user.* there.
            let sourceXattrs = context.sourceXattrs.load(ordering: .relaxed) == 0 ? nil : try XattrIO.read(directory: node.sourceFD, name: name.bytes)
            let plan = context.plan(for: source, xattrs: sourceXattrs)
            let currentXattrs = sourceXattrs == nil ? nil : try XattrIO.read(directory: node.destinationFD, name: name.bytes)
            if context.matches(plan, existing) && walker.xattrsMatch(plan.xattrs, currentXattrs) {
                context.update { $0.filesUnchanged += 1 }
                return
            }
            if context.dryRun || (try context.apply(plan, to: .symlink(directory: node.destinationFD, name: name), current: existing,
                                                    currentXattrs: currentXattrs, isDirectory: false)) {
                walker.countMetadataTransfer(node, name, kind: source.kind, source: source)
            } else {
                context.update { $0.filesUnchanged += 1 }
            }
            return
        }
        let sourceXattrs = context.sourceXattrs.load(ordering: .relaxed) == 0 ? nil : try XattrIO.read(directory: node.sourceFD, name: name.bytes)
        let plan = context.plan(for: source, xattrs: sourceXattrs)
        let currentXattrs = sourceXattrs == nil ? nil : try XattrIO.read(directory: node.destinationFD, name: name.bytes)
        if context.matches(plan, existing) && walker.xattrsMatch(plan.xattrs, currentXattrs) {
            context.update { $0.filesUnchanged += 1 }
            return
        }
        var changed = context.dryRun
        if !context.dryRun {
            let fd = try Sys.openPath(node.destinationFD, name.cString)
            defer { Sys.close(fd) }
            changed = try context.apply(plan, to: .procPath(fd: fd), current: existing, currentXattrs: currentXattrs, isDirectory: false)
        }
        if changed {
            walker.countMetadataTransfer(node, name, kind: source.kind, source: source)
        } else {
            context.update { $0.filesUnchanged += 1 }
        }
    }

    private func create(_ node: DirectoryNode, _ name: EntryName, _ source: FileStatus, _ existing: FileStatus?, linkText: [UInt8], walker: TreeWalker) throws(Errno) {
        let temporary = TemporaryName.make()
        defer { withExtendedLifetime(temporary) {} }
        do {
            if source.isSymlink {
                let target = EntryName(linkText)
                defer { withExtendedLifetime(target) {} }
                try Sys.symlink(target.cString, node.destinationFD, temporary.cString)
                let sourceXattrs = context.sourceXattrs.load(ordering: .relaxed) == 0 ? nil : try XattrIO.read(directory: node.sourceFD, name: name.bytes)
                let plan = context.plan(for: source, xattrs: sourceXattrs)
                try context.apply(plan, to: .symlink(directory: node.destinationFD, name: temporary), current: nil, currentXattrs: nil, isDirectory: false)
            } else {
                try Sys.mknod(node.destinationFD, temporary.cString, mode: mode_t(source.fileType | 0o600), device: source.rdev)
                let sourceXattrs = context.sourceXattrs.load(ordering: .relaxed) == 0 ? nil : try XattrIO.read(directory: node.sourceFD, name: name.bytes)
                let plan = context.plan(for: source, xattrs: sourceXattrs)
                let fd = try Sys.openPath(node.destinationFD, temporary.cString)
                defer { Sys.close(fd) }
                try context.apply(plan, to: .procPath(fd: fd), current: nil, currentXattrs: nil, isDirectory: false)
            }
            if existing?.isDirectory == true {
                let removed = try walker.removeTree(node.destinationFD, name, isDirectory: true)
                context.update { $0.filesDeleted += removed }
            }
            try Sys.rename(node.destinationFD, temporary.cString, node.destinationFD, name.cString)
        } catch {
            try? Sys.unlink(node.destinationFD, temporary.cString, isDirectory: false)
            throw error
        }
    }
}
