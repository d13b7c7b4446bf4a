import CSQLite

/// One SQLite connection. Not thread-safe and not Sendable: its owner (a `Journal`) uses it
/// from one place at a time, which is also why it opens with SQLITE_OPEN_NOMUTEX.
package final class SQLiteConnection {
    private(set) var handle: OpaquePointer?
    package let path: String
    /// Prepared statements by SQL text: the journal runs a handful of statements many times.
    private var cache: [String: SQLiteStatement] = [:]

    package enum Mode { case readWrite, readWriteCreate, readOnly }

    /// Process-wide SQLite settings, applied once before the first connection opens.
    private static let configured: Void = { _ = ysync_sqlite_no_bulk_page_cache() }()

    package init(path: String, mode: Mode) throws(SQLiteError) {
        Self.configured
        self.path = path
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        if rc != SQLITE_OK {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw SQLiteError(code: rc, message: message, operation: "open \(path)")
        }
        handle = db
    }

    deinit { close() }

    /// Finalizes every statement and closes; later calls fail with SQLITE_MISUSE.
    package func close() {
        for s in cache.values { s.finalize() }
        cache.removeAll()
        if let h = handle { sqlite3_close_v2(h) }
        handle = nil
    }

    package var isOpen: Bool { handle != nil }

    /// Frees the page cache this connection holds (pages a load or compaction read); later
    /// statements read what they need again. Returns nothing: there is nothing to fail.
    package func releaseCachedPages() {
        if let h = handle { sqlite3_db_release_memory(h) }
    }

    package func error(_ rc: Int32, _ operation: String) -> SQLiteError {
        SQLiteError(db: handle, code: rc, operation: operation)
    }

    private func requireHandle(_ operation: String) throws(SQLiteError) -> OpaquePointer {
        guard let h = handle else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "connection is closed", operation: operation)
        }
        return h
    }

    /// Runs one or more statements that return no rows we need.
    package func execute(_ sql: String) throws(SQLiteError) {
        let h = try requireHandle(sql)
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(h, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let message = err.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(err)
            throw SQLiteError(code: sqlite3_extended_errcode(h), message: message, operation: sql)
        }
    }

    /// A new statement owned by the caller.
    package func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        let h = try requireHandle(sql)
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(h, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, "prepare: \(sql)") }
        return SQLiteStatement(stmt, db: h, sql: sql)
    }

    /// A cached statement, reset and with its bindings cleared.
    package func cached(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let s = cache[sql] {
            s.reset()
            return s
        }
        let s = try prepare(sql)
        cache[sql] = s
        return s
    }

    /// Runs `sql` with `bindings` and returns the first column of the first row, if any.
    package func scalar(_ sql: String, _ bindings: [SQLiteValue] = []) throws(SQLiteError) -> SQLiteValue? {
        let s = try cached(sql)
        defer { s.reset() }
        try s.bind(bindings)
        guard try s.step() else { return nil }
        return s.value(0)
    }

    /// Runs a statement that returns no rows.
    package func run(_ sql: String, _ bindings: [SQLiteValue] = []) throws(SQLiteError) {
        let s = try cached(sql)
        defer { s.reset() }
        try s.bind(bindings)
        while try s.step() {}
    }

    /// Runs `sql` with `bindings` and returns every row (for queries that return a few; the
    /// statement is prepared for this call only).
    package func rows(_ sql: String, _ bindings: [SQLiteValue] = []) throws(SQLiteError) -> [[SQLiteValue]] {
        let s = try prepare(sql)
        defer { s.finalize() }
        try s.bind(bindings)
        var rows: [[SQLiteValue]] = []
        while try s.step() { rows.append((0..<s.columnCount).map { s.value($0) }) }
        return rows
    }

    package var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }
    package var changes: Int { handle.map { Int(sqlite3_changes($0)) } ?? 0 }

    package func setBusyTimeout(milliseconds: Int32) throws(SQLiteError) {
        let h = try requireHandle("busy_timeout")
        let rc = sqlite3_busy_timeout(h, milliseconds)
        if rc != SQLITE_OK { throw error(rc, "busy_timeout") }
    }

    /// Whether a transaction is open (autocommit off).
    package var inTransaction: Bool { handle.map { sqlite3_get_autocommit($0) == 0 } ?? false }
}
