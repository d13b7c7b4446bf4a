import CLISupport
import ArgumentParser
import CRDT
import Journal

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The local replica: a store is one journal file (see docs/JOURNAL-API.md) holding one document;
// the commands edit its root text. Positions and counts are Unicode characters (code points).
// Every command checks its input before it writes: on an error nothing is written.

/// The arguments every store command takes.
struct StoreOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The store file (created by 'ycli init').", valueName: "STORE"))
    var store: String

    @Option(name: .customLong("text"),
            help: ArgumentHelp("The root text to use (default: the one the store was created with, normally 'codemirror').", valueName: "NAME"))
    var textName: String?
}

/// The store argument alone, for commands that do not use the text.
struct StorePath: ParsableArguments {
    @Argument(help: ArgumentHelp("The store file (created by 'ycli init').", valueName: "STORE"))
    var store: String
}

/// Meta keys the CLI keeps in the store.
enum StoreMeta {
    static let rootText = "root_text"
    static let clientID = "client_id"
    static let defaultRootText = "codemirror"
}

/// A user-facing message for a journal error about the store at `path`.
func storeError(_ e: JournalError, _ path: String) -> CLIError {
    switch e {
    case .missingStore:
        return CLIError("no store at \(path) (create one with 'ycli init \(path)')")
    case .notAStore:
        return CLIError(e.description)
    case .locked:
        // "store X is in use by process N (ycli sync --watch); close it or wait".
        return CLIError(e.description, code: .storeLocked)
    default:
        return CLIError("\(path): \(e.description)")
    }
}

/// Runs a journal call, turning its error into a clean message.
func journalCall<R>(_ path: String, _ body: () throws(JournalError) -> R) throws -> R {
    do {
        return try body()
    } catch {
        throw storeError(error, path)
    }
}

/// Checks that `path` names an existing, readable file before anything opens it, so that the
/// messages are plain and no command creates a store by accident.
func checkStoreFile(_ path: String) throws {
    var st = stat()
    if stat(path, &st) != 0 {
        if errno == ENOENT || errno == ENOTDIR { throw CLIError("no store at \(path) (create one with 'ycli init \(path)')") }
        throw CLIError("cannot access \(path): \(String(cString: strerror(errno)))")
    }
    if (st.st_mode & S_IFMT) == S_IFDIR { throw CLIError("\(path) is a directory, not a store") }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw CLIError("cannot read \(path): \(String(cString: strerror(errno)))") }
    close(fd)
}

/// An open store: the journaled document and the root text the command works on.
final class StoreSession {
    let path: String
    let replica: JournaledDocument
    let textName: String

    var doc: YDoc { replica.doc }
    var journal: Journal { replica.journal }
    var text: YText { doc.getText(textName) }

    private init(path: String, replica: JournaledDocument, textName: String) {
        self.path = path
        self.replica = replica
        self.textName = textName
    }

    /// Opens the store and loads its document, warning about anything the load could not read.
    /// A writer holds the journal's writer lock until it exits (one writer per store: another
    /// writer fails at once, naming this process); a reader takes no lock.
    static func open(_ options: StoreOptions, writing: Bool) throws -> StoreSession {
        let path = options.store
        try checkStoreFile(path)
        let access: JournalAccess = writing ? .write : .read
        let replica = try Progress.run("loading \(path)") {
            try journalCall(path) { () throws(JournalError) in try JournaledDocument.open(path: path, access: access) }
        }
        let name: String
        if let given = options.textName {
            name = given
        } else {
            name = try journalCall(path) { () throws(JournalError) in try replica.journal.meta(StoreMeta.rootText) } ?? StoreMeta.defaultRootText
        }
        let session = StoreSession(path: path, replica: replica, textName: name)
        session.warnAboutLoad()
        return session
    }

    private func warnAboutLoad() {
        let report = replica.loadReport
        if !report.quarantined.isEmpty {
            let n = report.quarantined.count
            var message = "ycli: warning: \(n) journal entr\(n == 1 ? "y" : "ies") of \(path) could not be loaded; everything else was"
            if report.hasPending { message += " (later changes that build on \(n == 1 ? "it" : "them") wait)" }
            Console.err(message + ". See 'ycli journal check \(path)'.\n")
        } else if report.hasPending {
            Console.err("ycli: warning: the document holds changes that wait for updates it does not have (import them)\n")
        }
    }

