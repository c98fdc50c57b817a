import Synchronization

/// Source inodes with more than one name, so that each becomes one destination inode.
///
/// The first name seen copies the content (the leader); later names wait until the leader has
/// placed its file, then link to it through a descriptor the table keeps open. A group is
/// forgotten, and its descriptor closed, once every one of its names has been seen.
final class HardLinkTable: Sendable {
    struct Key: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    /// The leader's placed file: a descriptor to link from and its destination inode.
    struct Placed: Sendable {
        var fd: Int32
        var inode: UInt64
    }

    enum Role {
        case leader
        case follow(Placed?)
        case wait
    }

    private enum State {
        case pending([@Sendable (Placed?) -> Void])
        case placed(Placed)
        case failed
    }

    private struct Group {
        var state: State
        /// Names of the group not seen yet.
        var namesLeft: Int
        /// Names that joined and have not finished; the descriptor stays open while any remain.
        var followersActive = 0
    }

    private let groups = Mutex<[Key: Group]>([:])

    /// Joins the group of `key`. A `.wait` result means `waiter` is called once the leader is done.
    func join(_ key: Key, linkCount: UInt32, waiter: @escaping @Sendable (Placed?) -> Void) -> Role {
        groups.withLock { groups in
            guard var group = groups[key] else {
                groups[key] = Group(state: .pending([]), namesLeft: Int(linkCount) - 1)
                return .leader
            }
            group.namesLeft -= 1
            group.followersActive += 1
            defer { groups[key] = group }
            switch group.state {
            case .pending(var waiters):
                waiters.append(waiter)
                group.state = .pending(waiters)
                return .wait
            case .placed(let placed):
                return .follow(placed)
            case .failed:
                return .follow(nil)
            }
        }
    }

    /// Records the leader's outcome (`placed` nil on failure) and wakes the names that waited.
    func complete(_ key: Key, placed: Placed?) {
        let waiters: [@Sendable (Placed?) -> Void] = groups.withLock { groups in
            guard var group = groups[key], case .pending(let waiters) = group.state else { return [] }
            group.state = placed.map { .placed($0) } ?? .failed
            groups[key] = group
            return waiters
        }
        for waiter in waiters {
            waiter(placed)
        }
    }

    /// Called by each follower when it is done, so the last one closes the group's descriptor.
    func finishFollower(_ key: Key) {
        let fd: Int32? = groups.withLock { groups in
            guard var group = groups[key] else { return nil }
            group.followersActive -= 1
            groups[key] = group
            guard group.namesLeft <= 0, group.followersActive == 0 else { return nil }
            if case .pending = group.state { return nil }
            groups[key] = nil
            if case .placed(let placed) = group.state { return placed.fd }
            return -1
        }
        if let fd, fd >= 0 {
            Sys.close(fd)
        }
    }

    /// Closes what remains: groups with names outside the tree, or excluded by filters.
    func closeAll() {
        let remaining = groups.withLock { groups in
            let all = groups.values.compactMap { group -> Int32? in
                if case .placed(let placed) = group.state { return placed.fd }
                return nil
            }
            groups.removeAll()
            return all
        }
        for fd in remaining {
            Sys.close(fd)
        }
    }
}
