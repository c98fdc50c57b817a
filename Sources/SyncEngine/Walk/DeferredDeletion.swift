import CSyncShim
import Glibc

/// Deletes, at the end of the run, the destination entries that the source no longer has.
///
/// Deferred so that one error reading the source anywhere disables every deletion of the run:
/// an entry that could not be read must never be taken for one that was removed.
struct DeferredDeletion {
    let context: TaskContext
    let walker: TreeWalker

    func run(destinationRoot: String) {
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
        for path in paths {
            delete(path, root: root)
        }
    }

    private func delete(_ components: [[UInt8]], root: Int32) {
        var directory = root
        var opened: [Int32] = []
        defer { opened.forEach { Sys.close($0) } }
        let name = EntryName(components.last!)
        do {
            for component in components.dropLast() {
                directory = try Sys.openDirectory(directory, EntryName(component).cString)
                opened.append(directory)
            }
            let existing = try Sys.stat(directory, name.cString)
            try walker.removeTree(directory, name, isDirectory: existing.isDirectory)
            context.update { $0.filesDeleted += 1 }
            context.emit(DeletionRoot.node, EntryName(joined(components)), kind: existing.kind, phase: .delete, type: .delete, status: .success, source: nil)
        } catch where error.code == ENOENT {
            // Already gone: nothing to delete.
        } catch {
            context.fail(DeletionRoot.node, EntryName(joined(components)), kind: .regular, phase: .delete, source: nil, error: error)
        }
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
