import CRDT
import CSQLite

extension Journal {
    /// The document's rows after `seq`, oldest first (what `ycli log` lists).
    public func entries(after seq: Int64 = 0, limit: Int = .max) throws(JournalError) -> [JournalEntryInfo] {
        guard limit > 0 else { return [] }
        let docName = document
        return try sql { db throws(SQLiteError) in
            let s = try db.cached("""
                SELECT seq, ts, origin, raw_len, length(payload), flags FROM journal
                WHERE doc = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3
                """)
            defer { s.reset() }
            try s.bind(1, docName)
            try s.bind(2, seq)
            try s.bind(3, Int64(clamping: limit))
            var out: [JournalEntryInfo] = []
            while try s.step() {
                out.append(JournalEntryInfo(seq: s.int64(0), time: s.double(1), origin: s.text(2), rawBytes: Int(s.int64(3)),
                                            storedBytes: Int(s.int64(4)), compressed: s.int64(5) & StoredPayload.lz4Flag != 0))
            }
            return out
        }
    }

    /// The document as it was right after `seq` was committed: the newest valid snapshot at or
    /// before `seq` and the rows after it up to `seq`. Throws `.noSuchSeq` past the last seq and
    /// `.historyUnavailable` when that state cannot be rebuilt exactly (its rows were compacted
    /// away without history, or are damaged: `load(into:upTo:)` gives the best effort then).
    public func document(atSeq seq: Int64, gc: Bool = true) throws(JournalError) -> YDoc {
        guard seq >= 0 else { throw .noSuchSeq(seq) }
        let last = try sql { _ throws(SQLiteError) in try lastAssignedSeq() }
        if seq > max(last, lastSeq) { throw .noSuchSeq(seq) }
        let pruned = try sql { _ throws(SQLiteError) in try metaInt(Schema.prunedThroughKey(document)) } ?? 0
        if seq < pruned { throw .historyUnavailable(seq: seq, oldestAvailable: pruned) }
        let doc = YDoc(gc: gc)
        let report = try load(into: doc, through: seq)
        if !report.quarantined.isEmpty { throw .historyUnavailable(seq: seq, oldestAvailable: nil) }
        return doc
    }

    /// The last seq of the document committed at or before unix time `t` (nil: none was).
    /// Where rows were compacted away, a snapshot taken at or before `t` stands for its upto seq.
    public func seq(atTime t: Double) throws(JournalError) -> Int64? {
        let docName = document
        return try sql { db throws(SQLiteError) in
            let row = try db.scalar("SELECT max(seq) FROM journal WHERE doc = ?1 AND ts <= ?2", [.text(docName), .real(t)])?.int64
            let snap = try db.scalar("SELECT max(upto_seq) FROM snapshots WHERE doc = ?1 AND ts <= ?2", [.text(docName), .real(t)])?.int64
            switch (row, snap) {
            case let (r?, s?): return max(r, s)
            case let (r?, nil): return r
            case let (nil, s?): return s
            default: return nil
            }
        }
    }

    /// Names the state at `seq` (default: the last seq; 0 is the empty document). Names are
    /// unique per document: `.versionExists` otherwise, `.noSuchSeq` past the last seq.
    public func addVersion(_ name: String, seq: Int64? = nil) throws(JournalError) {
        guard !name.isEmpty else { throw .invalidArgument("a version name cannot be empty") }
        let last = try sql { _ throws(SQLiteError) in try lastAssignedSeq() }
        let at = seq ?? last
        guard at >= 0, at <= max(last, lastSeq) else { throw .noSuchSeq(at) }
        let docName = document
        let ts = now()
        try requireWritable()
        do {
            try sql { db throws(SQLiteError) in
                try db.run("INSERT INTO versions(doc, name, seq, ts) VALUES (?1, ?2, ?3, ?4)",
                           [.text(docName), .text(name), .integer(at), .real(ts)])
            }
        } catch {
            if case let .sqlite(code, _, _) = error, code & 0xFF == SQLITE_CONSTRAINT { throw .versionExists(name) }
            throw error
        }
    }

    /// The document's named versions, by seq.
    public func versions() throws(JournalError) -> [(name: String, seq: Int64, time: Double)] {
        let docName = document
        return try sql { db throws(SQLiteError) in
            let s = try db.cached("SELECT name, seq, ts FROM versions WHERE doc = ?1 ORDER BY seq, name")
            defer { s.reset() }
            try s.bind(1, docName)
            var out: [(name: String, seq: Int64, time: Double)] = []
            while try s.step() { out.append((s.text(0) ?? "", s.int64(1), s.double(2))) }
            return out
        }
    }

    /// The seq and time of a named version; `.noSuchVersion` when there is none.
    public func version(_ name: String) throws(JournalError) -> (seq: Int64, time: Double) {
        let docName = document
        let found = try sql { db throws(SQLiteError) -> (Int64, Double)? in
            let s = try db.cached("SELECT seq, ts FROM versions WHERE doc = ?1 AND name = ?2")
            defer { s.reset() }
            try s.bind(1, docName)
            try s.bind(2, name)
            return try s.step() ? (s.int64(0), s.double(1)) : nil
        }
        guard let found else { throw .noSuchVersion(name) }
        return (found.0, found.1)
    }
}
