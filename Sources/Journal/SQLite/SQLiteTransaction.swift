/// Transactions: BEGIN IMMEDIATE takes the write lock up front, so a writer waits for another
/// (busy timeout) at the start instead of failing at its first write.
extension SQLiteConnection {
    package func begin() throws(SQLiteError) { try run("BEGIN IMMEDIATE") }
    package func commit() throws(SQLiteError) { try run("COMMIT") }

    /// Never throws: a failed rollback means SQLite already rolled back (or the connection is gone).
    package func rollback() {
        if inTransaction { try? run("ROLLBACK") }
    }

    /// Runs `body` between BEGIN IMMEDIATE and COMMIT; any error rolls back. SQLite errors of
    /// BEGIN/COMMIT reach the caller through `mapError`.
    package func transaction<R, E: Error>(mapError: (SQLiteError) -> E, _ body: () throws(E) -> R) throws(E) -> R {
        do { try begin() } catch { throw mapError(error) }
        let result: R
        do {
            result = try body()
        } catch {
            rollback()
            throw error
        }
        do { try commit() } catch {
            rollback()
            throw mapError(error)
        }
        return result
    }
}
