import CRDT
import Foundation
@testable import Journal
import TestSupport
import Testing

/// Damage of every kind: the store still opens, loads everything else, reports what is bad
/// with a clear reason, `check` reports the same, `repair` moves it to quarantine.
@Suite(.ownThread) struct CorruptionTests {
    /// A closed store with `count` edits (one token each), compacted at `compactAt`.
    func makeStore(_ dir: TempDir, count: Int = 60, compactAt: [Int] = [], retain: Bool = true) throws -> [String] {
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, options: manualOptions(retainHistory: retain))
        var tokens: [String] = []
        for i in 1...count {
            let token = "[\(i)]"
            tokens.append(token)
            try jd.edit { try $0.getText("t").insert(at: $0.getText("t").length, token) }
            if compactAt.contains(i) { try jd.journal.compact(document: jd.doc) }
        }
        jd.close()
        return tokens
    }

    func loadText(_ path: String) throws -> (String, LoadReport, Journal) {
        let j = try Journal.open(path: path)
        let doc = YDoc()
        let report = try j.load(into: doc)
        return (doc.getText("t").string, report, j)
    }

    /// The bytes of the store's files, to show that `load` and `check` write nothing.
    func snapshotFiles(_ path: String) -> [[UInt8]] {
        [fileBytes(path), fileBytes(path + "-wal")]
    }

    @Test func flippedPayloadByte() throws {
        let dir = TempDir()
        let tokens = try makeStore(dir)
        try tamper(dir.file("store.ysync")) { db throws in
            let payload = try #require(try db.scalar("SELECT payload FROM journal WHERE seq = 30"))
            guard case var .blob(b) = payload else { throw CancellationError() }
            b[b.count / 2] ^= 0x40
            try db.run("UPDATE journal SET payload = ?1 WHERE seq = 30", [.blob(b)])
        }
        let filesBefore = snapshotFiles(dir.file("store.ysync"))
        let (text, report, j) = try loadText(dir.file("store.ysync"))
        #expect(report.quarantined.count == 1)
        let bad = try #require(report.quarantined.first)
        #expect(bad.kind == "row" && bad.seq == 30)
        #expect(bad.reason.contains("CRC-32 mismatch") || bad.reason.contains("LZ4"))
        // Everything else loads: tokens before 30 and every later one that does not depend on it.
        for (i, t) in tokens.enumerated() where i + 1 < 30 { #expect(text.contains(t)) }
        #expect(!text.contains("[30]"))
        #expect(report.rowsApplied == 59)
        let check = try j.check()
        #expect(check.problems == report.quarantined)
        #expect(snapshotFiles(dir.file("store.ysync")) == filesBefore, "load and check wrote to the store")
        try repairedAndHealthy(j, moved: 1)
    }

    /// After `repair`, `check` is healthy and the quarantine keeps the row with its reason.
    func repairedAndHealthy(_ j: Journal, moved: Int, lost: Bool = true) throws {
        let found = try j.repair()
        #expect(found.problems.count == moved)
        let after = try j.check()
        #expect(after.isHealthy, "\(after.problems)")
        let doc = YDoc()
        let report = try j.load(into: doc)
        #expect(report.quarantined.isEmpty)
        // A bad snapshot whose rows are all there loses nothing; a bad row does.
        #expect((after.previouslyQuarantined >= 1) == lost && (report.previouslyQuarantined >= 1) == lost)
        #expect(report.isComplete == !lost)
        #expect(try j.stats().quarantined == moved)
    }

    @Test func flippedCRC() throws {
        let dir = TempDir()
        _ = try makeStore(dir)
        try tamper(dir.file("store.ysync")) { try $0.run("UPDATE journal SET crc32 = (crc32 | 1) - (crc32 & 1) WHERE seq = 12") }
        let (text, report, j) = try loadText(dir.file("store.ysync"))
        #expect(report.quarantined.map(\.seq) == [12])
        #expect(report.quarantined[0].reason.contains("CRC-32 mismatch"))
        #expect(text.contains("[11]") && !text.contains("[12]"))
        try repairedAndHealthy(j, moved: 1)
        // The quarantined row keeps its original columns.
        try tamper(dir.file("store.ysync")) { db throws in
            #expect(try db.scalar("SELECT count(*) FROM quarantine WHERE seq = 12 AND kind = 'row' AND raw_row IS NOT NULL AND reason LIKE '%CRC%'") == .integer(1))
        }
    }

    @Test func undecodableUpdate() throws {
        let dir = TempDir()
        _ = try makeStore(dir, count: 10)
        // A row whose bytes and checksum agree but which is no update.
        let junk: [UInt8] = [0xFF, 0xFF, 0xFF]
        try tamper(dir.file("store.ysync")) { db in
            try db.run("UPDATE journal SET payload = ?1, raw_len = 3, flags = 0, crc32 = ?2 WHERE seq = 4",
                       [.blob(junk), .integer(Int64(CRC32.checksum(junk)))])
        }
        let (_, report, j) = try loadText(dir.file("store.ysync"))
        #expect(report.quarantined.map(\.kind) == ["row"])
        #expect(report.quarantined[0].reason.contains("does not decode"))
        try repairedAndHealthy(j, moved: 1)
    }

    @Test func damagedNewestSnapshotFallsBackToOlder() throws {
        let dir = TempDir()
        let tokens = try makeStore(dir, count: 60, compactAt: [20, 40])
        try tamper(dir.file("store.ysync")) { db in
            try db.run("UPDATE snapshots SET payload = substr(payload, 1, length(payload) - 3) WHERE upto_seq = 40")
        }
        let (text, report, j) = try loadText(dir.file("store.ysync"))
        #expect(report.snapshotSeq == 20)
        #expect(report.quarantined.map(\.kind) == ["snapshot"])
        #expect(report.quarantined[0].seq == 40)
        #expect(text == tokens.joined(), "the older snapshot and its rows hold everything")
        try repairedAndHealthy(j, moved: 1, lost: false)
    }

    @Test func damagedSnapshotWithoutHistoryReportsTheLostRows() throws {
        let dir = TempDir()
        let tokens = try makeStore(dir, count: 30, compactAt: [20], retain: false)
        try tamper(dir.file("store.ysync")) { try $0.run("UPDATE snapshots SET crc32 = (crc32 + 1) % 4294967296") }
        let (text, report, j) = try loadText(dir.file("store.ysync"))
        #expect(report.snapshotSeq == nil)
        #expect(Set(report.quarantined.map(\.kind)) == ["snapshot", "missing"])
        let missing = try #require(report.quarantined.first { $0.kind == "missing" })
        #expect(missing.reason.contains("row 21 follows row 20"))
        // Rows 21... still load; they depend on the lost part, so they wait as pending.
        #expect(report.rowsApplied == 10 && report.hasPending)
        #expect(!text.contains(tokens[0]))
        try repairedAndHealthy(j, moved: 2)
    }

    @Test func rowsDeletedInTheMiddleAndAtTheEnd() throws {
        let dir = TempDir()
        let tokens = try makeStore(dir, count: 40)
        try tamper(dir.file("store.ysync")) { db in
            try db.run("DELETE FROM journal WHERE seq BETWEEN 15 AND 17")
            try db.run("DELETE FROM journal WHERE seq >= 39")
        }
        let (text, report, j) = try loadText(dir.file("store.ysync"))
        #expect(report.quarantined.map(\.kind) == ["missing", "missing"])
        #expect(report.quarantined[0].reason.contains("row 18 follows row 17"))
        #expect(report.quarantined[1].reason.contains("the last one present is 38"))
        #expect(text.contains(tokens[13]) && !text.contains(tokens[14]))
        #expect(report.rowsApplied == 35)
        let check = try j.check()
        #expect(check.problems == report.quarantined)
        try repairedAndHealthy(j, moved: 2)
    }

    @Test func unknownFlagsAreNotGuessedAt() throws {
        let dir = TempDir()
        _ = try makeStore(dir, count: 5)
        try tamper(dir.file("store.ysync")) { try $0.run("UPDATE journal SET flags = flags | 8 WHERE seq = 5") }
        let (_, report, _) = try loadText(dir.file("store.ysync"))
        #expect(report.quarantined.map(\.seq) == [5])
        #expect(report.quarantined[0].reason.contains("unknown flags"))
    }

    /// The file cut short: the store still opens, reads what is left, reports the rest.
    @Test(arguments: [0.35, 0.6, 0.85])
    func truncatedFile(fraction: Double) throws {
        let dir = TempDir()
        // Bigger rows, so that the table spans many pages.
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, options: manualOptions())
        var rng = SeededRandom(seed: 1)
        for i in 1...400 {
            let token = "[\(i)]" + String((0..<200).map { _ in rng.pick(Array("abcdefghijklmnopqrstuvwxyz")) })
            try jd.edit { try $0.getText("t").insert(at: $0.getText("t").length, token) }
        }
        jd.close()
        let size = try #require(FileInfo.size(dir.file("store.ysync")))
        #expect(FileInfo.size(dir.file("store.ysync") + "-wal") == nil, "closing checkpoints the WAL")
        let fd = open(dir.file("store.ysync"), O_WRONLY)
        #expect(ftruncate(fd, off_t(Double(size) * fraction) / 4096 * 4096) == 0)
        close(fd)

        let j = try Journal.open(path: dir.file("store.ysync"))
        let doc = YDoc()
        let report = try j.load(into: doc)
        #expect(!report.quarantined.isEmpty)
        #expect(report.quarantined.contains { $0.kind == "unreadable" || $0.kind == "missing" })
        #expect(report.rowsApplied > 0, "what is left loads")
        #expect(report.rowsApplied < 400)
        let text = doc.getText("t").string
        #expect(text.hasPrefix("[1]"))
        let check = try j.check()
        #expect(!check.isHealthy)
        #expect(check.problems.contains { $0.kind == "sqlite" || $0.kind == "unreadable" })
        // Writing to a file SQLite cannot fully read is refused until it is rebuilt.
        if j.damage != nil {
            #expect(throws: JournalError.self) { try j.append(sampleUpdate()) }
        }

        // repair rebuilds the file from what is readable and keeps the damaged one.
        let repaired = try j.repair()
        let kept = try #require(repaired.damagedFileKeptAt)
        #expect(FileInfo.size(kept) != nil)
        let healthy = try j.check()
        #expect(healthy.isHealthy, "\(healthy.problems)")
        let again = YDoc()
        let after = try j.load(into: again)
        #expect(after.quarantined.isEmpty && after.previouslyQuarantined > 0)
        #expect(again.getText("t").string == text, "the rebuild keeps everything that was readable")
        let seq = try j.append(sampleUpdate())
        #expect(seq > 400, "seqs are not handed out twice")
        j.close()
        let reopened = try Journal.open(path: dir.file("store.ysync"))
        #expect(try reopened.check().isHealthy)
    }
}

