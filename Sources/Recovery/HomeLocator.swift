import Foundation
import MappingStore

/// Turns a profile's EFS id and UID into its home folder on this host: `<mount>/<uid>`.
///
/// Only the configured mount path and the decimal UID go into the path; profile and domain names
/// never do.
public struct HomeLocator: Sendable {
    public let mounts: [EFSFileSystemID: String]

    public init(mounts: [EFSFileSystemID: String]) {
        self.mounts = mounts
    }

    /// The home folder of `profile`, after checking that its volume's mount is a folder.
    public func home(of profile: StudioUser) throws -> String {
        guard let mount = mounts[profile.efsFileSystemID] else {
            throw RecoveryError.missingMount(profile.efsFileSystemID, profile: profile.key)
        }
        guard Self.isFolder(mount) else {
            throw RecoveryError.mountNotFolder(profile.efsFileSystemID, path: mount)
        }
        return (mount as NSString).appendingPathComponent(String(profile.efsUID))
    }

    /// Finds both homes of a restore and checks that the source exists and that they do not overlap.
    ///
    /// A missing target home is fine, because the engine creates it.
    public func homes(source: StudioUser, target: StudioUser) throws -> (source: String, target: String) {
        let sourceHome = try home(of: source)
        let targetHome = try home(of: target)
        // A home replaced by a symlink could lead the copy to read or write any folder of the host.
        for (path, profile) in [(sourceHome, source.key), (targetHome, target.key)] where Self.isSymlink(path) {
            throw RecoveryError.homeIsSymlink(path: path, profile: profile)
        }
        guard Self.isFolder(sourceHome) else {
            throw RecoveryError.sourceHomeMissing(path: sourceHome, profile: source.key)
        }
        if FileManager.default.fileExists(atPath: targetHome) && !Self.isFolder(targetHome) {
            throw RecoveryError.targetHomeNotFolder(path: targetHome, profile: target.key)
        }
        if Self.overlap(sourceHome, targetHome) {
            throw RecoveryError.homesOverlap(source: sourceHome, target: targetHome)
        }
        return (sourceHome, targetHome)
    }

    static func isSymlink(_ path: String) -> Bool {
        let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
        return type == .typeSymbolicLink
    }

    static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Whether two folders are the same or one contains the other.
    ///
    /// Compares device and inode numbers of each path and its existing ancestors, so a symlink or
    /// a bind mount that makes one folder reachable under two names is caught too.
    static func overlap(_ first: String, _ second: String) -> Bool {
        let firstChain = identityChain(of: first)
        let secondChain = identityChain(of: second)
        guard let firstSelf = firstChain.first, let secondSelf = secondChain.first else { return false }
        let firstExists = FileManager.default.fileExists(atPath: first)
        let secondExists = FileManager.default.fileExists(atPath: second)
        // A missing folder cannot contain anything, but it lies inside whatever contains its ancestors.
        if firstExists && secondChain.contains(where: { $0.identity == firstSelf.identity }) { return true }
        if secondExists && firstChain.contains(where: { $0.identity == secondSelf.identity }) { return true }
        return false
    }

    private struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
    }

    /// The identities of `path` (when it exists) and of each existing ancestor, nearest first.
    private static func identityChain(of path: String) -> [(path: String, identity: FileIdentity)] {
        var chain: [(path: String, identity: FileIdentity)] = []
        var current = (path as NSString).standardizingPath
        while true {
            if let attributes = try? FileManager.default.attributesOfItem(atPath: current),
               let device = (attributes[.systemNumber] as? NSNumber)?.uint64Value,
               let inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value {
                chain.append((current, FileIdentity(device: device, inode: inode)))
            }
            if current == "/" || current.isEmpty { break }
            current = (current as NSString).deletingLastPathComponent
        }
        // Walk the resolved path as well, so a symlinked mount is compared by where it leads.
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        if resolved != path {
            chain += identityChain(of: resolved).filter { entry in !chain.contains { $0.identity == entry.identity } }
        }
        return chain
    }
}
