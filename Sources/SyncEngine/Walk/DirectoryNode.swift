import Synchronization

/// A folder being replicated: its two open descriptors and the work still pending inside it.
///
/// A node holds one count for its own listing and one for each child job. When the count falls
/// to zero, every child is complete, so the folder's own metadata (mode, times) is applied and
/// the node releases its parent: folder metadata always lands after the folder's children.
final class DirectoryNode: @unchecked Sendable {
    let parent: DirectoryNode?
    /// nil for the task root.
    let name: EntryName?
    let sourceStatus: FileStatus
    /// Whether an ancestor (or this folder) is excluded from content but walked toward includes.
    let traverseOnly: Bool

    // Set once by the job that opens the folder, before any child job is submitted.
    var sourceFD: Int32 = -1
    /// -1 when the destination folder does not exist (only in a dry run).
    var destinationFD: Int32 = -1
    /// The folder was created by this run, so it holds nothing to compare or delete.
    var destinationIsNew = false
    var destinationStatus: FileStatus?
    /// The mode to restore after children, when the destination folder had to be opened up to write.
    var temporarilyWritable = false

    private let pending = Atomic<Int>(1)
    /// Source names seen so far, for finding destination entries the source lacks.
    let sourceNames = Mutex<Set<UInt64>>([])

    init(parent: DirectoryNode?, name: EntryName?, sourceStatus: FileStatus, traverseOnly: Bool) {
        self.parent = parent
        self.name = name
        self.sourceStatus = sourceStatus
        self.traverseOnly = traverseOnly
    }

    deinit {
        closeDescriptors()
    }

    func closeDescriptors() {
        if sourceFD >= 0 { Sys.close(sourceFD); sourceFD = -1 }
        if destinationFD >= 0 { Sys.close(destinationFD); destinationFD = -1 }
    }

    func retain() {
        pending.wrappingAdd(1, ordering: .relaxed)
    }

    /// Drops one count and reports whether it was the last.
    func release() -> Bool {
        pending.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue == 0
    }

    /// The folder's path from the task root with a leading `/`; the root is `/`.
    var relativePath: [UInt8] {
        var components: [[UInt8]] = []
        var node: DirectoryNode? = self
        while let current = node, let name = current.name {
            components.append(name.bytes)
            node = current.parent
        }
        if components.isEmpty { return [UInt8(ascii: "/")] }
        var path: [UInt8] = []
        for component in components.reversed() {
            path.append(UInt8(ascii: "/"))
            path += component
        }
        return path
    }

    func path(of child: EntryName) -> [UInt8] {
        var path = relativePath
        if path.count > 1 { path.append(UInt8(ascii: "/")) }
        path += child.bytes
        return path
    }

    /// The path components from the task root, for deferred deletions.
    var components: [[UInt8]] {
        var components: [[UInt8]] = []
        var node: DirectoryNode? = self
        while let current = node, let name = current.name {
            components.append(name.bytes)
            node = current.parent
        }
        return components.reversed()
    }
}
