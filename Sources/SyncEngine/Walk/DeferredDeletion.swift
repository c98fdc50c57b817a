import CSyncShim
import Glibc

/// Deletes, at the end of the run, the destination entries that the source no longer has.
///
/// Deferred so that one error reading the source anywhere disables every deletion of the run:
/// an entry that could not be read must never be taken for one that was removed.
struct DeferredDeletion {
    let context: TaskContext
    let walker: TreeWalker

    func run(sourceRoot: String, destinationRoot: String) {
        let paths = context.deletions.withLock { $0 }
        guard !paths.isEmpty else { return }
        if context.sourceReadFailed.load(ordering: .relaxed) {
            context.update { $0.deletionSkippedAfterReadError = true }
            return
        }
        guard !context.dryRun else {
            for path in paths {
                context.emit(DeletionRoot.node, EntryName(joined(path)), kind: .regular, phase: .delete, type: .delete, status: .success, source: nil)
            }
            return
        }
        guard let root = try? Sys.openDirectory(path: destinationRoot) else { return }
        defer { Sys.close(root) }
        var parents = Set<[[UInt8]]>()
        for path in paths {
            if delete(path, root: root) {
                parents.insert(Array(path.dropLast()))
            }
        }
        restoreFolderTimes(parents, sourceRoot: sourceRoot, destinationRoot: root)
    }

    /// Deleting changed the parent folders' times; they get their source folders' times back.
    private func restoreFolderTimes(_ folders: Set<[[UInt8]]>, sourceRoot: String, destinationRoot: Int32) {
        guard context.options.mtime == .preserve, let source = try? Sys.openDirectory(path: sourceRoot) else { return }
        defer { Sys.close(source) }
        for components in folders {
            guard let sourceFolder = try? open(components, from: source) else { continue }
            defer { if sourceFolder != source { Sys.close(sourceFolder) } }
            guard let destinationFolder = try? open(components, from: destinationRoot) else { continue }
            defer { if destinationFolder != destinationRoot { Sys.close(destinationFolder) } }
            do {
                let status = try Sys.stat(sourceFolder)
                let plan = context.plan(for: status, xattrs: nil)
                try Sys.setTimes(destinationFolder, atime: plan.atime, mtime: plan.mtime)
            } catch {
                context.fail(DeletionRoot.node, EntryName(joined(components)), kind: .directory, phase: .delete, source: nil, error: error)
            }
        }
    }

    /// Opens the folder at `components` below `root` without following symlinks; `root` itself for none.
    private func open(_ components: [[UInt8]], from root: Int32) throws(Errno) -> Int32 {
        var directory = root
        for component in components {
            let name = EntryName(component)
            let next = try withExtendedLifetime(name) { () throws(Errno) -> Int32 in
                try Sys.openDirectory(directory, name.cString)
            }
            if directory != root { Sys.close(directory) }
            directory = next
        }
        return directory
    }

    /// Deletes one entry; returns whether something was removed.
    @discardableResult
    private func delete(_ components: [[UInt8]], root: Int32) -> Bool {
        var directory = root
        var opened: [Int32] = []
        defer { opened.forEach { Sys.close($0) } }
        let name = EntryName(components.last!)
        do {
            for component in components.dropLast() {
                let componentName = EntryName(component)
                directory = try withExtendedLifetime(componentName) { () throws(Errno) -> Int32 in
                    try Sys.openDirectory(directory, componentName.cString)
                }
                opened.append(directory)
            }
            let existing = try Sys.stat(directory, name.cString)
            let path = [UInt8(ascii: "/")] + joined(components)
            let removed = try walker.removeExtraneous(directory, name, path: path, remove: true).count
            context.update { $0.filesDeleted += removed }
            context.emit(DeletionRoot.node, EntryName(joined(components)), kind: existing.kind, phase: .delete, type: .delete, status: .success, source: nil)
            return true
        } catch where error.code == ENOENT {
            // Already gone: nothing to delete.
        } catch {
            context.fail(DeletionRoot.node, EntryName(joined(components)), kind: .regular, phase: .delete, source: nil, error: error)
        }
        return false
    }

    private func joined(_ components: [[UInt8]]) -> [UInt8] {
        Array(components.joined(separator: [UInt8(ascii: "/")]))
    }
}

/// A stand-in root folder so deletion events print root-relative paths like every other event.
enum DeletionRoot {
    static let node = DirectoryNode(parent: nil, name: nil, sourceStatus: FileStatus.empty, traverseOnly: false)
}

extension FileStatus {
    static let empty = FileStatus(syncd_stat_t())
}
