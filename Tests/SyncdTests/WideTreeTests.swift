import Foundation
import Glibc
import Testing
import TestSupport

/// Wide folders with few workers: listers then run queued jobs themselves, nesting other
/// folders' listings on one worker, which must not disturb the listing under way.
@Suite struct WideTreeTests {
    @Test(arguments: [1, 2])
    func wideFoldersWithFewWorkers(workers: Int) throws {
        try withScratchFolder("wide-tree") { scratch in
            let source = scratch.path("source")
            try runShell("""
                for folder in $(seq 1 30); do
                  mkdir -p "$1/folder-$folder"
                  for file in $(seq 1 150); do echo "$folder/$file" > "$1/folder-$folder/file-$file"; done
                done
                """, [source])
            let destination = scratch.path("destination")

            let result = try Syncd.run(["copy", source, destination, "--workers", String(workers)])

            #expect(result.status == SyncdExit.success, "\(result)")
            #expect(try TreeComparator.differences(source: source, destination: destination) == [])
            #expect(try Rsync.differences(source: source, destination: destination) == "")
        }
    }
}
