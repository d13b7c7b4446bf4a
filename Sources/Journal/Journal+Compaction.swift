import CRDT

extension Journal {
    /// Whether the tail (rows after the last snapshot) has passed a threshold of the options:
    /// row count, raw bytes at least the snapshot's, or age of its oldest row.
    public var needsCompaction: Bool {
        guard tail.rows > 0 else { return false }
        if tail.rows >= options.compactAfterRows { return true }
        if options.compactWhenTailBytesExceedSnapshot, tail.snapshotSeq != nil,
           tail.rawBytes >= tail.snapshotRawBytes {
            return true
        }
        if let oldest = tail.oldestTime, now() - oldest >= options.compactAfterSeconds { return true }
        return false
    }

    /// Writes a snapshot of the whole document up to the last seq, in one SQLite transaction.
    /// With `document`, its full state is the snapshot, so it must hold everything journaled
    /// (the document `load` filled, with the edits appended since); without, the journal is
    /// loaded into a fresh document first. Without `retainHistory`, the rows and snapshots the
    /// new snapshot supersedes are deleted in the same transaction. Anything a load or check
    /// found unreadable is moved to quarantine first, so compaction never buries or deletes
    /// it. Returns the snapshot's upto seq, or nil when there is nothing to compact.
    @discardableResult
    public func compact(document doc: YDoc? = nil) throws(JournalError) -> Int64? {
        if hasUnrepairedProblems { _ = try repair() }
        let state: [UInt8], stateVector: [UInt8], upto: Int64
        if let doc {
            upto = lastSeq
            guard upto > 0, upto != tail.snapshotSeq else { return nil }
            state = doc.encodeStateAsUpdate()
            stateVector = doc.encodeStateVector()
        } else {
            let fresh = YDoc()
            let report = try load(into: fresh)
            if !report.quarantined.isEmpty { _ = try repair() }
            upto = report.lastSeq
            guard upto > 0, upto != report.snapshotSeq else { return nil }
            state = fresh.encodeStateAsUpdate()
            stateVector = fresh.encodeStateVector()
        }
        let payload = StoredPayload(encoding: state)
        let ts = now()
        let docName = document
        let retain = options.retainHistory
        try transaction { db throws(JournalError) in
            do throws(SQLiteError) {
                try db.run("""
                    INSERT INTO snapshots(doc, upto_seq, ts, state_vector, raw_len, crc32, flags, payload)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                    """, [.text(docName), .integer(upto), .real(ts), .blob(stateVector), .integer(Int64(payload.rawLength)),
                          .integer(Int64(payload.crc)), .integer(payload.flags), .blob(payload.bytes)])
                let id = db.lastInsertRowID
                if !retain {
                    try db.run("DELETE FROM journal WHERE doc = ?1 AND seq <= ?2", [.text(docName), .integer(upto)])
                    try db.run("DELETE FROM snapshots WHERE doc = ?1 AND id <> ?2", [.text(docName), .integer(id)])
                    // History before `upto` is gone: `document(atSeq:)` says so instead of guessing.
                    try setMetaInt(Schema.prunedThroughKey(docName), upto)
                }
            } catch {
                throw failure(error)
            }
        }
        tail = TailState(snapshotSeq: upto, snapshotRawBytes: payload.rawLength)
        return upto
    }
}
