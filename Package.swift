// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "syncd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "syncd", targets: ["syncd"]),
        .executable(name: "efs-latency-fs", targets: ["EFSLatencyFS"]),
        .library(name: "SyncEngine", targets: ["SyncEngine"]),
    ],
    targets: [
        // C libraries from Debian's -dev packages, each behind a small module map.
        .systemLibrary(name: "CAcl", path: "Sources/CAcl"),
        .systemLibrary(name: "CXXHash", path: "Sources/CXXHash"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),

        // Calls that glibc declares only under _GNU_SOURCE, and macros Swift cannot import.
        .target(name: "CSyncShim", path: "Sources/CSyncShim"),

        // The replication engine: walk, plan, copy, metadata, verify, report.
        .target(
            name: "SyncEngine",
            dependencies: ["CAcl", "CXXHash", "CCrypto", "CSyncShim"]
        ),

        // The mapping store (SQLite behind a protocol) and the restore jobs built on it.
        .target(name: "MappingStore", dependencies: ["CSQLite"]),
        .target(name: "Recovery", dependencies: ["SyncEngine", "MappingStore"]),

        // The command-line tool and daemon.
        .executableTarget(name: "syncd", dependencies: ["SyncEngine", "MappingStore", "Recovery"]),

        // A FUSE passthrough filesystem that adds EFS-like latency, for benchmarks and fault tests.
        .executableTarget(
            name: "EFSLatencyFS",
            path: "Benchmarks/EFSLatencyFS",
            cSettings: [.unsafeFlags(["-I/usr/include/fuse3"]), .define("_GNU_SOURCE"), .define("FUSE_USE_VERSION", to: "35")],
            linkerSettings: [.linkedLibrary("fuse3"), .linkedLibrary("pthread")]
        ),

        // Shared by all tests: a declarative tree builder and a tree comparator.
        .target(name: "TestSupport", dependencies: ["CAcl", "CSyncShim"], path: "Tests/TestSupport"),
        .testTarget(name: "SyncEngineTests", dependencies: ["SyncEngine", "TestSupport"]),
        .testTarget(name: "SyncdTests", dependencies: ["syncd", "TestSupport", "SyncEngine"]),
        .testTarget(name: "MappingStoreTests", dependencies: ["MappingStore", "Recovery", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
