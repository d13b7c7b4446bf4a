import CRDT

extension Journal {
    /// Appends one update; returns its seq once the row is committed (and, with durability
    /// `.full`, on disk). An update that does not decode is refused with `.badUpdate`.
    @discardableResult
    public func append(_ update: [UInt8], origin: String? = nil) throws(JournalError) -> Int64 {
        try append(batch: [(update: update, origin: origin)])[0]
    }

    /// Appends updates in one SQLite transaction (group commit): all are committed, or none.
    /// Returns their seqs, in order.
    @discardableResult
    public func append(batch: [(update: [UInt8], origin: String?)]) throws(JournalError) -> [Int64] {
        if batch.isEmpty { return [] }
        // Validate and encode before taking the write lock.
        var payloads: [StoredPayload] = []
        payloads.reserveCapacity(batch.count)
        for item in batch {
            do { _ = try UpdateDecoderV1.decode(item.update) } catch { throw .badUpdate(error) }
            payloads.append(StoredPayload(encoding: item.update))
        }
        let ts = now()
        let doc = document
        let seqs = try transaction { db throws(JournalError) -> [Int64] in
            do throws(SQLiteError) {
                // The previous row of this document, read under the write lock (another
                // connection may have appended since this one last looked).
                var prev = try lastAssignedSeq()
                let insert = try db.cached("""
                    INSERT INTO journal(doc, ts, origin, flags, raw_len, crc32, payload, prev_seq)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                    """)
                var seqs: [Int64] = []
                seqs.reserveCapacity(batch.count)
                for (i, p) in payloads.enumerated() {
                    insert.reset()
                    try insert.bind(1, doc)
                    try insert.bind(2, ts)
                    try insert.bind(3, batch[i].origin)
                    try insert.bind(4, p.flags)
                    try insert.bind(5, Int64(p.rawLength))
                    try insert.bind(6, Int64(p.crc))
                    try insert.bind(7, blob: p.bytes)
                    try insert.bind(8, prev)
                    while try insert.step() {}
                    prev = db.lastInsertRowID
                    seqs.append(prev)
                }
                insert.reset()
                try options.faults?.appendWillCommit(insert.sql)
                try setMetaInt(Schema.lastSeqKey(doc), prev)
                return seqs
            } catch {
                throw failure(error)
            }
        }
        lastSeq = max(lastSeq, seqs[seqs.count - 1])
        if tail.rows == 0 { tail.oldestTime = ts }
        tail.rows += batch.count
        for p in payloads { tail.rawBytes += p.rawLength }
        return seqs
    }

    /// The last seq given to this document: the meta record, else the newest row or snapshot.
    func lastAssignedSeq() throws(SQLiteError) -> Int64 {
        if let v = try metaInt(Schema.lastSeqKey(document)) { return v }
        guard let db else { return 0 }
        let row = try db.scalar("SELECT coalesce(max(seq), 0) FROM journal WHERE doc = ?1", [.text(document)])?.int64 ?? 0
        let snap = try db.scalar("SELECT coalesce(max(upto_seq), 0) FROM snapshots WHERE doc = ?1", [.text(document)])?.int64 ?? 0
        return max(row, snap)
    }
}
