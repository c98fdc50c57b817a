import MappingStore

/// A restore or configuration problem found before any file is touched.
public enum RecoveryError: Error, Equatable, CustomStringConvertible {
    case configurationNotFound(path: String)
    case invalidConfiguration(path: String, detail: String)
    /// A `--mount` argument that is not `EFS_ID=PATH`.
    case invalidMountArgument(String, reason: String)
    case missingMount(EFSFileSystemID, profile: ProfileKey)
    case mountNotFolder(EFSFileSystemID, path: String)
    case sourceHomeMissing(path: String, profile: ProfileKey)
    case targetHomeNotFolder(path: String, profile: ProfileKey)
    case homeIsSymlink(path: String, profile: ProfileKey)
    /// The two homes are one folder, or one lies inside the other.
    case homesOverlap(source: String, target: String)

    public var description: String {
        switch self {
        case let .configurationNotFound(path):
            return "The configuration file '\(path)' does not exist."
        case let .invalidConfiguration(path, detail):
            return "Invalid configuration file '\(path)': \(detail)."
        case let .invalidMountArgument(text, reason):
            return "Invalid mount '\(text)': \(reason); expected EFS_ID=PATH, such as fs-0123abcd=/mnt/efs-old."
        case let .missingMount(id, profile):
            return "No mount is configured for \(id.rawValue), which holds the home of \(profile); add --mount \(id.rawValue)=PATH or a 'mounts' entry to the configuration file."
        case let .mountNotFolder(id, path):
            return "The mount of \(id.rawValue) at '\(path)' is not a folder; mount the EFS volume there or fix the mount path."
        case let .sourceHomeMissing(path, profile):
            return "The old home '\(path)' of \(profile) does not exist or is not a folder, so there is nothing to restore from."
        case let .targetHomeNotFolder(path, profile):
            return "The new home '\(path)' of \(profile) exists but is not a folder."
        case let .homeIsSymlink(path, profile):
            return "The home '\(path)' of \(profile) is a symbolic link; syncd copies only from and into real folders, so replace the link with the folder."
        case let .homesOverlap(source, target):
            return "The old home '\(source)' and the new home '\(target)' are the same folder or one contains the other; check the mounts."
        }
    }

    /// Whether the command line itself is wrong (exit 64) rather than the data it names (exit 65).
    public var isUsageError: Bool {
        switch self {
        case .configurationNotFound, .invalidMountArgument: return true
        default: return false
        }
    }
}