@Suite(.ownThread) struct SalvageTests {
    /// Random bytes flipped anywhere past the first page of the file (seeded): opening either
    /// fails with a typed error or works; then load and check never throw, and repair leaves a
    /// healthy store that still opens and loads.
    @Test(arguments: TestEnvironment.seeds(base: 12, salt: 300))
    func flippedFileBytes(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let dir = TempDir("flip\(seed)")
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, options: manualOptions())
        for i in 1...300 {
            try jd.edit { try $0.getText("t").insert(at: 0, "<\(i)>" + String(repeating: "y", count: i % 50)) }
            if i == 150 { try jd.journal.compact(document: jd.doc) }
        }
        jd.close()
        var bytes = fileBytes(dir.file("store.ysync"))
        for _ in 0..<rng.int(1...8) {
            let at = rng.int(4096..<bytes.count)
            bytes[at] ^= UInt8(rng.int(1...255))
        }
        #expect(FileManager.default.createFile(atPath: dir.file("store.ysync"), contents: Data(bytes)))

        let j: Journal
        do {
            j = try Journal.open(path: dir.file("store.ysync"))
        } catch {
            // Only damage to the schema itself can make a store unopenable, with a clear error.
            guard case .notAStore = error else {
                Issue.record("seed \(seed): unexpected \(error)")
                return
            }
            return
        }
        let doc = YDoc()
        let report = try j.load(into: doc)
        let check = try j.check()
        // check reads everything, load only what follows the snapshot it starts from.
        for p in report.quarantined where p.kind == "row" { #expect(check.problems.contains(p), "seed \(seed)") }
        try j.repair()
        let after = try j.check()
        #expect(after.isHealthy, "seed \(seed): \(after.problems)")
        j.close()
        let again = try JournaledDocument.open(path: dir.file("store.ysync"))
        #expect(again.loadReport.quarantined.isEmpty, "seed \(seed)")
        try again.edit { try $0.getText("t").insert(at: 0, "after repair") }
    }

