import CRDT
import CSQLite

/// A problem with the internal address of what `repair` would move.
struct FoundProblem {
    var entry: QuarantinedEntry
    /// `snapshots.id` of a bad snapshot (rows are addressed by seq).
    var snapshotID: Int64?
}

extension Journal {
    /// Verifies the whole document without changing anything: SQLite's own integrity check,
    /// every snapshot and every row (flags, LZ4 block, CRC-32, update decoding) and the row
    /// chain (rows missing from the middle or the end).
    public func check() throws(JournalError) -> CheckReport {
        let (report, _) = try inspect()
        return report
    }

    /// Moves what `check` finds to the quarantine table, with the reason and the original
    /// columns (nothing is deleted), and records missing rows there, all in one transaction.
    /// Afterwards `check` is healthy and loads report the entries as `previouslyQuarantined`.
    /// Returns what was found. Damage SQLite itself reports (unreadable pages, a file cut short)
    /// cannot be moved row by row: the file is rebuilt from what is readable first (see
    /// `CheckReport.damagedFileKeptAt`).
    @discardableResult
    public func repair() throws(JournalError) -> CheckReport {
        var (report, found) = try inspect()
        var kept: String?
        if damage != nil || found.contains(where: { $0.entry.kind == "sqlite" || $0.entry.kind == "unreadable" }) {
            kept = try rebuild()
            (_, found) = try inspect()
        }
        let movable = found.filter { $0.entry.kind == "row" || $0.entry.kind == "snapshot" || $0.entry.kind == "missing" }
        if !movable.isEmpty {
            let ts = now()
            let docName = document
            try transaction { db throws(JournalError) in
                do throws(SQLiteError) {
                    for p in movable {
                        let e = p.entry
                        switch e.kind {
                        case "row":
                            try db.run("""
                                INSERT INTO quarantine(kind, doc, seq, ts, reason, row_ts, origin, flags, raw_len, crc32, prev_seq, raw_row)
                                SELECT 'row', doc, seq, ?2, ?3, ts, origin, flags, raw_len, crc32, prev_seq, payload FROM journal WHERE seq = ?1
                                """, [.integer(e.seq), .real(ts), .text(e.reason)])
                            try db.run("DELETE FROM journal WHERE seq = ?1", [.integer(e.seq)])
                        case "snapshot":
                            guard let id = p.snapshotID else { continue }
                            try db.run("""
                                INSERT INTO quarantine(kind, doc, seq, ts, reason, row_ts, flags, raw_len, crc32, state_vector, raw_row)
                                SELECT 'snapshot', doc, upto_seq, ?2, ?3, ts, flags, raw_len, crc32, state_vector, payload FROM snapshots WHERE id = ?1
                                """, [.integer(id), .real(ts), .text(e.reason)])
                            try db.run("DELETE FROM snapshots WHERE id = ?1", [.integer(id)])
                        default:
                            try db.run("INSERT INTO quarantine(kind, doc, seq, ts, reason) VALUES ('missing', ?1, ?2, ?3, ?4)",
                                       [.text(docName), .integer(e.seq), .real(ts), .text(e.reason)])
                        }
                    }
                } catch {
                    throw failure(error)
                }
            }
            try refreshState()
        }
        hasUnrepairedProblems = movable.count != found.count
        if let kept {
            report = CheckReport(rowsChecked: report.rowsChecked, snapshotsChecked: report.snapshotsChecked,
                                 problems: report.problems, previouslyQuarantined: report.previouslyQuarantined,
                                 damagedFileKeptAt: kept)
        }
        return report
    }

    /// The read-only walk behind `check` and `repair`.
    func inspect() throws(JournalError) -> (CheckReport, [FoundProblem]) {
        var found: [FoundProblem] = []
        // SQLite's structural check first: damage there explains the rest.
        let db = try connection()
        do {
            let s = try db.cached("PRAGMA quick_check")
            defer { s.reset() }
            while try s.step() {
                let line = s.text(0) ?? ""
                if line != "ok" { found.append(FoundProblem(entry: QuarantinedEntry(kind: "sqlite", seq: 0, reason: "SQLite integrity check: \(line)"))) }
            }
        } catch {
            found.append(FoundProblem(entry: QuarantinedEntry(kind: "sqlite", seq: 0, reason: "SQLite integrity check failed: \(error.message)")))
        }
        let quarantine = try quarantineSummary()

        // Snapshots: every one of them, newest first.
        let (snapshots, listProblems) = try listSnapshots(through: .max)
        found += listProblems.map { FoundProblem(entry: $0) }
        var newestValid: Int64 = 0
        for info in snapshots {
            switch try snapshotBytes(info) {
            case let .failure(reason):
                found.append(FoundProblem(entry: QuarantinedEntry(kind: "snapshot", seq: info.upto,
                    reason: "snapshot up to seq \(info.upto): \(reason.text)"), snapshotID: info.id))
            case let .success(bytes):
                do {
                    _ = try UpdateDecoderV1.decode(bytes)
                    newestValid = max(newestValid, info.upto)
                } catch {
                    found.append(FoundProblem(entry: QuarantinedEntry(kind: "snapshot", seq: info.upto,
                        reason: "snapshot up to seq \(info.upto): update does not decode: \(error)"), snapshotID: info.id))
                }
            }
        }

        // Rows: all of them. The first may follow rows a snapshot replaced (history not kept).
        var chain = RowChain(quarantined: quarantine.seqs, base: newestValid)
        var rows = 0
        let unreadable = try scanRows(after: 0, through: .max) { row throws(JournalError) in
            rows += 1
            chain.visit(seq: row.seq, prev: row.prev)
            do {
                _ = try UpdateDecoderV1.decode(try row.payload.decoded())
            } catch let e as PayloadError {
                found.append(FoundProblem(entry: QuarantinedEntry(kind: "row", seq: row.seq, reason: e.description)))
            } catch {
                found.append(FoundProblem(entry: QuarantinedEntry(kind: "row", seq: row.seq, reason: "update does not decode: \(error)")))
            }
        }
        found += unreadable.map { FoundProblem(entry: $0) }
        chain.finish(expectedLast: try expectedLastSeq(through: nil))
        found += chain.problems.map { FoundProblem(entry: $0) }
        found.sort { ($0.entry.seq, $0.entry.kind) < ($1.entry.seq, $1.entry.kind) }
        if !found.isEmpty { hasUnrepairedProblems = true }
        let report = CheckReport(rowsChecked: rows, snapshotsChecked: snapshots.count, problems: found.map(\.entry),
                                 previouslyQuarantined: quarantine.lost, damagedFileKeptAt: nil)
        return (report, found)
    }
}
