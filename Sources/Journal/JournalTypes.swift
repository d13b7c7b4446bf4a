import CRDT

/// When a commit is on disk. Both use SQLite's WAL; neither can corrupt the store on a crash.
public enum Durability: Sendable, Equatable {
    /// fsync at every commit (`PRAGMA synchronous=FULL`): a returned seq survives power loss.
    case full
    /// fsync at checkpoints only (`synchronous=NORMAL`): a returned seq survives a process
    /// crash, but the last commits may be lost on power loss.
    case normal
}

/// How a journal is opened. Writers hold the store's lock (one at a time); readers take no lock,
/// so they work while a writer is active (SQLite's WAL gives them a consistent snapshot).
public enum JournalAccess: Sendable, Equatable {
    /// Reads and writes; holds the store's writer lock until `close` (or deinit).
    case write
    /// Reads only; no lock, every write fails with `.readOnly`.
    case read
}

/// Settings of a journal: durability, when compaction is due, history retention and the lock wait.
public struct JournalOptions: Sendable, Equatable {
    /// When a commit is on disk; `.full` (fsync at every commit) by default.
    public var durability: Durability = .full
    /// Compact when this many rows follow the last snapshot.
    public var compactAfterRows: Int = 500
    /// Compact when the tail's raw bytes reach the last snapshot's raw bytes (when there is one).
    public var compactWhenTailBytesExceedSnapshot = true
    /// Compact when the oldest tail row is older than this (seconds).
    public var compactAfterSeconds: Double = 600
    /// Keep rows and older snapshots after compaction (history); otherwise they are deleted.
    public var retainHistory: Bool = true
    /// How long a writer waits for another connection's write lock before failing (SQLITE_BUSY).
    public var busyTimeoutMilliseconds: Int32 = 5000
    /// Failures injected into appends (tests only; nil in every real configuration).
    package var faults: JournalFaults?
    /// The defaults: full durability, compaction after 500 tail rows, 600 s or a tail as large as the
    /// snapshot, history retained, a 5 s busy timeout.
    public init() {}
}

/// Why a journal operation failed. Every throwing `Journal` and `JournaledDocument` API throws this.
public enum JournalError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file exists but is not a ysync journal (or not a database at all).
    case notAStore(path: String, reason: String)
    /// `open` without `create` and the file is absent.
    case missingStore(path: String)
    /// SQLite returned an error `code` (with its message) during `operation`.
    case sqlite(code: Int32, message: String, operation: String)
    /// The store was written by a newer ysync whose schema version this build does not know.
    case schemaTooNew(found: Int32, supported: Int32)
    /// `append` refuses an update that does not decode.
    case badUpdate(DecodingError)
    /// No named version with this name (see `addVersion`).
    case noSuchVersion(String)
    /// A seq past the last one of the document.
    case noSuchSeq(Int64)
    /// `addVersion` with a name the document already has.
    case versionExists(String)
    /// History before `oldestAvailable` was compacted away (retainHistory off), or is damaged.
    case historyUnavailable(seq: Int64, oldestAvailable: Int64?)
    /// The journal was closed.
    case closed
    /// `JournaledDocument.open` with a client id other than the one the store holds.
    case clientIDMismatch(stored: ClientID, requested: ClientID)
    /// A caller error (an empty path or name, a bad client id, ...); the text says which.
    case invalidArgument(String)
    /// SQLite reports the file damaged (SQLITE_CORRUPT or SQLITE_NOTADB, e.g. a file cut short):
    /// reads salvage what they can, writes are refused until `repair()` rebuilds the file. Also
    /// thrown by a `repair` that could not swap the rebuilt copy in (the reason says where both are).
    case damaged(path: String, reason: String)
    /// A writing open found the store's writer lock held (by another process, or by another
    /// open in this one): one writer per store, so that no (client, clock) is written twice.
    case locked(path: String, holder: StoreLockHolder)
    /// A write through a journal opened with `access: .read`.
    case readOnly(path: String)

    /// One line for a person, naming the path, seq or version involved.
    public var description: String {
        switch self {
        case let .notAStore(path, reason): return "\(path) is not a ysync store: \(reason)"
        case let .missingStore(path): return "no store at \(path) (create it first)"
        case let .sqlite(code, message, operation): return "SQLite error \(code): \(message) (during \(operation))"
        case let .schemaTooNew(found, supported):
            return "store schema version \(found) is newer than this program supports (\(supported)); upgrade ysync"
        case let .badUpdate(e): return "update does not decode: \(e)"
        case let .noSuchVersion(name): return "no version named \"\(name)\""
        case let .noSuchSeq(seq): return "no seq \(seq) in this document's journal"
        case let .versionExists(name): return "a version named \"\(name)\" already exists"
        case let .historyUnavailable(seq, oldest):
            if let oldest {
                return "history at seq \(seq) is not available: the oldest recoverable state is seq \(oldest) (earlier rows were compacted away or are damaged)"
            }
            return "history at seq \(seq) is not available: earlier rows were compacted away or are damaged"
        case .closed: return "the journal is closed"
        case let .clientIDMismatch(stored, requested):
            return "the store's client id is \(stored), not \(requested)"
        case let .invalidArgument(what): return what
        case let .damaged(path, reason): return "\(path) is damaged: \(reason)"
        case let .locked(path, holder): return "store \(path) is in use by \(holder); close it or wait"
        case let .readOnly(path): return "\(path) was opened for reading only"
        }
    }

    init(_ e: SQLiteError) {
        self = .sqlite(code: e.code, message: e.message, operation: e.operation)
    }
}

