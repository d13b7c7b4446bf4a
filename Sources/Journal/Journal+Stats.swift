extension Journal {
    /// Sizes and positions of the document's journal (`ycli status`).
    public func stats() throws(JournalError) -> JournalStats {
        let docName = document
        let last = try sql { _ throws(SQLiteError) in try lastAssignedSeq() }
        return try sql { db throws(SQLiteError) in
            var snapSeq: Int64?, snapTime: Double?, snapRaw: Int?, snapStored: Int?
            let s = try db.cached("""
                SELECT upto_seq, ts, raw_len, length(payload), (SELECT count(*) FROM snapshots WHERE doc = ?1)
                FROM snapshots WHERE doc = ?1 ORDER BY upto_seq DESC, id DESC LIMIT 1
                """)
            defer { s.reset() }
            try s.bind(1, docName)
            var snapshots = 0
            if try s.step() {
                snapSeq = s.int64(0)
                snapTime = s.double(1)
                snapRaw = Int(s.int64(2))
                snapStored = Int(s.int64(3))
                snapshots = Int(s.int64(4))
            }
            s.reset()
            let r = try db.cached("""
                SELECT count(*), coalesce(sum(raw_len), 0), coalesce(sum(length(payload)), 0),
                       coalesce(sum(seq > ?2), 0), coalesce(sum(CASE WHEN seq > ?2 THEN raw_len ELSE 0 END), 0)
                FROM journal WHERE doc = ?1
                """)
            defer { r.reset() }
            try r.bind(1, docName)
            try r.bind(2, snapSeq ?? 0)
            _ = try r.step()
            let quarantined = try db.scalar("SELECT count(*) FROM quarantine WHERE doc = ?1", [.text(docName)])?.int64 ?? 0
            let fileBytes = (FileInfo.size(path) ?? 0) + (FileInfo.size(path + "-wal") ?? 0)
            return JournalStats(rows: Int(r.int64(0)), rawBytes: Int(r.int64(1)), storedBytes: Int(r.int64(2)),
                                snapshots: snapshots, lastSnapshotSeq: snapSeq, lastSnapshotTime: snapTime,
                                lastSeq: max(last, lastSeq), tailRows: Int(r.int64(3)), quarantined: Int(quarantined),
                                fileBytes: fileBytes, lastSnapshotRawBytes: snapRaw, lastSnapshotStoredBytes: snapStored,
                                tailRawBytes: Int(r.int64(4)))
        }
    }
}
