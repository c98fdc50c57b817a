import Glibc

/// The metadata a destination entry should end with, derived from its source entry.
struct MetadataPlan {
    /// nil: leave the owner as it is (`--owner none`).
    var uid: UInt32?
    var gid: UInt32?
    /// Permission bits with set-id and sticky bits; nil for symlinks and `--perms none`.
    var mode: UInt32?
    /// nil: the source's xattrs are unknown (unsupported there) and the destination's are left alone.
    var xattrs: XattrIO.Attributes?
    var atime: timespec
    var mtime: timespec
}

/// The destination entry that metadata is written to: an open descriptor, an O_PATH descriptor
/// reached through its /proc path, or a symlink named in its folder. Symlinks are changed with
/// the *at calls and AT_SYMLINK_NOFOLLOW.
enum MetadataTarget {
    case descriptor(Int32)
    case procPath(fd: Int32)
    case symlink(directory: Int32, name: EntryName)
}

extension TaskContext {
    /// Builds the plan for a source entry: owners mapped, and only what the options ask to keep.
    func plan(for source: FileStatus, xattrs: XattrIO.Attributes?) -> MetadataPlan {
        var plan = MetadataPlan(uid: nil, gid: nil, mode: nil, xattrs: xattrs,
                                atime: timespec(tv_sec: 0, tv_nsec: utimeOmit),
                                mtime: timespec(tv_sec: 0, tv_nsec: utimeOmit))
        if options.owners == .preserve {
            plan.uid = options.uidMap[source.uid] ?? source.uid
            plan.gid = options.gidMap[source.gid] ?? source.gid
        }
        if options.permissions == .preserve && !source.isSymlink {
            plan.mode = source.permissions
        } else if !source.isSymlink {
            // Without PosixPermissions, new entries get the common defaults, as DataSync gives them.
            plan.mode = source.isDirectory ? 0o755 : 0o644
        }
        if options.mtime == .preserve {
            plan.mtime = timespec(tv_sec: Int(source.mtime.seconds), tv_nsec: Int(source.mtime.nanoseconds))
        }
        if options.atime == .bestEffort {
            plan.atime = timespec(tv_sec: Int(source.atime.seconds), tv_nsec: Int(source.atime.nanoseconds))
        }
        if let attributes = plan.xattrs, !options.uidMap.isEmpty || !options.gidMap.isEmpty {
            plan.xattrs = attributes.map { ($0.name, ACLMapping.remap($0.name, $0.value, uids: options.uidMap, gids: options.gidMap)) }
        }
        return plan
    }

    /// Returns whether `current` already has the plan's owner, mode and mtime. Xattrs are compared separately.
    func matches(_ plan: MetadataPlan, _ current: FileStatus, ignoreTimes: Bool = false) -> Bool {
        if let uid = plan.uid, uid != current.uid { return false }
        if let gid = plan.gid, gid != current.gid { return false }
        if let mode = plan.mode, mode != current.permissions && !(settableMode(mode, current) == current.permissions) { return false }
        if !ignoreTimes && plan.mtime.tv_nsec != utimeOmit {
            if Int64(plan.mtime.tv_sec) != current.mtime.seconds || Int64(plan.mtime.tv_nsec) != current.mtime.nanoseconds { return false }
        }
        return true
    }

    /// Returns the mode this process can give an entry. Without the right to set the owner,
    /// set-id bits are dropped rather than granted to the process's own user.
    private func settableMode(_ mode: UInt32, _ current: FileStatus) -> UInt32 {
        isPrivileged ? mode : mode & ~0o6000
    }

    /// Applies the plan in the order owner, mode, ACLs and xattrs, times. With `current`, only
    /// what differs is written, so an entry that already matches is not touched (its ctime stays).
    /// Returns whether anything was written; failures other than downgrades are thrown.
    @discardableResult
    func apply(_ plan: MetadataPlan, to target: MetadataTarget, current: FileStatus?,
               currentXattrs: XattrIO.Attributes?, isDirectory: Bool) throws(Errno) -> Bool {
        var changed = false
        var mode = plan.mode

        if let uid = plan.uid, let gid = plan.gid, current.map({ $0.uid != uid || $0.gid != gid }) ?? true {
            do {
                switch target {
                case .descriptor(let fd): try Sys.chown(fd, uid: uid, gid: gid)
                case .procPath(let fd): try Sys.chownNoFollow(fd, "", uid: uid, gid: gid, emptyPathFlag: true)
                case .symlink(let directory, let name): try Sys.chownNoFollow(directory, name.cString, uid: uid, gid: gid)
                }
                changed = true
            } catch where error.code == EPERM || error.code == EINVAL {
                // Not allowed to give the entry away (not root, or the id has no mapping here).
                downgrade("owner")
                mode = mode.map { $0 & ~0o6000 }
            }
        }

        // chown clears set-id bits, so the mode is written after it when it carries any.
        if let mode, (changed && mode & 0o7000 != 0) || current.map({ $0.permissions != mode }) ?? true {
            switch target {
            case .descriptor(let fd): try Sys.chmod(fd, mode: mode)
            case .procPath(let fd): try Sys.chmodAt(AT_FDCWD, procPath(fd), mode: mode)
            case .symlink: break
            }
            changed = true
        }

        if let wanted = plan.xattrs {
            if destinationXattrs.load(ordering: .relaxed) == 0 {
                // Known unsupported: each entry that loses attributes is counted, nothing is tried.
                if wanted.contains(where: { ACLMapping.isACL($0.name) }) { downgrade("acl") }
                if wanted.contains(where: { !ACLMapping.isACL($0.name) }) { downgrade("xattr") }
            } else if try writeXattrs(wanted, current: currentXattrs, target: target) {
                changed = true
            }
        }

        let wantsTimes = plan.mtime.tv_nsec != utimeOmit || plan.atime.tv_nsec != utimeOmit
        if wantsTimes && (changed || isDirectory || current.map { !matches(plan, $0) } ?? true) {
            switch target {
            case .descriptor(let fd): try Sys.setTimes(fd, atime: plan.atime, mtime: plan.mtime)
            case .procPath(let fd): try Sys.setTimesNoFollow(AT_FDCWD, procPath(fd), atime: plan.atime, mtime: plan.mtime, follow: true)
            case .symlink(let directory, let name): try Sys.setTimesNoFollow(directory, name.cString, atime: plan.atime, mtime: plan.mtime)
            }
            changed = true
        }
        return changed
    }