    /// Runs `body` as one journaled edit; returns the new seq (nil: nothing changed).
    func edit(origin: String, _ body: (YDoc) throws -> Void) throws -> Int64? {
        let seq: Int64?
        do {
            seq = try replica.edit(origin: origin, body)
        } catch let e as JournalError {
            throw storeError(e, path)
        }
        try compactIfNeeded()
        return seq
    }

    /// Applies an update received from elsewhere and journals what it changed.
    func apply(_ update: [UInt8], origin: String) throws -> Int64? {
        try journalCall(path) { () throws(JournalError) in try replica.apply(update, origin: origin) }
    }

    func compactIfNeeded() throws {
        try Progress.run("compacting \(path)") {
            try journalCall(path) { () throws(JournalError) in try replica.compactIfNeeded() }
        }
    }

    /// The store's client id (as recorded in the store, else the document's).
    var clientID: ClientID {
        if let s = try? journal.meta(StoreMeta.clientID), let id = ClientID(s) { return id }
        return doc.clientID
    }

    func close() { journal.close() }
}

/// `{"<client>": clock, ...}`, clients ascending.
func stateVectorJSON(_ sv: StateVector) -> JSON {
    .object(sv.clocks.sorted { $0.key < $1.key }.map { (String($0.key), JSON.uint(UInt64($0.value))) })
}

/// `client:clock client:clock ...`, clients ascending.
func stateVectorText(_ sv: StateVector) -> String {
    if sv.isEmpty { return "(empty)" }
    return sv.clocks.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
}

// MARK: - init

struct StoreInit: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new, empty store.",
        discussion: """
        STORE must not exist yet. The store remembers its client id (random unless --client-id is given) and its root text (--text, default 'codemirror'); later commands use both. --json prints {"store", "clientID", "rootText"}.
        """
    )

    @OptionGroup var options: StoreOptions

    @Option(name: .customLong("client-id"), help: ArgumentHelp("Client id of this replica, 1...4294967295 (a uint32, as Yjs uses; random when omitted).", valueName: "N"))
    var clientID: UInt64?

    @Flag(help: "Print a JSON object.")
    var json = false

    func validate() throws {
        if let clientID, clientID == 0 || clientID > UInt64(UInt32.max) { throw ValidationError("--client-id must be between 1 and 4294967295") }
        if let name = options.textName, name.isEmpty { throw ValidationError("--text needs a non-empty name") }
    }

    func run() throws {
        let path = options.store
        var st = stat()
        if lstat(path, &st) == 0 { throw CLIError("\(path) already exists; nothing written") }
        let parent = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        if !parent.isEmpty && (stat(parent, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR) {
            throw CLIError("cannot create \(path): there is no directory \(parent)")
        }
        let replica = try journalCall(path) { () throws(JournalError) in
            try JournaledDocument.open(path: path, create: true, clientID: clientID)
        }
        let name = options.textName ?? StoreMeta.defaultRootText
        try journalCall(path) { () throws(JournalError) in try replica.journal.setMeta(StoreMeta.rootText, name) }
        let id = (try? replica.journal.meta(StoreMeta.clientID)).flatMap { $0.flatMap { ClientID($0) } } ?? replica.doc.clientID
        replica.journal.close()
        if json {
            Console.out(JSON.object([("store", .string(path)), ("clientID", .uint(id)), ("rootText", .string(name))]).rendered() + "\n")
        } else {
            Console.out("created \(path) (client id \(id), root text '\(name)')\n")
        }
    }
}

// MARK: - cat

struct StoreCat: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Print the text of a store.",
        discussion: """
        Prints the text exactly as it is (no newline is added). With --json prints {"text": String, "characters": Int (code points), "utf16Length": Int, "seq": Int (the last journal seq)}.
        """
    )

    @OptionGroup var options: StoreOptions

    @Flag(help: "Print a JSON object instead of the bare text.")
    var json = false

    func run() throws {
        let s = try StoreSession.open(options, writing: false)
        defer { s.close() }
        let text = s.text.string
        if json {
            Console.out(JSON.object([
                ("text", .string(text)),
                ("characters", .int(s.text.codePointCount)),
                ("utf16Length", .int(s.text.length)),
                ("seq", .int(s.replica.loadReport.lastSeq)),
            ]).rendered() + "\n")
        } else {
            Console.out(text)
        }
    }
}

