import CSyncShim
import Foundation
import Glibc
import Testing
import TestSupport

// Tests of efs-latency-fs, the FUSE filesystem in Benchmarks/EFSLatencyFS that adds EFS-like
// latency and injected errors. Each test mounts it over a fresh backing folder, works through
// the mount and checks the backing folder directly.

/// The efs-latency-fs binary and whether this host can mount it.
enum LatencyFS {
    /// `EFS_LATENCY_FS_BINARY` when set, else `efs-latency-fs` in the build products folder
    /// that contains the running test bundle.
    static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["EFS_LATENCY_FS_BINARY"], !path.isEmpty {
            return path
        }
        let candidates = [CommandLine.arguments[0], (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""]
        for bundle in candidates where !bundle.isEmpty {
            let path = URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("efs-latency-fs").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return URL(fileURLWithPath: candidates[0]).deletingLastPathComponent().appendingPathComponent("efs-latency-fs").path
    }

    /// Mounting needs root (for allow_other and for giving files to other owners) and /dev/fuse.
    static var canMount: Bool {
        geteuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0
    }

    static var hasSetpriv: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
    }
}

/// A running efs-latency-fs mount over `backing`. Call `unmount()` when done, also on failure.
final class LatencyFSMount {
    let backing: String
    let mountpoint: String
    private let process: RunningProcess
    private var mounted = true

    /// Starts efs-latency-fs in the foreground and waits until /proc/self/mountinfo lists the
    /// mount, for at most 10 seconds.
    init(scratch: ScratchFolder, options: [String]) throws {
        backing = scratch.path("backing")
        mountpoint = scratch.path("mnt")
        for folder in [backing, mountpoint] where mkdir(folder, 0o755) != 0 {
            throw SystemCallError("mkdir", path: folder)
        }

        let binary = LatencyFS.binaryPath
        try #require(FileManager.default.isExecutableFile(atPath: binary),
                     "efs-latency-fs is missing at \(binary); build it with 'swift build --product efs-latency-fs' or set EFS_LATENCY_FS_BINARY")
        process = try startProcess(binary, [backing, mountpoint, "-f"] + options)

        let deadline = Date().addingTimeInterval(10)
        while !LatencyFSMount.isListed(mountpoint) {
            if !process.isRunning {
                mounted = false
                let result = process.wait()
                throw SystemCallError("efs-latency-fs exited before mounting: \(result)", path: mountpoint, code: EIO)
            }
            if Date() > deadline {
                unmount()
                throw SystemCallError("efs-latency-fs did not mount within 10 s", path: mountpoint, code: ETIMEDOUT)
            }
            usleep(10_000)
        }
    }

    /// Returns the path of `name` as seen through the mount.
    func mounted(_ name: String) -> String { mountpoint + "/" + name }

    /// Returns the path of `name` in the backing folder.
    func backed(_ name: String) -> String { backing + "/" + name }

    /// Unmounts with `fusermount3 -u`, falling back to a lazy `umount -l`, then waits for the
    /// daemon to exit, killing it after 5 seconds.
    func unmount() {
        guard mounted else { return }
        mounted = false
        let result = try? runProcess("/bin/fusermount3", ["-u", mountpoint])
        if result?.status != 0 || LatencyFSMount.isListed(mountpoint) {
            _ = try? runProcess("/bin/umount", ["-l", mountpoint])
        }

        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline {
            usleep(10_000)
        }
        if process.isRunning {
            process.send(SIGKILL)
        }
        _ = process.wait()
    }

    /// Reports whether /proc/self/mountinfo lists a mount at `path`. Field 5 is the mount point,
    /// in which the kernel escapes spaces and a few other bytes. The test paths contain none.
    static func isListed(_ path: String) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
        return table.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4] == path
        }
    }
}

/// Runs `body` with a mount over a fresh scratch folder and always unmounts afterwards.
func withLatencyFSMount(_ label: String, options: [String], _ body: (LatencyFSMount) throws -> Void) throws {
    try withScratchFolder(label) { scratch in
        let mount = try LatencyFSMount(scratch: scratch, options: options)
        defer { mount.unmount() }
        try body(mount)
    }
}

private func statusOf(_ path: String) throws -> stat {
    var status = stat()
    if lstat(path, &status) != 0 { throw SystemCallError("lstat", path: path) }
    return status
}

private func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
    if fd < 0 { throw SystemCallError("open", path: path) }
    defer { close(fd) }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    if written != bytes.count { throw SystemCallError("write", path: path) }
}

private func latencyFSPattern(count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ seed }
}

