import CLISupport
import ArgumentParser
import CRDT
import Journal

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - insert

struct StoreInsert: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "insert",
        abstract: "Insert text at a position (in characters).",
        discussion: """
        POS counts Unicode characters (code points) from the start: 0 inserts at the start, the text's length appends. A position past the end is an error and nothing is written. Put '--' before a TEXT that starts with '-'. --json prints {"inserted": Int (characters), "position": Int, "seq": Int (the new journal row) or null (nothing inserted)}.
        """
    )

    @OptionGroup var options: StoreOptions

    @Argument(help: ArgumentHelp("Where to insert, in characters from the start.", valueName: "POS"))
    var position: Int

    @Argument(help: ArgumentHelp("The text to insert.", valueName: "TEXT"))
    var text: String

    @Flag(help: "Print a JSON object.")
    var json = false

    func validate() throws {
        if position < 0 { throw ValidationError("POS must not be negative") }
    }

    func run() throws {
        let s = try StoreSession.open(options, writing: true)
        defer { s.close() }
        let length = s.text.codePointCount
        try CodePoints.check(position: position, length: length)
        if text.isEmpty {
            Console.out(json ? editJSON([("inserted", .int(0)), ("position", .int(position))], seq: nil) : "nothing to insert\n")
            return
        }
        let seq = try s.edit(origin: "insert") { doc in
            try doc.getText(s.textName).insert(atCodePoint: position, text)
        }
        let count = CodePoints.count(text)
        Console.out(json ? editJSON([("inserted", .int(count)), ("position", .int(position))], seq: seq)
                         : "inserted \(plural(count, "character")) at \(position)\(seqSuffix(seq))\n")
    }
}

func seqSuffix(_ seq: Int64?) -> String { seq.map { " (seq \($0))" } ?? "" }

/// An edit's `--json` line: `fields`, then "seq" (the new journal row, or null: nothing changed).
func editJSON(_ fields: [(String, JSON)], seq: Int64?) -> String {
    JSON.object(fields + [("seq", seq.map { .int($0) } ?? .null)]).rendered() + "\n"
}

// MARK: - delete

struct StoreDelete: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete characters at a position.",
        discussion: """
        POS and COUNT count Unicode characters (code points). A range that does not fit the text is an error and nothing is written. --json prints {"deleted": Int (characters), "position": Int, "seq": Int or null (nothing deleted)}.
        """
    )

    @OptionGroup var options: StoreOptions

    @Argument(help: ArgumentHelp("First character to delete (0 = the first).", valueName: "POS"))
    var position: Int

    @Argument(help: ArgumentHelp("How many characters to delete.", valueName: "COUNT"))
    var count: Int

    @Flag(help: "Print a JSON object.")
    var json = false

    func validate() throws {
        if position < 0 { throw ValidationError("POS must not be negative") }
        if count < 0 { throw ValidationError("COUNT must not be negative") }
    }

    func run() throws {
        let s = try StoreSession.open(options, writing: true)
        defer { s.close() }
        let length = s.text.codePointCount
        try CodePoints.check(position: position, count: count, length: length)
        if count == 0 {
            Console.out(json ? editJSON([("deleted", .int(0)), ("position", .int(position))], seq: nil) : "nothing to delete\n")
            return
        }
        let seq = try s.edit(origin: "delete") { doc in
            try doc.getText(s.textName).delete(atCodePoint: position, count: count)
        }
        Console.out(json ? editJSON([("deleted", .int(count)), ("position", .int(position))], seq: seq)
                         : "deleted \(plural(count, "character")) at \(position)\(seqSuffix(seq))\n")
    }
}

// MARK: - write

/// Describes what a replacement changed.
func replaceSummary(_ hunks: [TextDiff.Hunk]) -> String {
    if hunks.isEmpty { return "no change" }
    let deleted = hunks.reduce(0) { $0 + $1.oldRange.count }
    let inserted = hunks.reduce(0) { $0 + $1.newRange.count }
    return "\(plural(hunks.count, "change")): \(plural(deleted, "character")) deleted, \(inserted) inserted"
}

/// What a replacement changed, as JSON fields: "changes" (hunks), "deleted" and "inserted" (characters).
func replaceFields(_ hunks: [TextDiff.Hunk]) -> [(String, JSON)] {
    [("changes", .int(hunks.count)),
     ("deleted", .int(hunks.reduce(0) { $0 + $1.oldRange.count })),
     ("inserted", .int(hunks.reduce(0) { $0 + $1.newRange.count }))]
}

/// Replaces the session's text with `content` by a minimal diff, as one journaled edit.
func writeContent(_ s: StoreSession, _ content: String, origin: String) throws -> (hunks: [TextDiff.Hunk], seq: Int64?) {
    var hunks: [TextDiff.Hunk] = []
    let seq = try Progress.run("writing \(s.path)") {
        try s.edit(origin: origin) { doc in
            hunks = doc.getText(s.textName).replace(with: content)
        }
    }
    return (hunks, seq)
}