// MARK: - status

struct StoreStatus: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a store's client id, state vector, journal figures and health.",
        discussion: """
        --json prints one object: {"store", "document", "rootText", "clientID", "stateVector": {"<client>": clock}, "characters", "utf16Length", "lastSeq", "rows", "tailRows" (rows after the last snapshot), "rawBytes", "storedBytes" (all rows, uncompressed and as stored), "fileBytes" (database plus WAL), "snapshots", "lastSnapshot": {"seq", "time", "rawBytes", "storedBytes"} or null, "quarantined" (entries moved to quarantine by 'journal repair'), "loadProblems" (entries this load could not read), "pending" (changes waiting for missing updates), "unsyncedChanges" (own changes no peer has confirmed: see 'ycli sync')}.
        """
    )

    @OptionGroup var options: StoreOptions

    @Flag(help: "Print a JSON object.")
    var json = false

    func run() throws {
        let s = try StoreSession.open(options, writing: false)
        defer { s.close() }
        let stats = try journalCall(s.path) { () throws(JournalError) in try s.journal.stats() }
        let sv = s.doc.stateVector
        let characters = s.text.codePointCount
        let problems = s.replica.loadReport.quarantined.count
        let pending = s.doc.hasPending
        if json {
            var snapshot: JSON = .null
            if let seq = stats.lastSnapshotSeq {
                snapshot = .object([
                    ("seq", .int(seq)),
                    ("time", stats.lastSnapshotTime.map { .string(ISOTime.format($0)) } ?? .null),
                    ("rawBytes", stats.lastSnapshotRawBytes.map { .int($0) } ?? .null),
                    ("storedBytes", stats.lastSnapshotStoredBytes.map { .int($0) } ?? .null),
                ])
            }
            Console.out(JSON.object([
                ("store", .string(s.path)),
                ("document", .string(s.journal.document)),
                ("rootText", .string(s.textName)),
                ("clientID", .uint(s.clientID)),
                ("stateVector", stateVectorJSON(sv)),
                ("characters", .int(characters)),
                ("utf16Length", .int(s.text.length)),
                ("lastSeq", .int(stats.lastSeq)),
                ("rows", .int(stats.rows)),
                ("tailRows", .int(stats.tailRows)),
                ("rawBytes", .int(stats.rawBytes)),
                ("storedBytes", .int(stats.storedBytes)),
                ("fileBytes", .int(stats.fileBytes)),
                ("snapshots", .int(stats.snapshots)),
                ("lastSnapshot", snapshot),
                ("quarantined", .int(stats.quarantined)),
                ("loadProblems", .int(problems)),
                ("pending", .bool(pending)),
                ("unsyncedChanges", .int(unsyncedChanges(s))),
            ]).rendered(pretty: true, prettyDepth: 1) + "\n")
            return
        }
        var ratio = ""
        if stats.rawBytes > 0 { ratio = " (" + formatFixed(100 * Double(stats.storedBytes) / Double(stats.rawBytes), 1) + "% of raw)" }
        var snapshot = "none"
        if let seq = stats.lastSnapshotSeq {
            snapshot = "seq \(seq)"
            if let t = stats.lastSnapshotTime { snapshot += " at " + ISOTime.format(t) }
            if let raw = stats.lastSnapshotRawBytes { snapshot += ", \(raw) bytes raw" }
            if let stored = stats.lastSnapshotStoredBytes { snapshot += ", \(stored) stored" }
        }
        var health = plural(stats.quarantined, "entry", "entries") + " in quarantine"
        if problems > 0 { health += ", \(plural(problems, "entry", "entries")) unreadable now (run 'ycli journal check')" }
        Console.out(table([
            ("store", s.path),
            ("root text", s.textName),
            ("client id", String(s.clientID)),
            ("state vector", stateVectorText(sv)),
            ("text", "\(plural(characters, "character")) (\(s.text.length) UTF-16 units)"),
            ("last seq", String(stats.lastSeq)),
            ("rows", "\(stats.rows) (\(stats.tailRows) after the last snapshot)"),
            ("bytes", "\(stats.rawBytes) raw, \(stats.storedBytes) stored\(ratio); file \(stats.fileBytes)"),
            ("snapshots", "\(stats.snapshots); last: \(snapshot)"),
            ("quarantined", health),
            ("pending", pending ? "yes (changes wait for missing updates)" : "no"),
            ("unsynced", "\(unsyncedChanges(s)) own changes not confirmed by a peer"),
        ]))
    }
}

