import Foundation
import Glibc
import Testing
import TestSupport

/// A profile recreated twice before any restore ran: its data is still in the first home.
@Suite struct RestoreChainTests {
    @Test(.enabled(if: runningAsRoot, "restores change owners"))
    func restoreAfterTwoRecreationsUsesFirstHome() throws {
        try withScratchFolder("restore-chain") { scratch in
            let volumes = ["a", "b", "c"].map { scratch.path("volume-\($0)") }
            try runShell("""
                mkdir -p "$1/200001/projects" "$2" "$3"
                echo '{"cells": []}' > "$1/200001/projects/train.ipynb"
                chown -R 200001:1001 "$1/200001"
                """, volumes)
            let store = ["--store", scratch.path("store.sqlite"),
                         "--mount", "fs-0000000a=\(volumes[0])", "--mount", "fs-0000000b=\(volumes[1])", "--mount", "fs-0000000c=\(volumes[2])"]
            let profile = ["--profile-name", "user1", "--domain-name", "studio", "--domain-id", "d-abc123"]
            for (efsID, uid) in [("fs-0000000a", "200001"), ("fs-0000000b", "200002"), ("fs-0000000c", "200003")] {
                let registered = try Syncd.run(["profile", "register"] + profile + ["--efs-id", efsID, "--uid", uid] + store)
                #expect(registered.status == SyncdExit.success, "\(registered)")
            }

            let restore = try Syncd.run(["restore", "--profile-name", "user1", "--domain-name", "studio", "--json"] + store)

            #expect(restore.status == SyncdExit.success, "\(restore)")
            let restored = volumes[2] + "/200003/projects/train.ipynb"
            #expect(FileManager.default.fileExists(atPath: restored), "\(restore)")
            #expect(fileStatus(restored)?.st_uid == 200003)
            #expect(jsonInteger(parseJSONObject(restore.standardOutput)?["FilesTransferred"]) == 3, "\(restore.standardOutput)")
        }
    }
}
