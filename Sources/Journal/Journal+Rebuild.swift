#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSQLite

extension Journal {
    /// Rebuilds a file SQLite reports damaged: everything still readable (rows of every
    /// document with their original seqs, snapshots, meta, versions, quarantine) is copied into
    /// a new file, unreadable row ranges are recorded in its quarantine, and the new file
    /// replaces the old one, which is kept beside it (with its WAL) as `<path>.damaged-<time>`.
    /// Returns that path. Nothing is deleted.
    func rebuild() throws(JournalError) -> String {
        let stamp = Int64(now())
        let fresh = path + ".rebuild"
        for suffix in ["", "-wal", "-shm"] { unlink(fresh + suffix) }
        var options = self.options
        options.durability = .full
        let target = try Journal.open(path: fresh, create: true, options: options, document: document)
        let handedOut = (try? connection().scalar("SELECT seq FROM sqlite_sequence WHERE name = 'journal'")?.int64) ?? 0
        let damaged = path + ".damaged-\(stamp)"
        do throws(JournalError) {
            try target.transaction { out throws(JournalError) in
                var highest = max(lastSeq, handedOut)
                let unreadable = try scanRows(after: 0, through: .max, allDocuments: true) { row throws(JournalError) in
                    highest = max(highest, row.seq)
                    do throws(SQLiteError) {
                        try out.run("""
                            INSERT OR IGNORE INTO journal(seq, doc, ts, origin, flags, raw_len, crc32, payload, prev_seq)
                            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                            """, [.integer(row.seq), .text(row.doc), .real(row.time), row.origin.map { .text($0) } ?? .null,
                                  .integer(row.payload.flags), .integer(Int64(row.payload.rawLength)),
                                  .integer(Int64(row.payload.crc)), .blob(row.payload.bytes), .integer(row.prev)])
                    } catch {
                        throw failure(error)
                    }
                }
                do throws(SQLiteError) {
                    let ts = now()
                    for u in unreadable {
                        try out.run("INSERT INTO quarantine(kind, doc, seq, ts, reason) VALUES ('unreadable', ?1, ?2, ?3, ?4)",
                                    [.text(document), .integer(u.seq), .real(ts), .text(u.reason)])
                    }
                    for (table, columns) in Self.copiedTables {
                        if let lost = copyTable(table, columns: columns, into: out) {
                            try out.run("INSERT INTO quarantine(kind, doc, seq, ts, reason) VALUES ('unreadable', ?1, 0, ?2, ?3)",
                                        [.text(document), .real(ts), .text("\(table) could not be read in full: \(lost)")])
                        }
                    }
                    // Seqs are never handed out twice, also not those of rows that were lost.
                    try out.run("UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'journal'", [.integer(highest)])
                    if out.changes == 0 {
                        try out.run("INSERT INTO sqlite_sequence(name, seq) VALUES ('journal', ?1)", [.integer(highest)])
                    }
                } catch {
                    throw failure(error)
                }
            }
            target.close()
            unlink(StoreLock.lockPath(for: fresh))
            // Swap: the damaged file and its WAL go aside together (a WAL left behind would be
            // replayed into the new file).
            db?.close()
            db = nil
            for suffix in ["", "-wal", "-shm"] where FileInfo.size(path + suffix) != nil {
                if rename(path + suffix, damaged + suffix) != 0 {
                    throw .damaged(path: path, reason: "could not move the damaged file aside (errno \(errno)); the rebuilt copy is at \(fresh)")
                }
            }
            // Its WAL first (closing normally checkpoints and removes it): never a file without it.
            for suffix in ["-wal", "-shm"] where FileInfo.size(fresh + suffix) != nil {
                _ = rename(fresh + suffix, path + suffix)
            }
            if rename(fresh, path) != 0 {
                throw .damaged(path: path, reason: "could not move the rebuilt copy \(fresh) into place (errno \(errno)); the damaged file is at \(damaged)")
            }
        } catch {
            target.close()
            unlink(StoreLock.lockPath(for: fresh))
            throw error
        }
        do {
            let db = try SQLiteConnection(path: path, mode: .readWrite)
            try db.setBusyTimeout(milliseconds: options.busyTimeoutMilliseconds)
            self.db = db
        } catch {
            throw failure(error)
        }
        damage = nil
        try configure()
        try refreshState()
        return damaged
    }

    /// Tables copied as they are (row by row where a damaged page stops a scan).
    static let copiedTables: [(String, String)] = [
        ("snapshots", "id, doc, upto_seq, ts, state_vector, raw_len, crc32, flags, payload"),
        ("meta", "key, value"),
        ("versions", "doc, name, seq, ts"),
        ("quarantine", "id, kind, doc, seq, ts, reason, row_ts, origin, flags, raw_len, crc32, prev_seq, state_vector, raw_row"),
    ]

    /// Copies `table` into `out`; returns what could not be read, if anything. Tables with an
    /// integer key are probed key by key past a damaged page.
    private func copyTable(_ table: String, columns: String, into out: SQLiteConnection) -> String? {
        guard let db else { return "the connection is closed" }
        let n = columns.split(separator: ",").count
        let placeholders = (1...n).map { "?\($0)" }.joined(separator: ", ")
        let insert = "INSERT OR IGNORE INTO \(table)(\(columns)) VALUES (\(placeholders))"
        func copy(_ s: SQLiteStatement) throws(SQLiteError) {
            try out.run(insert, (0..<Int32(n)).map { s.value($0) })
        }
        var lastID: Int64 = 0
        do {
            let s = try db.prepare("SELECT \(columns) FROM \(table)\(columns.hasPrefix("id,") ? " ORDER BY id" : "")")
            while try s.step() {
                try copy(s)
                if columns.hasPrefix("id,") { lastID = s.int64(0) }
            }
            return nil
        } catch {
            guard columns.hasPrefix("id,"),
                  let top = (try? db.scalar("SELECT seq FROM sqlite_sequence WHERE name = ?1", [.text(table)]))?.flatMap({ $0.int64 }),
                  top > lastID else {
                return error.message
            }
            var lost = 0
            if let probe = try? db.prepare("SELECT \(columns) FROM \(table) WHERE id = ?1") {
                for id in (lastID + 1)...top {
                    probe.reset()
                    do {
                        try probe.bind(1, id)
                        if try probe.step() { try copy(probe) }
                    } catch {
                        lost += 1
                    }
                }
            }
            return lost == 0 ? nil : "\(lost) row(s) unreadable (\(error.message))"
        }
    }
}
