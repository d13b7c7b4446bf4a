import CSQLite

/// A prepared statement with typed binds (1-based, as in SQLite) and column reads (0-based).
package final class SQLiteStatement {
    private var stmt: OpaquePointer?
    /// The database handle, for error messages. `sqlite3_close_v2` keeps it valid (as a zombie)
    /// until the last statement is finalized, so a statement may outlive its connection object.
    private let db: OpaquePointer
    package let sql: String

    package init(_ stmt: OpaquePointer, db: OpaquePointer, sql: String) {
        self.stmt = stmt
        self.db = db
        self.sql = sql
    }

    deinit { finalize() }

    package func finalize() {
        if let s = stmt { sqlite3_finalize(s) }
        stmt = nil
    }

    private func check(_ rc: Int32, _ what: String) throws(SQLiteError) {
        if rc != SQLITE_OK { throw SQLiteError(db: db, code: rc, operation: "\(what): \(sql)") }
    }

    // MARK: binding

    package func bind(_ index: Int32, _ value: Int64) throws(SQLiteError) {
        try check(sqlite3_bind_int64(stmt, index, value), "bind")
    }

    package func bind(_ index: Int32, _ value: Double) throws(SQLiteError) {
        try check(sqlite3_bind_double(stmt, index, value), "bind")
    }

    package func bind(_ index: Int32, _ value: String?) throws(SQLiteError) {
        guard var value else { return try bindNull(index) }
        // With its byte length: a string may contain NUL. (A nil pointer would bind NULL.)
        if value.isEmpty { return try check(sqlite3_bind_text(stmt, index, "", 0, ysync_sqlite_transient()), "bind") }
        let rc = value.withUTF8 { p in
            p.withMemoryRebound(to: CChar.self) { c in
                sqlite3_bind_text(stmt, index, c.baseAddress, Int32(c.count), ysync_sqlite_transient())
            }
        }
        try check(rc, "bind")
    }

    package func bind(_ index: Int32, blob: [UInt8]?) throws(SQLiteError) {
        guard let blob else { return try bindNull(index) }
        // An empty array may have no base address, which SQLite would take as NULL.
        if blob.isEmpty { return try check(sqlite3_bind_zeroblob(stmt, index, 0), "bind") }
        guard blob.count <= Int(Int32.max) else {
            throw SQLiteError(code: SQLITE_TOOBIG, message: "blob of \(blob.count) bytes", operation: "bind: \(sql)")
        }
        let rc = blob.withUnsafeBytes { p in
            sqlite3_bind_blob(stmt, index, p.baseAddress, Int32(p.count), ysync_sqlite_transient())
        }
        try check(rc, "bind")
    }

    package func bindNull(_ index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_null(stmt, index), "bind")
    }

    package func bind(_ index: Int32, _ value: SQLiteValue) throws(SQLiteError) {
        switch value {
        case .null: try bindNull(index)
        case let .integer(i): try bind(index, i)
        case let .real(d): try bind(index, d)
        case let .text(t): try bind(index, t)
        case let .blob(b): try bind(index, blob: b)
        }
    }

    package func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        for (i, v) in values.enumerated() { try bind(Int32(i + 1), v) }
    }

    // MARK: stepping

    /// Advances; true when a row is available, false when done.
    package func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let e = SQLiteError(db: db, code: rc, operation: "step: \(sql)")
            sqlite3_reset(stmt)
            throw e
        }
    }

    /// Ready to run again; bindings are cleared so a stale value is never reused.
    package func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    // MARK: columns

    package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }
    package func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }
    package func double(_ column: Int32) -> Double { sqlite3_column_double(stmt, column) }

    package func text(_ column: Int32) -> String? {
        guard let p = sqlite3_column_text(stmt, column) else { return nil }
        let n = Int(sqlite3_column_bytes(stmt, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    /// The blob (a text column is read as its bytes); nil only for NULL.
    package func blob(_ column: Int32) -> [UInt8]? {
        if isNull(column) { return nil }
        guard let p = sqlite3_column_blob(stmt, column) else { return [] }
        let n = Int(sqlite3_column_bytes(stmt, column))
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }

    /// Size in bytes of a blob or text column.
    package func byteCount(_ column: Int32) -> Int { Int(sqlite3_column_bytes(stmt, column)) }

    package func value(_ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(stmt, column) {
        case SQLITE_INTEGER: return .integer(int64(column))
        case SQLITE_FLOAT: return .real(double(column))
        case SQLITE_TEXT: return .text(text(column) ?? "")
        case SQLITE_BLOB: return .blob(blob(column) ?? [])
        default: return .null
        }
    }

    package var columnCount: Int32 { sqlite3_column_count(stmt) }
}
