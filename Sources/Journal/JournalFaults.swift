import CSQLite
import Synchronization

/// A test seam on the real SQLite journal: arms failures of the next appends, which then throw
/// what a full disk throws (`JournalError.sqlite` with SQLITE_FULL) from inside the append's
/// transaction, after its rows were inserted, so that SQLite rolls them back as it would; and
/// of the next loads (SQLITE_IOERR before the first read). Shared by reference: set it on
/// `JournalOptions.faults` and arm it from the test.
package final class JournalFaults: Sendable, Equatable {
    private let state = Mutex((pending: 0, injected: 0, loads: 0))

    /// Faults with nothing armed.
    package init() {}

    /// The next `count` appends (calls of `Journal.append`, one batch each) fail.
    package func failNextAppends(_ count: Int) {
        state.withLock { $0.pending += max(0, count) }
    }

    /// Appends armed to fail that have not been attempted yet.
    package var pending: Int { state.withLock { $0.pending } }

    /// Appends failed by this seam so far.
    package var injected: Int { state.withLock { $0.injected } }

    /// The next `count` loads (`Journal.load`, also a `JournaledDocument.reload`) fail.
    package func failNextLoads(_ count: Int) {
        state.withLock { $0.loads += max(0, count) }
    }

    /// Disarms what is still armed.
    package func clear() {
        state.withLock {
            $0.pending = 0
            $0.loads = 0
        }
    }

    /// Called by a load before it reads: throws a disk I/O error when armed.
    func loadWillRead() throws(SQLiteError) {
        let fail = state.withLock { s -> Bool in
            guard s.loads > 0 else { return false }
            s.loads -= 1
            return true
        }
        if fail { throw SQLiteError(db: nil, code: SQLITE_IOERR, operation: "step: SELECT ... FROM snapshots") }
    }

    /// Called by an append inside its transaction: throws the disk-full error when armed.
    func appendWillCommit(_ sql: String) throws(SQLiteError) {
        let fail = state.withLock { s -> Bool in
            guard s.pending > 0 else { return false }
            s.pending -= 1
            s.injected += 1
            return true
        }
        if fail { throw SQLiteError(db: nil, code: SQLITE_FULL, operation: "step: \(sql)") }
    }

    /// Identity: two options are equal when they share the same faults object.
    package static func == (a: JournalFaults, b: JournalFaults) -> Bool { a === b }
}
