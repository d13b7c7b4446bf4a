import CRDT
import CSQLite

/// An append-only, checksummed, LZ4-compressed log of one document's updates in an SQLite file
/// (WAL), with snapshots, compaction, salvage and history. A store may hold several documents
/// (column `doc`); a `Journal` works on one of them.
///
/// Synchronous and not thread-safe: one owner at a time (an actor wraps it where needed).
public final class Journal {
    /// The store's file path (its WAL sits beside it as `<path>-wal`).
    public let path: String
    /// The name of the document this journal reads and writes (the store's `doc` column).
    public let document: String
    /// The options it was opened with.
    public let options: JournalOptions

    /// nil once closed.
    var db: SQLiteConnection?
    /// The document's last assigned seq as this journal knows it (from the file at open, then
    /// from its own appends): what a snapshot of a document kept in step with it covers.
    var lastSeq: Int64 = 0
    /// Figures behind `needsCompaction`, kept up to date without querying.
    var tail = TailState()
    /// A load or check found problems that `repair` has not moved to quarantine yet; compaction
    /// repairs first, so that nothing unread ends up below a snapshot (or deleted with history).
    var hasUnrepairedProblems = false
    /// Set when the file could only be opened for salvage (it is shorter than its header says):
    /// reads work, writes are refused until `repair()` rebuilds the file.
    var damage: String?
    /// How it was opened (`.read`: writes fail with `.readOnly`).
    public let access: JournalAccess
    /// The store's writer lock, held by a `.write` journal until `close`.
    var writerLock: StoreLock?
    /// Set while `open` migrates an old schema (allowed for readers too: it is the file's format,
    /// done inside SQLite's write lock, not a change of content).
    private var migrating = false
    /// Source of timestamps (tests substitute it).
    var now: () -> Double = WallClock.now

    struct TailState {
        var snapshotSeq: Int64?
        var snapshotRawBytes = 0
        var rows = 0
        var rawBytes = 0
        var oldestTime: Double?
    }

    private init(path: String, document: String, options: JournalOptions, access: JournalAccess, db: SQLiteConnection) {
        self.path = path
        self.access = access
        self.document = document
        self.options = options
        self.db = db
    }

    deinit {
        db?.close()
        writerLock?.release()
    }

    /// Opens (or with `create`, creates) the store at `path`. Fails with `.missingStore` when it
    /// is absent, `.notAStore` when the file is something else, `.schemaTooNew` when a newer
    /// ysync wrote it. Older schemas are migrated. Opening reads; it repairs nothing.
    ///
    /// With `access: .write` (the default) the journal takes the store's writer lock (the side
    /// file `PATH.lock`) and holds it until `close` or deinit: a second writing open of the same
    /// store, from another process or from this one, fails at once with `.locked` naming the
    /// holder's pid and command line. `.read` takes no lock and refuses writes with `.readOnly`.
    public static func open(path: String, create: Bool = false, options: JournalOptions = .init(),
                            document: String = "main", access: JournalAccess = .write) throws(JournalError) -> Journal {
        guard !path.isEmpty else { throw .invalidArgument("empty store path") }
        guard !document.isEmpty else { throw .invalidArgument("empty document name") }
        if create && access == .read { throw .invalidArgument("a store cannot be created for reading only") }
        if FileInfo.isDirectory(path) { throw .notAStore(path: path, reason: "it is a directory") }
        let existed = FileInfo.size(path) != nil
        if !existed && !create { throw .missingStore(path: path) }
        // (An empty file with a non-empty WAL beside it is a store whose pages are all in the WAL.)
        if existed && FileInfo.size(path) == 0 && (FileInfo.size(path + "-wal") ?? 0) == 0 && !create {
            throw .notAStore(path: path, reason: "the file is empty")
        }
        // The lock before the first write (creating the file is one).
        let lock = access == .write ? try StoreLock.acquire(storePath: path) : nil
        let db: SQLiteConnection
        do {
            db = try SQLiteConnection(path: path, mode: create ? .readWriteCreate : .readWrite)
            try db.setBusyTimeout(milliseconds: options.busyTimeoutMilliseconds)
        } catch {
            throw error.isDamage ? .notAStore(path: path, reason: error.message) : JournalError(error)
        }
        let journal = Journal(path: path, document: document, options: options, access: access, db: db)
        journal.writerLock = lock
        do {
            try journal.prepareSchema(create: create)
            try journal.configure()
            try journal.refreshState()
        } catch {
            journal.close()
            throw error
        }
        return journal
    }

