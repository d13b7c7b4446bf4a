import CLISupport
import ArgumentParser
import CRDT
import Journal

/// A point in a store's history: a seq, an ISO-8601 time or a version name, resolved to a seq
/// (0 = before the first row: the empty document).
struct HistoryPoint {
    let seq: Int64
    /// How the user named it, for messages ("seq 12", "version v1 (seq 12)", "2024-… (seq 12)").
    let label: String

    static let help = """
        SEQ (a journal seq, 0 = the empty document), TIME (ISO-8601 such as 2024-05-01T12:00:00Z, 2024-05-01 12:00 local time, or @UNIXSECONDS: the state after the last row committed at or before it) or NAME (a version made by 'ycli version').
        """

    static func resolve(_ spec: String, in journal: Journal) throws -> HistoryPoint {
        let path = journal.path
        let last = try journalCall(path) { () throws(JournalError) in try journal.stats().lastSeq }
        if !spec.isEmpty, spec.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let seq = Int64(spec) else { throw CLIError("seq \(spec) is too large") }
            if seq > last { throw CLIError("no seq \(seq) in \(path): the last is \(last)") }
            return HistoryPoint(seq: seq, label: "seq \(seq)")
        }
        if let t = ISOTime.parse(spec) {
            let seq = try journalCall(path) { () throws(JournalError) in try journal.seq(atTime: t) } ?? 0
            return HistoryPoint(seq: seq, label: "\(spec) (seq \(seq))")
        }
        let versions = try journalCall(path) { () throws(JournalError) in try journal.versions() }
        if let v = versions.first(where: { $0.name == spec }) {
            return HistoryPoint(seq: v.seq, label: "version \(spec) (seq \(v.seq))")
        }
        throw CLIError("'\(spec)' is not a seq, an ISO-8601 time or a version of \(path)")
    }

    /// The text `name` as of this point.
    func text(_ name: String, in journal: Journal) throws -> (text: String, stateVector: StateVector) {
        if seq == 0 { return ("", StateVector()) }
        let doc = try Progress.run("reconstructing \(label)") {
            try journalCall(journal.path) { () throws(JournalError) in try journal.document(atSeq: seq) }
        }
        return (doc.getText(name).string, doc.stateVector)
    }
}

/// The root text name: --text, else the store's, else the default.
func rootTextName(_ options: StoreOptions, _ journal: Journal) throws -> String {
    if let name = options.textName { return name }
    return try journalCall(journal.path) { () throws(JournalError) in try journal.meta(StoreMeta.rootText) } ?? StoreMeta.defaultRootText
}

/// Opens a store's journal without loading its document (a missing store is an error). With
/// `lock`, for writing: the journal's writer lock, or its `.locked` error naming the holder.
func openJournal(_ path: String, lock: Bool = false) throws -> Journal {
    try checkStoreFile(path)
    let access: JournalAccess = lock ? .write : .read
    return try journalCall(path) { () throws(JournalError) in try Journal.open(path: path, access: access) }
}

// MARK: - history

struct StoreHistory: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List a store's history, or print the text as of a seq, a time or a version.",
        discussion: """
        Without --at: the named versions, then every journal row (seq, time, sizes, origin) with the versions made at it. With --at: the text at that point, exactly (no newline added).

        --at takes \(HistoryPoint.help)

        --json prints {"versions": [{"name", "seq", "time"}], "entries": [as 'ycli log --json']} without --at, and {"seq", "at", "text", "stateVector"} with it.
        """
    )

    @OptionGroup var options: StoreOptions

    @Option(help: ArgumentHelp("Print the text as of this point.", valueName: "SEQ|TIME|NAME"))
    var at: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let journal = try openJournal(options.store)
        defer { journal.close() }
        if let at {
            let point = try HistoryPoint.resolve(at, in: journal)
            let (text, sv) = try point.text(try rootTextName(options, journal), in: journal)
            if json {
                Console.out(JSON.object([
                    ("seq", .int(point.seq)),
                    ("at", .string(at)),
                    ("text", .string(text)),
                    ("stateVector", stateVectorJSON(sv)),
                ]).rendered() + "\n")
            } else {
                Console.out(text)
            }
            return
        }
        let versions = try journalCall(journal.path) { () throws(JournalError) in try journal.versions() }
        let entries = try Progress.run("reading \(journal.path)") {
            try journalCall(journal.path) { () throws(JournalError) in try journal.entries() }
        }
        if json {
            Console.out(JSON.object([
                ("versions", .array(versions.map { versionJSON($0) })),
                ("entries", .array(entries.map(entryJSON))),
            ]).rendered(pretty: true, prettyDepth: 2) + "\n")
            return
        }
        var out = ""
        if versions.isEmpty {
            out += "versions: none (make one with 'ycli version \(journal.path) NAME')\n"
        } else {
            out += "versions:\n"
            for v in versions { out += "  \(v.name)  seq \(v.seq)  \(ISOTime.format(v.time))\n" }
        }
        out += "\n"
        var names: [Int64: [String]] = [:]
        for v in versions { names[v.seq, default: []].append(v.name) }
        out += entryTable(entries, names: names)
        Console.out(out)
    }
}

