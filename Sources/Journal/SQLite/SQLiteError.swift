import CSQLite

/// A failed SQLite call: the result code, SQLite's own message and what we were doing.
package struct SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Extended result code (e.g. 11 = SQLITE_CORRUPT, 26 = SQLITE_NOTADB, 5 = SQLITE_BUSY).
    package var code: Int32
    package var message: String
    package var operation: String

    /// The primary result code (the low byte of an extended code).
    package var primaryCode: Int32 { code & 0xFF }

    /// Whether the file itself is damaged or not a database (as opposed to busy, full, misuse).
    package var isDamage: Bool {
        primaryCode == SQLITE_CORRUPT || primaryCode == SQLITE_NOTADB || primaryCode == SQLITE_IOERR
    }

    /// The connection's current message for `code` (its extended code when it has one).
    package init(db: OpaquePointer?, code: Int32, operation: String) {
        if let db {
            let extended = sqlite3_extended_errcode(db)
            self.code = (extended & 0xFF) == (code & 0xFF) ? extended : code
            message = String(cString: sqlite3_errmsg(db))
        } else {
            self.code = code
            message = String(cString: sqlite3_errstr(code))
        }
        self.operation = operation
    }

    package init(code: Int32, message: String, operation: String) {
        self.code = code
        self.message = message
        self.operation = operation
    }

    package var description: String { "\(operation): \(message) (SQLite error \(code))" }
}
