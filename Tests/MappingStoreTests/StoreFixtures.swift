import Foundation
import MappingStore
import TestSupport

/// Builders for the registrations and stores the tests share.
enum StoreFixtures {
    static let volumeA = "fs-0000000a"
    static let volumeB = "fs-0000000b"
    static let domainID = "d-abcdefghijkl"

    static func registration(
        _ name: String, domain: String = "studio", kind: ProfileKind = .user, efs: String = volumeA, uid: String = "200001",
        role: String? = "SageMakerExecutionRole"
    ) throws -> ProfileRegistration {
        try ProfileRegistration(
            profileName: name, domainName: domain, kind: kind, domainID: domainID, efsFileSystemID: efs, uid: uid, roleName: role)
    }

    static func key(_ name: String, domain: String = "studio", kind: ProfileKind = .user) -> ProfileKey {
        ProfileKey(profileName: name, domainName: domain, kind: kind)
    }

    /// Opens a new store file in a scratch folder and passes both to `body`.
    static func withStore<R>(_ label: String, _ body: (SQLiteMappingStore, ScratchFolder) throws -> R) throws -> R {
        try withScratchFolder(label) { folder in
            let store = try SQLiteMappingStore(path: folder.path("store.sqlite"))
            return try body(store, folder)
        }
    }

    /// The `sqlite3` command-line shell, which the locking and migration tests drive.
    static let sqliteShell = "/usr/bin/sqlite3"

    static var hasSQLiteShell: Bool {
        FileManager.default.isExecutableFile(atPath: sqliteShell)
    }

    /// Runs SQL text through the `sqlite3` shell on `path` and returns its output.
    @discardableResult
    static func runSQLiteShell(_ path: String, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sqliteShell)
        process.arguments = ["-bail", path]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(sql.utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ShellFailure(message: "sqlite3 exited with \(process.terminationStatus): \(text)")
        }
        return text
    }

    struct ShellFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