@Suite(.enabled(if: LatencyFS.canMount, "needs root and /dev/fuse"), .serialized)
struct LatencyFSTests {
    @Test func passthroughKeepsContentAndMetadata() throws {
        try withLatencyFSMount("latencyfs-metadata", options: ["--metadata-delay-us", "0"]) { mount in
            let content = latencyFSPattern(count: 3 * 1024 * 1024 + 17, seed: 7)
            try writeFile(mount.mounted("data.bin"), content)
            #expect(FileManager.default.contents(atPath: mount.backed("data.bin")) == Data(content))

            #expect(chmod(mount.mounted("data.bin"), 0o640) == 0)
            #expect(chown(mount.mounted("data.bin"), 1234, 5678) == 0)
            var times = [timespec(tv_sec: 1_234_567_890, tv_nsec: 123_456_789),
                         timespec(tv_sec: -1, tv_nsec: 999_999_999)]
            #expect(utimensat(AT_FDCWD, mount.mounted("data.bin"), &times, AT_SYMLINK_NOFOLLOW) == 0)

            let backed = try statusOf(mount.backed("data.bin"))
            #expect(backed.st_mode & 0o7777 == 0o640)
            #expect(backed.st_uid == 1234)
            #expect(backed.st_gid == 5678)
            #expect(backed.st_atim.tv_sec == 1_234_567_890)
            #expect(backed.st_atim.tv_nsec == 123_456_789)
            #expect(backed.st_mtim.tv_sec == -1)
            #expect(backed.st_mtim.tv_nsec == 999_999_999)

            let seen = try statusOf(mount.mounted("data.bin"))
            #expect(seen.st_mtim.tv_sec == -1)
            #expect(seen.st_mtim.tv_nsec == 999_999_999)
            #expect(seen.st_ino == backed.st_ino)

            #expect(link(mount.mounted("data.bin"), mount.mounted("hard.bin")) == 0)
            #expect(try statusOf(mount.backed("hard.bin")).st_ino == backed.st_ino)
            #expect(try statusOf(mount.backed("data.bin")).st_nlink == 2)

            #expect(symlink("../missing/target", mount.mounted("link")) == 0)
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: mount.backed("link"))
            #expect(target == "../missing/target")

            #expect(mkfifo(mount.mounted("fifo"), 0o600) == 0)
            #expect(try statusOf(mount.backed("fifo")).st_mode & S_IFMT == S_IFIFO)

            // Linux mkdir(2) keeps the sticky bit of the requested mode but not S_ISGID.
            #expect(mkdir(mount.mounted("folder"), 0o1750) == 0)
            #expect(try statusOf(mount.backed("folder")).st_mode & 0o7777 == 0o1750)

            let value = Array("value".utf8)
            #expect(syncd_setxattr(mount.mounted("data.bin"), "user.note", value, value.count) == 0)
            var readBack = [UInt8](repeating: 0, count: 16)
            let length = syncd_lgetxattr(mount.backed("data.bin"), "user.note", &readBack, readBack.count)
            #expect(length == value.count)
            #expect(Array(readBack.prefix(max(length, 0))) == value)
        }
    }

    @Test(.enabled(if: LatencyFS.hasSetpriv, "needs setpriv"))
    func createdFilesBelongToCaller() throws {
        try withLatencyFSMount("latencyfs-owner", options: ["--metadata-delay-us", "0"]) { mount in
            // mkdtemp made the scratch folder 0700, which the other user could not enter.
            #expect(chmod((mount.mountpoint as NSString).deletingLastPathComponent, 0o755) == 0)
            #expect(chmod(mount.mountpoint, 0o777) == 0)
            let script = "umask 022; echo x > '\(mount.mounted("file"))' && mkdir '\(mount.mounted("folder"))'"
            let result = try runProcess("/usr/bin/setpriv", ["--reuid", "4321", "--regid", "4322", "--clear-groups", "/bin/sh", "-c", script])
            #expect(result.status == 0, "\(result)")

            for name in ["file", "folder"] {
                let backed = try statusOf(mount.backed(name))
                #expect(backed.st_uid == 4321, "\(name)")
                #expect(backed.st_gid == 4322, "\(name)")
            }
            #expect(try statusOf(mount.backed("file")).st_mode & 0o777 == 0o644)
        }
    }

    @Test func noXattrRejectsSetxattr() throws {
        try withLatencyFSMount("latencyfs-noxattr", options: ["--metadata-delay-us", "0", "--no-xattr"]) { mount in
            try writeFile(mount.mounted("file"), [1, 2, 3])
            let value = Array("value".utf8)

            let userResult = syncd_setxattr(mount.mounted("file"), "user.note", value, value.count)
            let userError = errno
            #expect(userResult == -1)
            #expect(userError == ENOTSUP)

            // A minimal access ACL (owner rw, group r, other none), as setfacl writes it.
            let acl: [UInt8] = [2, 0, 0, 0, 1, 0, 6, 0, 255, 255, 255, 255, 4, 0, 4, 0, 255, 255, 255, 255, 32, 0, 0, 0, 255, 255, 255, 255]
            let aclResult = syncd_setxattr(mount.mounted("file"), "system.posix_acl_access", acl, acl.count)
            let aclError = errno
            #expect(aclResult == -1)
            #expect(aclError == ENOTSUP)

            var buffer = [UInt8](repeating: 0, count: 64)
            let getResult = syncd_lgetxattr(mount.mounted("file"), "user.note", &buffer, buffer.count)
            let getError = errno
            #expect(getResult == -1)
            #expect(getError == ENOTSUP)
            #expect(syncd_llistxattr(mount.mounted("file"), nil, 0) == 0)
        }
    }

    @Test func injectedReadErrorHitsOnlyMatchingFile() throws {
        let chunk = 64 * 1024
        let options = ["--metadata-delay-us", "0", "--fail", "read:EIO:bad.bin", "--fail-after", "2"]
        try withLatencyFSMount("latencyfs-fail", options: options) { mount in
            let badContent = latencyFSPattern(count: 4 * chunk, seed: 1)
            let goodContent = latencyFSPattern(count: 4 * chunk, seed: 2)
            try writeFile(mount.backed("bad.bin"), badContent)
            try writeFile(mount.backed("good.bin"), goodContent)

            // O_DIRECT makes each read(2) one FUSE read request, so the third request is the
            // third call here and the first two return data.
            let fd = open(mount.mounted("bad.bin"), O_RDONLY | syncd_o_direct())
            #expect(fd >= 0)
            defer { close(fd) }
            var buffer: UnsafeMutableRawPointer?
            #expect(posix_memalign(&buffer, 4096, chunk) == 0)
            defer { free(buffer) }

            #expect(read(fd, buffer, chunk) == chunk)
            #expect(read(fd, buffer, chunk) == chunk)
            let thirdResult = read(fd, buffer, chunk)
            let thirdError = errno
            #expect(thirdResult == -1)
            #expect(thirdError == EIO)

            #expect(FileManager.default.contents(atPath: mount.mounted("good.bin")) == Data(goodContent))
        }
    }

    @Test func metadataDelayIsLowerBound() throws {
        let delayMicroseconds = 2000
        let daemonThreads = 4
        let statCalls = 200
        let options = ["--metadata-delay-us", "\(delayMicroseconds)", "--threads", "\(daemonThreads)"]
        try withLatencyFSMount("latencyfs-delay", options: options) { mount in
            try writeFile(mount.backed("file"), [0])
            let path = mount.mounted("file")

            // Each stat(2) sends at least one request, because the attribute and entry timeouts
            // are 0, and each request sleeps the delay in one of at most `daemonThreads`
            // threads. Callers on 8 threads keep all of them busy.
            let start = DispatchTime.now()
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                for _ in 0..<(statCalls / 8) {
                    var status = stat()
                    _ = stat(path, &status)
                }
            }
            let elapsedSeconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9

            let lowerBound = Double(statCalls) * Double(delayMicroseconds) / 1e6 / Double(daemonThreads)
            #expect(elapsedSeconds >= lowerBound, "\(statCalls) stat calls took \(elapsedSeconds) s")
        }
    }
}

@Test func latencyFSRejectsUnknownOption() throws {
    let binary = LatencyFS.binaryPath
    try #require(FileManager.default.isExecutableFile(atPath: binary), "efs-latency-fs is missing at \(binary)")
    let result = try runProcess(binary, ["/tmp", "/tmp", "--no-such-option"])
    #expect(result.status == 64)
    #expect(result.standardError.hasPrefix("Error: Unknown option '--no-such-option'"))
    #expect(result.standardError.split(separator: "\n").count == 1)

    let help = try runProcess(binary, ["--help"])
    #expect(help.status == 0)
    #expect(help.standardOutput.hasPrefix("OVERVIEW: "))
    #expect(help.standardOutput.contains("\nUSAGE: efs-latency-fs"))
    #expect(help.standardOutput.contains("\nOPTIONS:\n"))
}