    /// Writes the attributes that differ and removes the ones the source lacks.
    private func writeXattrs(_ wanted: XattrIO.Attributes, current: XattrIO.Attributes?, target: MetadataTarget) throws(Errno) -> Bool {
        var changed = false
        let existing = current ?? []
        for attribute in wanted {
            if existing.contains(where: { $0.name == attribute.name && $0.value == attribute.value }) { continue }
            do {
                try setXattr(target, attribute.name, attribute.value)
                changed = true
                destinationXattrs.store(1, ordering: .relaxed)
            } catch where error.code == ENOTSUP || error.code == EOPNOTSUPP {
                destinationXattrs.store(0, ordering: .relaxed)
                downgrade(ACLMapping.isACL(attribute.name) ? "acl" : "xattr")
                return changed
            } catch where error.code == EPERM || error.code == EACCES {
                // trusted.* and security.* need privileges this process does not have.
                downgrade(ACLMapping.isACL(attribute.name) ? "acl" : "xattr")
            }
        }
        for attribute in existing where !wanted.contains(where: { $0.name == attribute.name }) {
            do {
                try removeXattr(target, attribute.name)
                changed = true
            } catch where error.code == EPERM || error.code == EACCES {
                downgrade("xattr")
            }
        }
        return changed
    }

    private func setXattr(_ target: MetadataTarget, _ name: [UInt8], _ value: [UInt8]) throws(Errno) {
        switch target {
        case .descriptor(let fd): try XattrIO.set(directory: -1, name: [], fd: fd, attribute: name, value: value)
        case .procPath(let fd): try XattrIO.setFollowing(path: procPath(fd), attribute: name, value: value)
        case .symlink(let directory, let entry): try XattrIO.set(directory: directory, name: entry.bytes, fd: nil, attribute: name, value: value)
        }
    }

    private func removeXattr(_ target: MetadataTarget, _ name: [UInt8]) throws(Errno) {
        switch target {
        case .descriptor(let fd): try XattrIO.remove(directory: -1, name: [], fd: fd, attribute: name)
        case .procPath(let fd): try XattrIO.removeFollowing(path: procPath(fd), attribute: name)
        case .symlink(let directory, let entry): try XattrIO.remove(directory: directory, name: entry.bytes, fd: nil, attribute: name)
        }
    }

    private func procPath(_ fd: Int32) -> [CChar] {
        Array("/proc/self/fd/\(fd)".utf8CString)
    }

}

/// utimensat(2)'s "leave this time unchanged" marker, ((1 << 30) - 2), which Swift does not import.
let utimeOmit = (1 << 30) - 2

/// POSIX ACLs in their xattr form: owners named in ACL entries follow `--map-uid`/`--map-gid`.
enum ACLMapping {
    static let access = Array("system.posix_acl_access".utf8)
    static let `default` = Array("system.posix_acl_default".utf8)

    static func isACL(_ name: [UInt8]) -> Bool {
        name == access || name == `default`
    }

    /// Rewrites ACL_USER and ACL_GROUP ids in the kernel's ACL xattr format (a 4-byte version,
    /// then 8-byte entries of tag, permissions, id, little-endian). Other attributes pass unchanged.
    static func remap(_ name: [UInt8], _ value: [UInt8], uids: [UInt32: UInt32], gids: [UInt32: UInt32]) -> [UInt8] {
        guard isACL(name), value.count >= 4, (value.count - 4) % 8 == 0 else { return value }
        var result = value
        var offset = 4
        while offset + 8 <= result.count {
            let tag = UInt16(result[offset]) | UInt16(result[offset + 1]) << 8
            let id = (0..<4).reduce(UInt32(0)) { $0 | UInt32(result[offset + 4 + $1]) << (8 * $1) }
            var mapped: UInt32? = nil
            if tag == 0x02 {
                mapped = uids[id]
            } else if tag == 0x08 {
                mapped = gids[id]
            }
            if let mapped {
                for byte in 0..<4 {
                    result[offset + 4 + byte] = UInt8((mapped >> (8 * byte)) & 0xFF)
                }
            }
            offset += 8
        }
        return result
    }
}