    /// Closes the connection (SQLite checkpoints the WAL when the last connection closes) and
    /// releases the writer lock.
    public func close() {
        db?.close()
        db = nil
        writerLock?.release()
        writerLock = nil
    }

    /// Frees the pages SQLite keeps cached for this connection. A store stays open for as long
    /// as its room is loaded and then only appends, so what a load or a compaction read is dead
    /// weight (up to SQLite's 2 MiB cache per connection).
    public func releaseCachedPages() {
        db?.releaseCachedPages()
    }

    // MARK: - helpers

    func connection() throws(JournalError) -> SQLiteConnection {
        guard let db, db.isOpen else { throw .closed }
        return db
    }

    /// Runs `body` with the connection, turning SQLite errors into `JournalError.sqlite`.
    func sql<R>(_ body: (SQLiteConnection) throws(SQLiteError) -> R) throws(JournalError) -> R {
        let db = try connection()
        do { return try body(db) } catch { throw failure(error) }
    }

    /// A SQLite error as the caller sees it: damage to the file (SQLITE_CORRUPT, SQLITE_NOTADB)
    /// becomes `.damaged`, which says what to do about it.
    func failure(_ e: SQLiteError) -> JournalError {
        let primary = e.primaryCode
        if primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB {
            return .damaged(path: path, reason: "\(e.message) (during \(e.operation)); run repair to rebuild it")
        }
        return JournalError(e)
    }

    /// Refuses writes to a file opened for salvage.
    func requireWritable() throws(JournalError) {
        if access == .read && !migrating { throw .readOnly(path: path) }
        if let damage { throw .damaged(path: path, reason: damage + "; run repair to rebuild it") }
    }

    /// One IMMEDIATE transaction around `body` (refused on a file opened for salvage).
    func transaction<R>(_ body: (SQLiteConnection) throws(JournalError) -> R) throws(JournalError) -> R {
        try requireWritable()
        let db = try connection()
        return try db.transaction(mapError: { failure($0) }) { () throws(JournalError) -> R in try body(db) }
    }

    // MARK: - schema

    private static func identify(_ db: SQLiteConnection) throws(SQLiteError) -> (appID: Int64, version: Int64, tables: [String]) {
        (try db.scalar("PRAGMA application_id")?.int64 ?? 0, try db.scalar("PRAGMA user_version")?.int64 ?? 0,
         try tableNames(db))
    }

    private func prepareSchema(create: Bool) throws(JournalError) {
        let db = try connection()
        let appID: Int64, version: Int64, tables: [String]
        do {
            (appID, version, tables) = try Self.identify(db)
        } catch let first where first.primaryCode == SQLITE_CORRUPT {
            // SQLite refuses a file shorter than its header says (cut short) unless the schema
            // is "writable"; then it reads the pages that are left. Only reads follow.
            do {
                try db.execute("PRAGMA writable_schema=ON")
                (appID, version, tables) = try Self.identify(db)
            } catch {
                throw .notAStore(path: path, reason: first.message)
            }
            damage = "the file is shorter than its header says (truncated?): \(first.message)"
        } catch {
            if error.isDamage { throw .notAStore(path: path, reason: error.message) }
            throw failure(error)
        }
        if appID != Int64(Schema.applicationID) {
            if appID != 0 {
                throw .notAStore(path: path, reason: "an SQLite database of another application (application_id \(hex32(UInt32(truncatingIfNeeded: appID))))")
            }
            if !tables.isEmpty {
                throw .notAStore(path: path, reason: "an SQLite database without the journal schema (tables: \(tables.joined(separator: ", ")))")
            }
            if !create { throw .notAStore(path: path, reason: "an empty SQLite database") }
        }
        if version > Int64(Schema.version) {
            throw .schemaTooNew(found: Int32(clamping: version), supported: Schema.version)
        }
        if damage != nil { return }  // salvage: no write of any kind
        // WAL before the first write: the schema is then created through the WAL too.
        try setJournalModeWAL()
        if version < Int64(Schema.version) {
            migrating = true
            defer { migrating = false }
            try migrate()
        }
    }

