import CSQLite

/// One `journal` row as stored.
struct JournalRow {
    var seq: Int64
    var prev: Int64
    var time: Double
    var origin: String?
    var payload: StoredPayload
    var doc: String
}

/// A `snapshots` row without its payload (read separately, newest first, until one is valid).
struct SnapshotInfo {
    var id: Int64
    var upto: Int64
    var time: Double
    var storedBytes: Int
    var rawLength: Int
}

extension Journal {
    static let rowColumns = "seq, prev_seq, ts, origin, flags, raw_len, crc32, payload, doc"

    private static func readRow(_ s: SQLiteStatement) -> JournalRow {
        JournalRow(seq: s.int64(0), prev: s.int64(1), time: s.double(2), origin: s.text(3),
                   payload: StoredPayload(flags: s.int64(4), rawLength: Int(clamping: s.int64(5)),
                                          crc: UInt32(truncatingIfNeeded: s.int64(6)), bytes: s.blob(7) ?? []),
                   doc: s.text(8) ?? "")
    }

    /// Visits the rows of this document with seq in (after, through], in seq order, and returns
    /// the ranges SQLite could not read. A damaged page does not end the scan: it goes on seq by
    /// seq up to the highest seq the store has handed out. (`allDocuments`: rows of every document.)
    func scanRows(after: Int64, through: Int64, allDocuments: Bool = false,
                  _ visit: (JournalRow) throws(JournalError) -> Void) throws(JournalError) -> [QuarantinedEntry] {
        let db = try connection()
        var last = after
        let s: SQLiteStatement
        do {
            s = try db.cached(allDocuments
                ? "SELECT \(Self.rowColumns) FROM journal WHERE seq > ?1 AND seq <= ?2 ORDER BY seq"
                : "SELECT \(Self.rowColumns) FROM journal WHERE seq > ?1 AND seq <= ?2 AND doc = ?3 ORDER BY seq")
            try s.bind(1, after)
            try s.bind(2, through)
            if !allDocuments { try s.bind(3, document) }
        } catch {
            throw failure(error)
        }
        defer { s.reset() }
        var failure: SQLiteError?
        while true {
            let more: Bool
            do { more = try s.step() } catch {
                failure = error
                break
            }
            if !more { break }
            let row = Self.readRow(s)
            // A damaged b-tree page may yield keys out of order: probing resumes past the highest.
            last = max(last, row.seq)
            try visit(row)
        }
        s.reset()
        guard let failure else { return [] }
        if !failure.isDamage { throw self.failure(failure) }
        return try probeRows(after: last, through: through, allDocuments: allDocuments, cause: failure, visit)
    }

    /// The slow path of `scanRows`: one lookup per seq, so that readable rows around a damaged
    /// page are still found.
    private func probeRows(after: Int64, through: Int64, allDocuments: Bool, cause: SQLiteError,
                           _ visit: (JournalRow) throws(JournalError) -> Void) throws(JournalError) -> [QuarantinedEntry] {
        let db = try connection()
        let handedOut = try? db.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'journal'")?.int64
        // A damaged sqlite_sequence may hold any number: probe at most a million seqs past
        // what the journal otherwise knows of.
        let upper = min(through, max(lastSeq, handedOut ?? 0), max(lastSeq, after) + 1_000_000)
        var problems: [QuarantinedEntry] = []
        if upper <= after {
            problems.append(QuarantinedEntry(kind: "unreadable", seq: after + 1,
                reason: "rows after seq \(after) cannot be read and the highest seq is unknown (\(cause.message))"))
            return problems
        }
        let probe: SQLiteStatement
        do { probe = try db.cached("SELECT \(Self.rowColumns) FROM journal WHERE seq = ?1") } catch { throw failure(error) }
        var runStart: Int64?
        var runMessage = ""
        func closeRun(_ end: Int64) {
            guard let start = runStart else { return }
            let range = start == end ? "row \(start)" : "rows \(start)…\(end)"
            problems.append(QuarantinedEntry(kind: "unreadable", seq: start,
                reason: "\(range) cannot be read: \(runMessage) (the database file is damaged; they may belong to this document)"))
            runStart = nil
        }
        var seq = after + 1
        while seq <= upper {
            defer { seq += 1 }
            probe.reset()
            let found: Bool
            do {
                try probe.bind(1, seq)
                found = try probe.step()
            } catch {
                if !error.isDamage { throw failure(error) }
                if runStart == nil { runStart = seq; runMessage = error.message }
                continue
            }
            closeRun(seq - 1)
            guard found else { continue }
            if !allDocuments && probe.text(8) != document { continue }
            try visit(Self.readRow(probe))
        }
        probe.reset()
        closeRun(upper)
        return problems
    }