// MARK: - log

struct StoreLog: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "List the journal's rows: seq, time, origin and sizes.",
        discussion: """
        Oldest first. --json prints an array of {"seq", "time" (ISO-8601, UTC), "unixTime", "origin" (or null), "rawBytes", "storedBytes", "compressed"}.
        """
    )

    @OptionGroup var options: StorePath

    @Option(help: ArgumentHelp("Only rows after this seq.", valueName: "SEQ"))
    var after: Int64 = 0

    @Option(help: ArgumentHelp("At most this many rows.", valueName: "N"))
    var limit: Int?

    @Flag(help: "Print a JSON array.")
    var json = false

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
        if after < 0 { throw ValidationError("--after must not be negative") }
    }

    func run() throws {
        try checkStoreFile(options.store)
        let journal = try journalCall(options.store) { () throws(JournalError) in
            try Journal.open(path: options.store, access: .read)
        }
        defer { journal.close() }
        let entries = try Progress.run("reading \(options.store)") {
            try journalCall(options.store) { () throws(JournalError) in try journal.entries(after: after, limit: limit ?? .max) }
        }
        if json {
            Console.out(JSON.array(entries.map(entryJSON)).rendered(pretty: true, prettyDepth: 1) + "\n")
        } else {
            Console.out(entryTable(entries, names: [:]))
        }
    }
}

func entryJSON(_ e: JournalEntryInfo) -> JSON {
    .object([
        ("seq", .int(e.seq)),
        ("time", .string(ISOTime.format(e.time))),
        ("unixTime", .double(e.time)),
        ("origin", e.origin.map { .string($0) } ?? .null),
        ("rawBytes", .int(e.rawBytes)),
        ("storedBytes", .int(e.storedBytes)),
        ("compressed", .bool(e.compressed)),
    ])
}

/// One line per entry; `names` adds version names to their seq.
func entryTable(_ entries: [JournalEntryInfo], names: [Int64: [String]]) -> String {
    if entries.isEmpty { return "(no journal rows)\n" }
    let seqWidth = max(3, entries.map { String($0.seq).count }.max() ?? 0)
    func right(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
    func left(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
    var out = right("seq", seqWidth) + "  " + left("time (UTC)", 24) + "  " + right("raw", 8) + "  " + right("stored", 8) + "  origin\n"
    for e in entries {
        var line = right(String(e.seq), seqWidth) + "  " + left(ISOTime.format(e.time), 24) + "  " + right(String(e.rawBytes), 8)
            + "  " + right(String(e.storedBytes) + (e.compressed ? "" : "*"), 8) + "  " + preview(e.origin ?? "-", limit: 40)
        if let n = names[e.seq] { line += "  [" + n.joined(separator: ", ") + "]" }
        out += line + "\n"
    }
    if entries.contains(where: { !$0.compressed }) { out += "(* stored uncompressed: LZ4 did not pay)\n" }
    return out
}

// MARK: - compact

struct StoreCompact: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Merge the journal's tail into a new snapshot now.",
        discussion: """
        Content and state vector stay exactly the same; history is kept (rows are retained). Prints the seq the new snapshot covers. --json prints {"compacted": Bool, "snapshotSeq": Int or null (nothing to compact)}.
        """
    )

    @OptionGroup var options: StoreOptions

    @Flag(help: "Print a JSON object.")
    var json = false

    func run() throws {
        let s = try StoreSession.open(options, writing: true)
        defer { s.close() }
        let upto = try Progress.run("compacting \(s.path)") {
            try journalCall(s.path) { () throws(JournalError) in try s.journal.compact(document: s.doc) }
        }
        if json {
            Console.out(JSON.object([("compacted", .bool(upto != nil)), ("snapshotSeq", upto.map { .int($0) } ?? .null)]).rendered() + "\n")
        } else if let upto {
            Console.out("snapshot up to seq \(upto)\n")
        } else {
            Console.out("nothing to compact\n")
        }
    }
}
