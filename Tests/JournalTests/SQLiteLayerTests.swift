import CSQLite
@testable import Journal
import Testing
import TestSupport

@Suite(.ownThread) struct SQLiteLayerTests {
    @Test func bindAndReadEveryType() throws {
        let dir = TempDir()
        let db = try SQLiteConnection(path: dir.file("t.db"), mode: .readWriteCreate)
        try db.execute("CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB, n)")
        let ins = try db.cached("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)")
        try ins.bind(1, Int64.min)
        try ins.bind(2, 1.5)
        try ins.bind(3, "héllo 😀\u{0}tail")
        try ins.bind(4, blob: [0, 1, 255])
        try ins.bindNull(5)
        #expect(try ins.step() == false)
        ins.reset()
        try ins.bind([.integer(Int64.max), .real(-0.25), .text(""), .blob([]), .null])
        #expect(try ins.step() == false)
        let sel = try db.prepare("SELECT i, r, s, b, n FROM t ORDER BY rowid")
        #expect(try sel.step())
        #expect(sel.int64(0) == Int64.min)
        #expect(sel.double(1) == 1.5)
        #expect(sel.text(2) == "héllo 😀\u{0}tail")
        #expect(sel.blob(3) == [0, 1, 255])
        #expect(sel.isNull(4) && sel.blob(4) == nil && sel.text(4) == nil)
        #expect(try sel.step())
        #expect(sel.value(0) == .integer(Int64.max))
        #expect(sel.value(1) == .real(-0.25))
        #expect(sel.value(2) == .text(""))
        #expect(sel.blob(3) == [])
        #expect(sel.value(4) == .null)
        #expect(try sel.step() == false)
        #expect(try db.scalar("SELECT count(*) FROM t") == .integer(2))
    }

    @Test func errorsCarrySQLiteMessage() throws {
        let dir = TempDir()
        let db = try SQLiteConnection(path: dir.file("t.db"), mode: .readWriteCreate)
        do {
            try db.execute("SELEKT 1")
            Issue.record("no error")
        } catch {
            #expect(error.code == SQLITE_ERROR)
            #expect(error.message.contains("syntax error"))
        }
        try db.execute("CREATE TABLE u(k TEXT PRIMARY KEY)")
        try db.run("INSERT INTO u VALUES ('a')")
        do {
            try db.run("INSERT INTO u VALUES ('a')")
            Issue.record("no error")
        } catch {
            #expect(error.primaryCode == SQLITE_CONSTRAINT)
            #expect(error.message.contains("UNIQUE"))
            #expect(error.description.contains("INSERT INTO u"))
        }
        // The statement is usable again after a failed step.
        try db.run("INSERT INTO u VALUES ('b')")
        #expect(try db.scalar("SELECT count(*) FROM u") == .integer(2))
        #expect(throws: SQLiteError.self) { try SQLiteConnection(path: dir.file("nope/x.db"), mode: .readWrite) }
    }

    @Test func transactionsCommitAndRollBack() throws {
        struct Boom: Error {}
        let dir = TempDir()
        let db = try SQLiteConnection(path: dir.file("t.db"), mode: .readWriteCreate)
        try db.execute("CREATE TABLE t(x)")
        try db.transaction(mapError: { $0 as any Error }) { () throws(any Error) in
            try db.run("INSERT INTO t VALUES (1)")
        }
        #expect(throws: Boom.self) {
            try db.transaction(mapError: { $0 as any Error }) { () throws(any Error) in
                try db.run("INSERT INTO t VALUES (2)")
                throw Boom()
            }
        }
        #expect(!db.inTransaction)
        #expect(try db.scalar("SELECT group_concat(x) FROM t") == .text("1"))
    }

    @Test func busyWriterTimesOut() throws {
        let dir = TempDir()
        let a = try SQLiteConnection(path: dir.file("t.db"), mode: .readWriteCreate)
        try a.execute("PRAGMA journal_mode=WAL; CREATE TABLE t(x)")
        let b = try SQLiteConnection(path: dir.file("t.db"), mode: .readWrite)
        try b.setBusyTimeout(milliseconds: 50)
        try a.begin()
        do {
            try b.begin()
            Issue.record("second writer got the lock")
        } catch {
            #expect(error.primaryCode == SQLITE_BUSY)
        }
        a.rollback()
        try b.begin()
        try b.commit()
    }

    @Test func closedConnectionThrows() throws {
        let dir = TempDir()
        let db = try SQLiteConnection(path: dir.file("t.db"), mode: .readWriteCreate)
        let s = try db.cached("SELECT 1")
        db.close()
        #expect(throws: SQLiteError.self) { try db.execute("SELECT 1") }
        _ = s
    }
}