func versionJSON(_ v: (name: String, seq: Int64, time: Double)) -> JSON {
    .object([("name", .string(v.name)), ("seq", .int(v.seq)), ("time", .string(ISOTime.format(v.time)))])
}

// MARK: - restore

struct StoreRestore: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Make the text what it was at a seq, a time or a version, as a new edit.",
        discussion: """
        History is never rewritten: the old text is written on top of the current one by a minimal diff, as a new journal row (origin "restore ..."), so the current state stays in the history too.

        --at takes \(HistoryPoint.help)

        --json prints {"at": the point as given, "atSeq": Int (the seq it names), "changes", "deleted", "inserted" (as 'ycli write --json'), "seq": Int (the new journal row) or null (the text was already so)}.
        """
    )

    @OptionGroup var options: StoreOptions

    @Option(help: ArgumentHelp("The point to restore.", valueName: "SEQ|TIME|NAME"))
    var at: String

    @Flag(help: "Print a JSON object.")
    var json = false

    func run() throws {
        let s = try StoreSession.open(options, writing: true)
        defer { s.close() }
        let point = try HistoryPoint.resolve(at, in: s.journal)
        let (old, _) = try point.text(s.textName, in: s.journal)
        let (hunks, seq) = try writeContent(s, old, origin: "restore \(point.label)")
        if json {
            Console.out(editJSON([("at", .string(at)), ("atSeq", .int(point.seq))] + replaceFields(hunks), seq: seq))
        } else if hunks.isEmpty {
            Console.out("the text is already as of \(point.label); nothing written\n")
        } else {
            Console.out("restored the text as of \(point.label): \(replaceSummary(hunks))\(seqSuffix(seq))\n")
        }
    }
}

// MARK: - version

struct StoreVersion: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Name the current state (or list the names).",
        discussion: """
        'ycli version STORE NAME' names the store's last seq; 'ycli history STORE --at NAME' and 'ycli restore STORE --at NAME' then find it. Without NAME, lists the versions (--json: an array of {"name", "seq", "time"}); with NAME, --json prints the new version as {"name", "seq", "time"}. A name cannot be all digits or an ISO-8601 time, and cannot be reused.
        """
    )

    @OptionGroup var options: StorePath

    @Argument(help: ArgumentHelp("The name to give the current state.", valueName: "NAME"))
    var name: String?

    @Flag(help: "List as JSON.")
    var json = false

    func validate() throws {
        guard let name else { return }
        if name.isEmpty { throw ValidationError("NAME must not be empty") }
        if name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { throw ValidationError("NAME cannot be all digits (it would read as a seq)") }
        if ISOTime.parse(name) != nil { throw ValidationError("NAME cannot be a time (it would read as one)") }
    }

    func run() throws {
        let journal = try openJournal(options.store, lock: name != nil)
        defer { journal.close() }
        guard let name else {
            let versions = try journalCall(journal.path) { () throws(JournalError) in try journal.versions() }
            if json {
                Console.out(JSON.array(versions.map { versionJSON($0) }).rendered(pretty: true, prettyDepth: 1) + "\n")
            } else if versions.isEmpty {
                Console.out("no versions\n")
            } else {
                Console.out(versions.map { "\($0.name)  seq \($0.seq)  \(ISOTime.format($0.time))" }.joined(separator: "\n") + "\n")
            }
            return
        }
        try journalCall(journal.path) { () throws(JournalError) in try journal.addVersion(name) }
        let made = try journalCall(journal.path) { () throws(JournalError) in try journal.versions() }.first { $0.name == name }
        if json, let made {
            Console.out(versionJSON(made).rendered() + "\n")
        } else {
            Console.out("version \(name) at seq \(made.map { String($0.seq) } ?? "?")\n")
        }
    }
}
