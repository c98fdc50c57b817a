import Foundation
import Glibc
import Testing
import TestSupport

/// Copies to a destination that behaves like EFS: about a millisecond per metadata call, and no
/// xattrs or ACLs. Lost ACLs and xattrs are a reported downgrade, runs converge, and
/// `syncd verify` does not count what the destination cannot hold as a difference.
@Suite struct EFSDestinationTests {
    @Test(.enabled(if: LatencyFS.canMount, "needs root and /dev/fuse"))
    func aclsDowngradedOnEFSLikeDestination() throws {
        try withLatencyFSMount("efs-destination", options: ["--metadata-delay-us", "200", "--no-xattr"]) { mount in
            let source = mount.backing + "-source"
            try runShell("""
                mkdir -p "$1/projects/.ipynb_checkpoints"
                echo '{"cells": []}' > "$1/projects/train.ipynb"
                cp "$1/projects/train.ipynb" "$1/projects/.ipynb_checkpoints/train-checkpoint.ipynb"
                ln "$1/projects/train.ipynb" "$1/train-link.ipynb"
                setfacl -m u:1234:rw "$1/projects/train.ipynb"
                setfattr -n user.origin -v studio "$1/projects"
                """, [source])
            let destination = mount.mounted("home")

            let first = try Syncd.run(["copy", source, destination, "--json"])
            #expect(first.status == SyncdExit.success, "\(first)")
            #expect(first.standardError.contains("ACLs on"), "\(first)")
            #expect(first.standardError.contains("xattrs on"), "\(first)")
            #expect(try Rsync.differences(source: source, destination: destination, extraArguments: ["--no-A", "--no-X"]) == "")

            let second = try Syncd.run(["copy", source, destination, "--json"])
            #expect(second.status == SyncdExit.success, "\(second)")
            #expect(jsonInteger(parseJSONObject(second.standardOutput)?["FilesTransferred"]) == 0, "\(second.standardOutput)")

            let verify = try Syncd.run(["verify", source, destination])
            #expect(verify.status == SyncdExit.success, "\(verify)")
            #expect(verify.standardError.contains("does not support xattrs"), "\(verify)")

            // A real difference is still found on such a destination.
            try runShell("printf 'changed' > \"$1/projects/.ipynb_checkpoints/train-checkpoint.ipynb\"", [destination])
            let afterDamage = try Syncd.run(["verify", source, destination])
            #expect(afterDamage.status == SyncdExit.verificationMismatch, "\(afterDamage)")
            #expect(afterDamage.standardOutput.contains("train-checkpoint.ipynb"), "\(afterDamage)")
        }
    }
}