    @Test func badRowsGiveTheDocumentAFreshClientID() throws {
        let dir = TempDir()
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, clientID: 4242)
        for i in 0..<10 { try jd.edit { try $0.getText("t").insert(at: 0, "\(i)") } }
        jd.close()
        try tamper(dir.file("store.ysync")) { try $0.run("UPDATE journal SET crc32 = (crc32 + 1) % 4294967296 WHERE seq = 10") }
        let reopened = try JournaledDocument.open(path: dir.file("store.ysync"))
        #expect(reopened.loadReport.quarantined.count == 1)
        #expect(reopened.clientID != 4242, "clock 9 of client 4242 is lost: that id must not write again")
        #expect(try reopened.journal.meta("client_id") == String(reopened.clientID))
        #expect(reopened.doc.getText("t").string == "876543210")
        try reopened.journal.repair()
        let id = reopened.clientID
        reopened.close()
        // Once repaired and rotated, the id is kept again.
        let third = try JournaledDocument.open(path: dir.file("store.ysync"))
        #expect(third.clientID == id)
    }

    @Test func damagedFilesRefuseWritesClearly() throws {
        let dir = TempDir()
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true)
        for i in 0..<300 { try jd.edit { try $0.getText("t").insert(at: 0, String(repeating: "\(i)", count: 60)) } }
        jd.close()
        let size = try #require(FileInfo.size(dir.file("store.ysync")))
        #expect(truncate(dir.file("store.ysync"), off_t(size / 2 / 4096 * 4096)) == 0)
        #expect { try JournaledDocument.open(path: dir.file("store.ysync")) } throws: { e in
            guard case let .damaged(_, reason) = e as? JournalError else { return false }
            return reason.contains("run repair")
        }
        #expect(throws: JournalError.notAStore(path: dir.path, reason: "it is a directory")) { try Journal.open(path: dir.path) }
    }
}
