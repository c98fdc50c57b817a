import Foundation
import Glibc
import Testing
import TestSupport

// Runs the benchmark runner's quick mode end to end: tiny workloads, every tool once, each copy
// checked by rsync. It checks that the runner works, never how fast anything was.

/// Paths the quick benchmark needs: the runner in the checkout and the binaries of this build.
private enum BenchmarkRunner {
    /// Benchmarks/run, found from this file's place in the checkout.
    static var scriptPath: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Benchmarks/run").path
    }

    /// Returns `name` in the build products folder that contains the running test bundle, so
    /// that a debug test run benchmarks the debug binaries it built.
    static func builtBinary(_ name: String) -> String {
        let bundles = [CommandLine.arguments[0], (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""]
        let candidates = bundles.filter { !$0.isEmpty }.map {
            URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent(name).path
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// The runner mounts a tmpfs and efs-latency-fs and sets owners, all of which need root.
    static var canRun: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
    }
}

@Suite struct BenchmarkQuickTests {
    static let tools = ["syncd", "syncd-noverify", "cp", "rsync", "fpsync"]
    static let toolLabels = ["syncd copy", "syncd copy --verify-mode none", "cp -a", "rsync -aHAX --numeric-ids", "fpsync"]

    @Test(.enabled(if: BenchmarkRunner.canRun, "the benchmark runner needs root and python3"))
    func quickRunWritesResults() throws {
        let syncd = BenchmarkRunner.builtBinary("syncd")
        let latencyFS = BenchmarkRunner.builtBinary("efs-latency-fs")
        try #require(FileManager.default.isExecutableFile(atPath: syncd), "syncd is missing at \(syncd); run 'swift build' first")
        try #require(FileManager.default.isExecutableFile(atPath: latencyFS),
                     "efs-latency-fs is missing at \(latencyFS); run 'swift build' first")

        try withScratchFolder("bench-quick") { scratch in
            let results = scratch.path("results")
            let run = try runProcess(BenchmarkRunner.scriptPath,
                                     ["--quick", "--results", results, "--syncd", syncd, "--efs-latency-fs", latencyFS])
            #expect(!run.killedBySignal, "\(run)")
            #expect(run.status == 0, "\(run)")

            // The table, between its markers, names every tool.
            let table = try String(contentsOfFile: results + "/README.md", encoding: .utf8)
            #expect(table.contains("<!-- results:start -->"))
            #expect(table.contains("<!-- results:end -->"))
            for label in Self.toolLabels {
                #expect(table.contains("| \(label)"), "the table lacks \(label):\n\(table)")
            }

            // The JSON records a successful run of every tool and every workload.
            let names = try FileManager.default.contentsOfDirectory(atPath: results).filter { $0.hasSuffix(".json") }
            try #require(names.count == 1, "expected one JSON file in \(results), found \(names)")
            let data = try Data(contentsOf: URL(fileURLWithPath: results + "/" + names[0]))
            let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let runs = try #require(report["runs_detail"] as? [[String: Any]])
            let toolsRun = Set(runs.compactMap { $0["tool"] as? String })
            for tool in Self.tools {
                #expect(toolsRun.contains(tool), "no run of \(tool) in the JSON")
            }
            for record in runs {
                #expect(record["ok"] as? Bool == true, "a run failed: \(record)")
            }
            let cases = Set(runs.compactMap { $0["case"] as? String })
            var expectedCases: Set = ["W1", "W2", "W3", "W4", "W6"]
            if access("/dev/fuse", R_OK | W_OK) == 0 {
                expectedCases.formUnion(["W5a-W1", "W5a-W3", "W5b-W1", "W5b-W3"])
            }
            #expect(expectedCases.isSubset(of: cases), "cases run: \(cases.sorted())")
        }
    }
}
