import CSQLite

/// An open SQLite database; the handle is closed when the value goes away.
///
/// Every statement takes its values as bound parameters. Errors become `MappingStoreError`s
/// that name the file: SQLITE_BUSY after the busy timeout becomes `.locked`, and SQLITE_NOTADB
/// or SQLITE_CORRUPT becomes `.corrupt`.
struct SQLiteConnection: ~Copyable {
    let path: String
    let busyTimeoutMilliseconds: Int
    private let handle: OpaquePointer

    /// Opens `path`, creating an empty database when `create` is true and the file is missing.
    ///
    /// Opening reads nothing and writes nothing; SQLite reads the header on the first statement.
    init(path: String, create: Bool, busyTimeoutMilliseconds: Int) throws {
        var flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX
        if create { flags |= SQLITE_OPEN_CREATE }
        var opened: OpaquePointer?
        let code = sqlite3_open_v2(path, &opened, flags, nil)
        guard code == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(opened)
            throw MappingStoreError.cannotOpen(path: path, detail: message)
        }
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.handle = opened
        sqlite3_busy_timeout(opened, Int32(clamping: busyTimeoutMilliseconds))
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs SQL text without parameters, such as a schema migration; several statements are allowed.
    func executeScript(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        let detail = message.map { String(cString: $0) }
        sqlite3_free(message)
        if code != SQLITE_OK {
            throw error(code: code, detail: detail)
        }
    }

    /// Runs one statement with bound parameters and returns its rows.
    @discardableResult
    func query(_ sql: String, _ parameters: [SQLiteValue] = []) throws -> [SQLiteRow] {
        var prepared: OpaquePointer?
        let prepareCode = sqlite3_prepare_v2(handle, sql, -1, &prepared, nil)
        guard prepareCode == SQLITE_OK, let statement = prepared else {
            throw error(code: prepareCode)
        }
        defer { sqlite3_finalize(statement) }

        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(statement, index)
            case .integer(let number): code = sqlite3_bind_int64(statement, index, number)
            case .text(let text): code = sqlite3_bind_text(statement, index, text, -1, Self.transientDestructor)
            }
            guard code == SQLITE_OK else { throw error(code: code) }
        }

        var rows: [SQLiteRow] = []
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else { throw error(code: code) }
            var columns: [String: SQLiteValue] = [:]
            for column in 0..<sqlite3_column_count(statement) {
                let name = String(cString: sqlite3_column_name(statement, column))
                switch sqlite3_column_type(statement, column) {
                case SQLITE_NULL:
                    columns[name] = .null
                case SQLITE_INTEGER:
                    columns[name] = .integer(sqlite3_column_int64(statement, column))
                default:
                    columns[name] = .text(String(cString: sqlite3_column_text(statement, column)))
                }
            }
            rows.append(SQLiteRow(columns: columns))
        }
        return rows
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back if it throws.
    ///
    /// IMMEDIATE takes the write lock at the start, so a writer that has to wait does so in
    /// `BEGIN` under the busy timeout, never halfway through its statements.
    func writeTransaction<Result>(_ body: () throws -> Result) throws -> Result {
        try executeScript("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try executeScript("COMMIT")
            return result
        } catch {
            try? executeScript("ROLLBACK")
            throw error
        }
    }

    /// The error for a failed call, named after the file.
    func error(code: Int32, detail: String? = nil) -> MappingStoreError {
        let message = detail ?? String(cString: sqlite3_errmsg(handle))
        switch code & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return .locked(path: path, waitedMilliseconds: busyTimeoutMilliseconds)
        case SQLITE_NOTADB, SQLITE_CORRUPT:
            return .corrupt(path: path, detail: message)
        case SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_READONLY:
            return .cannotOpen(path: path, detail: message)
        default:
            return .sqlite(path: path, code: code, message: message)
        }
    }

    /// SQLITE_TRANSIENT, which Swift cannot import because it is a macro: SQLite copies the bytes.
    private static let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
