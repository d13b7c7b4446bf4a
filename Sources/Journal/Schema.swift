/// The store's schema and its migrations. `PRAGMA user_version` holds the schema version and
/// `PRAGMA application_id` marks the file as ours.
enum Schema {
    /// "ysyn" in ASCII.
    static let applicationID: Int32 = 0x7973_796E
    static var version: Int32 { Int32(migrations.count) }

    /// migrations[i] takes the schema from version i to i + 1. Never edit a shipped one: add.
    static let migrations: [String] = [
        // 1: the journal. seq is AUTOINCREMENT so a seq is never reused, even after the rows
        // ending the table are deleted by compaction. prev_seq chains each row to the previous
        // row of its document, which is how rows deleted from the middle are noticed.
        """
        CREATE TABLE journal(
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            doc TEXT NOT NULL,
            ts REAL NOT NULL,
            origin TEXT,
            flags INTEGER NOT NULL,
            raw_len INTEGER NOT NULL,
            crc32 INTEGER NOT NULL,
            payload BLOB NOT NULL,
            prev_seq INTEGER NOT NULL
        );
        CREATE TABLE snapshots(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            doc TEXT NOT NULL,
            upto_seq INTEGER NOT NULL,
            ts REAL NOT NULL,
            state_vector BLOB NOT NULL,
            raw_len INTEGER NOT NULL,
            crc32 INTEGER NOT NULL,
            flags INTEGER NOT NULL,
            payload BLOB NOT NULL
        );
        CREATE INDEX snapshots_by_doc ON snapshots(doc, upto_seq);
        CREATE TABLE quarantine(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            doc TEXT NOT NULL,
            seq INTEGER NOT NULL,
            ts REAL NOT NULL,
            reason TEXT NOT NULL,
            row_ts REAL,
            origin TEXT,
            flags INTEGER,
            raw_len INTEGER,
            crc32 INTEGER,
            prev_seq INTEGER,
            state_vector BLOB,
            raw_row BLOB
        );
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE versions(
            doc TEXT NOT NULL,
            name TEXT NOT NULL,
            seq INTEGER NOT NULL,
            ts REAL NOT NULL,
            PRIMARY KEY(doc, name)
        );
        """,
    ]

    /// Meta keys the journal itself maintains (per document).
    static func lastSeqKey(_ doc: String) -> String { "journal.last_seq/" + doc }
    static func prunedThroughKey(_ doc: String) -> String { "journal.pruned_through/" + doc }
}