/// Something that could not be loaded. Kinds:
/// - "row": a journal row whose CRC, LZ4 block, flags or update decoding fails (`seq` = its seq);
/// - "snapshot": a snapshot that fails the same checks (`seq` = its upto_seq);
/// - "missing": rows absent from the journal (deleted, or lost): `seq` = a seq known missing;
/// - "unreadable": rows SQLite cannot read (damaged pages): `seq` = first seq of the range;
/// - "sqlite": SQLite's own integrity check failed (`seq` = 0).
public struct QuarantinedEntry: Sendable, Equatable, CustomStringConvertible {
    /// "row", "snapshot", "missing", "unreadable" or "sqlite" (see the type's comment).
    public let kind: String
    /// The seq the entry is about; its meaning depends on `kind`.
    public let seq: Int64
    /// What check failed, for a person.
    public let reason: String

    /// Makes an entry; `kind` should be one of the kinds listed on the type.
    public init(kind: String, seq: Int64, reason: String) {
        self.kind = kind
        self.seq = seq
        self.reason = reason
    }

    /// "kind seq: reason".
    public var description: String { "\(kind) \(seq): \(reason)" }
}

/// What loading a journal into a document found: where it started, how much it applied, and what
/// could not be loaded (the document is then missing that content).
public struct LoadReport: Sendable {
    /// upto_seq of the snapshot the load started from (nil: from the first row).
    public let snapshotSeq: Int64?
    /// Journal rows applied on top of the snapshot (or from the first row).
    public let rowsApplied: Int
    /// Problems found by this load, still in place (`repair()` moves them to quarantine).
    public let quarantined: [QuarantinedEntry]
    /// The last seq of the document the load reached (0 for an empty journal).
    public let lastSeq: Int64
    /// Entries of this document already in the quarantine table (moved there by `repair()`):
    /// their content is not in the document either.
    public let previouslyQuarantined: Int
    /// The document holds updates whose dependencies are missing (see `YDoc.hasPending`).
    public let hasPending: Bool

    /// Everything journaled was loaded.
    public var isComplete: Bool { quarantined.isEmpty && previouslyQuarantined == 0 }
}

/// One journal row as `Journal.entries(after:limit:)` lists it (metadata only, not the update).
public struct JournalEntryInfo: Sendable, Equatable {
    /// The row's seq: its position in the document's journal, from 1, increasing.
    public let seq: Int64
    /// When the row was committed, in seconds since 1970.
    public let time: Double  // unix seconds
    /// The origin label the update was appended with, if any.
    public let origin: String?
    /// Size of the update (v1 bytes) before compression.
    public let rawBytes: Int
    /// Size of the payload as stored (after LZ4 when `compressed`).
    public let storedBytes: Int
    /// Whether the payload is stored LZ4-compressed.
    public let compressed: Bool
}

/// Sizes and positions of one document's journal, as `Journal.stats()` reports them.
public struct JournalStats: Sendable {
    /// Rows of this document in the journal (the tail and, with history retained, older rows).
    public let rows: Int
    /// Sum of the rows' update sizes before compression.
    public let rawBytes: Int
    /// Sum of the rows' payload sizes as stored.
    public let storedBytes: Int
    /// Snapshots of this document.
    public let snapshots: Int
    /// upto_seq of the newest snapshot (nil: none yet).
    public let lastSnapshotSeq: Int64?
    /// When the newest snapshot was written, in unix seconds.
    public let lastSnapshotTime: Double?
    /// The last seq assigned to this document (0 for an empty journal).
    public let lastSeq: Int64
    /// Rows after the newest snapshot: what a load applies on top of it.
    public let tailRows: Int
    /// Entries of this document in the quarantine table.
    public let quarantined: Int
    /// The database file plus its WAL.
    public let fileBytes: Int
    /// Size of the newest snapshot's update before compression.
    public let lastSnapshotRawBytes: Int?
    /// Size of the newest snapshot's payload as stored.
    public let lastSnapshotStoredBytes: Int?
    /// Sum of the tail rows' update sizes before compression (compared with the snapshot for compaction).
    public let tailRawBytes: Int
}

/// What `Journal.check()` (or `repair()`) found: how much it read and every problem.
public struct CheckReport: Sendable {
    /// Journal rows read and verified.
    public let rowsChecked: Int
    /// Snapshots read and verified.
    public let snapshotsChecked: Int
    /// Rows, snapshots or ranges that failed a check.
    public let problems: [QuarantinedEntry]
    /// Entries of this document already in quarantine (not problems: `repair` put them there).
    public let previouslyQuarantined: Int
    /// Set by `repair` when SQLite-level damage made it rebuild the file: where the damaged
    /// original was kept.
    public let damagedFileKeptAt: String?
    /// No problems found.
    public var isHealthy: Bool { problems.isEmpty }
}