    private static func tableNames(_ db: SQLiteConnection) throws(SQLiteError) -> [String] {
        let s = try db.cached("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        defer { s.reset() }
        var names: [String] = []
        while try s.step() { names.append(s.text(0) ?? "") }
        return names
    }

    private func setJournalModeWAL() throws(JournalError) {
        let mode = try sql { db throws(SQLiteError) in try db.scalar("PRAGMA journal_mode=WAL")?.string }
        if mode?.lowercased() != "wal" {
            throw .sqlite(code: SQLITE_ERROR, message: "journal_mode is \(mode ?? "unknown"), WAL could not be enabled",
                          operation: "PRAGMA journal_mode=WAL")
        }
    }

    private func migrate() throws(JournalError) {
        try transaction { db throws(JournalError) in
            // Re-read inside the write lock: another process may have migrated meanwhile.
            let current = Int(try sql { db throws(SQLiteError) in try db.scalar("PRAGMA user_version")?.int64 ?? 0 })
            guard current < Schema.migrations.count else { return }
            do throws(SQLiteError) {
                for v in current..<Schema.migrations.count { try db.execute(Schema.migrations[v]) }
                try db.execute("PRAGMA application_id = \(Schema.applicationID)")
                try db.execute("PRAGMA user_version = \(Schema.version)")
            } catch {
                throw failure(error)
            }
        }
    }

    func configure() throws(JournalError) {
        if damage != nil { return }
        let sync = options.durability == .full ? "FULL" : "NORMAL"
        try sql { db throws(SQLiteError) in try db.execute("PRAGMA synchronous=\(sync)") }
    }

    /// Reads the figures behind `lastSeq` and `needsCompaction`. A damaged file does not stop
    /// the open: the figures stay partial and `load`/`check` report the damage.
    func refreshState() throws(JournalError) {
        let db = try connection()
        do {
            var last = try metaInt(Schema.lastSeqKey(document)) ?? 0
            let snap = try db.cached(
                "SELECT upto_seq, raw_len FROM snapshots WHERE doc = ?1 ORDER BY upto_seq DESC, id DESC LIMIT 1")
            defer { snap.reset() }
            try snap.bind(1, document)
            var t = TailState()
            if try snap.step() {
                t.snapshotSeq = snap.int64(0)
                t.snapshotRawBytes = Int(snap.int64(1))
            }
            snap.reset()
            let s = try db.cached(
                "SELECT count(*), coalesce(sum(raw_len), 0), min(ts), coalesce(max(seq), 0) FROM journal WHERE doc = ?1 AND seq > ?2")
            defer { s.reset() }
            try s.bind(1, document)
            try s.bind(2, t.snapshotSeq ?? 0)
            if try s.step() {
                t.rows = Int(s.int64(0))
                t.rawBytes = Int(s.int64(1))
                t.oldestTime = s.isNull(2) ? nil : s.double(2)
                last = max(last, s.int64(3))
            }
            last = max(last, t.snapshotSeq ?? 0)
            tail = t
            lastSeq = last
        } catch {
            if !error.isDamage { throw JournalError(error) }
            // Reads go on (load and check salvage what they can); writes wait for repair.
            hasUnrepairedProblems = true
            if damage == nil { damage = "SQLite cannot read the file: \(error.message)" }
        }
    }

    // MARK: - meta

    /// A value stored with the store (e.g. "client_id"). Keys starting with "journal." are the
    /// journal's own.
    public func meta(_ key: String) throws(JournalError) -> String? {
        try sql { db throws(SQLiteError) in try db.scalar("SELECT value FROM meta WHERE key = ?1", [.text(key)])?.string }
    }

    /// Stores `value` under `key`, replacing an older value. Throws `.readOnly` on a read-only journal.
    public func setMeta(_ key: String, _ value: String) throws(JournalError) {
        try requireWritable()
        return try sql { db throws(SQLiteError) in
            try db.run("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       [.text(key), .text(value)])
        }
    }

    func metaInt(_ key: String) throws(SQLiteError) -> Int64? {
        guard let db else { throw SQLiteError(code: SQLITE_MISUSE, message: "closed", operation: "meta") }
        return try db.scalar("SELECT value FROM meta WHERE key = ?1", [.text(key)])?.int64
    }

    func setMetaInt(_ key: String, _ value: Int64) throws(SQLiteError) {
        guard let db else { throw SQLiteError(code: SQLITE_MISUSE, message: "closed", operation: "meta") }
        try db.run("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                   [.text(key), .text(String(value))])
    }
}

/// Not Sendable: it owns an SQLite connection used without locking.
@available(*, unavailable)
extension Journal: Sendable {}
