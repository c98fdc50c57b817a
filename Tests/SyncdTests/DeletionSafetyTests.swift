import Foundation
import Glibc
import Testing
import TestSupport

/// `--delete` must never remove an entry because the source could not be read: one read error
/// anywhere in the source disables every deletion of the run.
@Suite struct DeletionSafetyTests {
    @Test(.enabled(if: runningAsRoot, "needs root to run syncd as another user"))
    func readErrorDisablesDeletion() throws {
        try withScratchFolder("delete-after-read-error") { scratch in
            let source = scratch.path("source")
            let destination = scratch.path("destination")
            try runShell("""
                mkdir -p "$1/locked" "$1/open"
                echo kept > "$1/locked/file"
                echo data > "$1/open/file"
                chown -R 65534:65534 "$1" && chmod 0755 "$1" "$3"
                mkdir "$2" && chown 65534:65534 "$2"
                """, [source, destination, scratch.path])
            let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", Syncd.binaryPath]
            let first = try runProcess("/usr/bin/setpriv", asNobody + ["copy", source, destination])
            #expect(first.status == SyncdExit.success, "\(first)")

            // An extra entry in another folder, and a source folder that can no longer be read.
            try runShell("""
                echo extra > "$2/open/extra" && chown 65534:65534 "$2/open/extra"
                chmod 0000 "$1/locked"
                """, [source, destination])
            let second = try runProcess("/usr/bin/setpriv", asNobody + ["copy", "--delete", source, destination])

            #expect(second.status == SyncdExit.someEntriesFailed, "\(second)")
            #expect(second.standardError.contains("/locked"), "\(second)")
            #expect(second.standardError.contains("Deletion was skipped"), "\(second)")
            #expect(FileManager.default.fileExists(atPath: destination + "/open/extra"), "an extra entry was deleted after a read error")
            #expect(FileManager.default.fileExists(atPath: destination + "/locked/file"), "an unreadable folder's copy was deleted")

            // Once the source reads cleanly again, the extra entry goes.
            try runShell("chmod 0755 \"$1/locked\"", [source])
            let third = try runProcess("/usr/bin/setpriv", asNobody + ["copy", "--delete", source, destination])
            #expect(third.status == SyncdExit.success, "\(third)")
            #expect(!FileManager.default.fileExists(atPath: destination + "/open/extra"))
            #expect(FileManager.default.fileExists(atPath: destination + "/locked/file"))
        }
    }
}