struct StoreWrite: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Replace the text with the content of a file (or standard input), by a minimal diff.",
        discussion: """
        Only the characters that differ are deleted and inserted (a character diff: common prefix and suffix, then Myers' algorithm on the middle), so edits made concurrently elsewhere in the text survive a merge. The file must be UTF-8; it is read completely before the store is touched. --json prints {"changes": Int (changed ranges), "deleted": Int, "inserted": Int (characters), "seq": Int or null (no change)}.
        """
    )

    @OptionGroup var options: StoreOptions

    @Argument(help: ArgumentHelp("The new content; '-' or nothing reads standard input.", valueName: "FILE"))
    var file: String = "-"

    @Flag(help: "Print a JSON object.")
    var json = false

    func run() throws {
        let bytes = try readInput(file)
        let content = try CodePoints.text(bytes, source: displayName(file))
        let s = try StoreSession.open(options, writing: true)
        defer { s.close() }
        let (hunks, seq) = try writeContent(s, content, origin: "write")
        Console.out(json ? editJSON(replaceFields(hunks), seq: seq) : replaceSummary(hunks) + seqSuffix(seq) + "\n")
    }
}

// MARK: - edit

struct StoreEdit: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Edit the text in $EDITOR, then write it back by a minimal diff.",
        discussion: """
        The text goes to a temporary file opened with $VISUAL, else $EDITOR, else vi (run through /bin/sh, so the variable may hold arguments). Nothing is written when the editor fails or the file is unchanged. If the store changed while the editor was open, your changes are merged with those (as a concurrent edit). --json prints {"changes", "deleted", "inserted", "seq" (as 'ycli write --json'), "merged": Bool (the store had changed meanwhile)}.
        """
    )

    @OptionGroup var options: StoreOptions

    @Flag(help: "Print a JSON object.")
    var json = false

    func run() throws {
        // Read the text, then let go of the store while the editor runs.
        let base: String
        let baseState: [UInt8]
        let textName: String
        do {
            let s = try StoreSession.open(options, writing: false)
            base = s.text.string
            baseState = s.doc.encodeStateAsUpdate()
            textName = s.textName
            s.close()
        }
        let edited = try runEditor(on: base)
        if edited == base {
            Console.out(json ? editJSON(replaceFields([]) + [("merged", .bool(false))], seq: nil) : "no change\n")
            return
        }

        var opts = options
        opts.textName = textName
        let s = try StoreSession.open(opts, writing: true)
        defer { s.close() }
        if s.text.string == base {
            let (hunks, seq) = try writeContent(s, edited, origin: "edit")
            Console.out(json ? editJSON(replaceFields(hunks) + [("merged", .bool(false))], seq: seq)
                             : replaceSummary(hunks) + seqSuffix(seq) + "\n")
            return
        }
        // The store changed meanwhile: diff against what was edited, in a copy of that state
        // under a fresh client id, and merge the result like any concurrent update.
        let scratch = YDoc(gc: true)
        do {
            try scratch.applyUpdate(baseState)
        } catch {
            throw CLIError("cannot rebuild the edited state: \(error)")
        }
        let before = scratch.stateVector
        let hunks = scratch.getText(textName).replace(with: edited)
        let update = scratch.encodeStateAsUpdate(since: before)
        let seq = try s.apply(update, origin: "edit (merged)")
        try s.compactIfNeeded()
        Console.out(json ? editJSON(replaceFields(hunks) + [("merged", .bool(true))], seq: seq)
                         : replaceSummary(hunks) + seqSuffix(seq) + "; the store had changed meanwhile: merged\n")
    }

    /// Writes `text` to a temporary file, runs the editor on it, returns the file's new content.
    func runEditor(on text: String) throws -> String {
        let dir = environmentValue("TMPDIR") ?? "/tmp"
        var template = Array((dir + "/ycli-edit-XXXXXX.txt").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 4) }
        guard fd >= 0 else { throw CLIError("cannot create a temporary file in \(dir): \(String(cString: strerror(errno)))") }
        close(fd)
        let tempPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(tempPath) }
        try writeOutput(Array(text.utf8), to: tempPath)

        let editor = environmentValue("VISUAL") ?? environmentValue("EDITOR") ?? "vi"
        let status = try spawnAndWait(["/bin/sh", "-c", editor + " \"$@\"", editor, tempPath])
        if status != 0 { throw CLIError("the editor (\(editor)) failed with status \(status); nothing written") }
        let bytes = try readInput(tempPath)
        return try CodePoints.text(bytes, source: "the edited file")
    }
}

/// A non-empty environment variable.
func environmentValue(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    let v = String(cString: p)
    return v.isEmpty ? nil : v
}

/// Runs a program with the terminal (standard input, output and error inherited) and waits for
/// it; returns its exit status (128 + signal when it was killed).
func spawnAndWait(_ argv: [String]) throws -> Int32 {
    var pid = pid_t()
    var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
    cargs.append(nil)
    defer { for p in cargs { free(p) } }
    let rc = posix_spawn(&pid, argv[0], nil, nil, cargs, environ)
    if rc != 0 { throw CLIError("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        if errno != EINTR { throw CLIError("waiting for \(argv[0]) failed: \(String(cString: strerror(errno)))") }
    }
    // WIFEXITED / WEXITSTATUS / WTERMSIG, spelled out (the C macros are not imported).
    let signal = status & 0x7F
    if signal == 0 { return (status >> 8) & 0xFF }
    return 128 + signal
}
