/// A value bound to a statement parameter or read from a result column.
enum SQLiteValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case text(String)

    var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }
}

/// One result row, read by column name.
struct SQLiteRow {
    let columns: [String: SQLiteValue]

    subscript(_ name: String) -> SQLiteValue {
        columns[name] ?? .null
    }
}

extension Optional where Wrapped == String {
    var sqliteValue: SQLiteValue { map(SQLiteValue.text) ?? .null }
}

extension Optional where Wrapped == Int64 {
    var sqliteValue: SQLiteValue { map(SQLiteValue.integer) ?? .null }
}