    /// This document's snapshots with upto_seq <= `through`, newest first, and a problem when
    /// the list itself cannot be read.
    func listSnapshots(through: Int64) throws(JournalError) -> ([SnapshotInfo], [QuarantinedEntry]) {
        let db = try connection()
        var list: [SnapshotInfo] = []
        do {
            let s = try db.cached("""
                SELECT id, upto_seq, ts, length(payload), raw_len FROM snapshots
                WHERE doc = ?1 AND upto_seq <= ?2 ORDER BY upto_seq DESC, id DESC
                """)
            defer { s.reset() }
            try s.bind(1, document)
            try s.bind(2, through)
            while try s.step() {
                list.append(SnapshotInfo(id: s.int64(0), upto: s.int64(1), time: s.double(2),
                                         storedBytes: Int(s.int64(3)), rawLength: Int(clamping: s.int64(4))))
            }
        } catch {
            if !error.isDamage { throw failure(error) }
            return (list, [QuarantinedEntry(kind: "unreadable", seq: 0,
                reason: "the snapshot table cannot be read past \(list.count) snapshot(s): \(error.message)")])
        }
        return (list, [])
    }

    /// A snapshot's update bytes, or why they cannot be had.
    func snapshotBytes(_ info: SnapshotInfo) throws(JournalError) -> Result<[UInt8], SalvageReason> {
        let db = try connection()
        let payload: StoredPayload
        do {
            let s = try db.cached("SELECT flags, raw_len, crc32, payload FROM snapshots WHERE id = ?1")
            defer { s.reset() }
            try s.bind(1, info.id)
            guard try s.step() else { return .failure(SalvageReason("the snapshot row disappeared")) }
            payload = StoredPayload(flags: s.int64(0), rawLength: Int(clamping: s.int64(1)),
                                    crc: UInt32(truncatingIfNeeded: s.int64(2)), bytes: s.blob(3) ?? [])
        } catch {
            if !error.isDamage { throw failure(error) }
            return .failure(SalvageReason("cannot be read: \(error.message)"))
        }
        do { return .success(try payload.decoded()) } catch { return .failure(SalvageReason(error.description)) }
    }

    /// Seqs of this document's quarantine entries (links the row chain may point through) and
    /// how many of them stand for lost content (rows, missing or unreadable rows).
    func quarantineSummary() throws(JournalError) -> (seqs: Set<Int64>, lost: Int) {
        let db = try connection()
        var seqs = Set<Int64>()
        var lost = 0
        do {
            let s = try db.cached("SELECT seq, kind FROM quarantine WHERE doc = ?1")
            defer { s.reset() }
            try s.bind(1, document)
            while try s.step() {
                seqs.insert(s.int64(0))
                if s.text(1) != "snapshot" { lost += 1 }
            }
        } catch {
            if !error.isDamage { throw failure(error) }
        }
        return (seqs, lost)
    }
}

/// Why something could not be read, as shown to the user.
struct SalvageReason: Error {
    var text: String
    init(_ text: String) { self.text = text }
}
