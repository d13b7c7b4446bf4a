import CLISupport
import ArgumentParser
import CRDT
import Journal

// MARK: - export

struct StoreExport: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the store's document as an update v1 (all of it, or what a peer lacks).",
        discussion: """
        Without --since: the full state (what Y.encodeStateAsUpdate writes), readable by Yjs, yrs/pycrdt and 'ycli import'. With --since SVFILE (an encoded state vector, e.g. from 'ycli export PEER --state-vector' or 'ycli update state-vector'): only what a peer with that state vector lacks. --state-vector writes this store's encoded state vector instead.

        Says "wrote N bytes to FILE" on stderr (nothing with '-o -'). --json prints {"output": FILE, "bytes": Int, "kind": "update" | "stateVector"} on stdout instead; with '-o -' standard output carries the bytes alone.
        """
    )

    @OptionGroup var options: StoreOptions

    @Option(help: ArgumentHelp("Encoded state vector of the peer; '-' = standard input.", valueName: "SVFILE"))
    var since: String?

    @Flag(name: .customLong("state-vector"), help: "Write the store's encoded state vector instead of an update.")
    var stateVector = false

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write ('-' = standard output).", valueName: "FILE"))
    var output: String

    @Flag(help: "Report the file written as a JSON object.")
    var json = false

    func validate() throws {
        if stateVector && since != nil { throw ValidationError("--state-vector and --since do not go together") }
    }

    func run() throws {
        // The peer's state vector is read and checked before the store is opened.
        var sv = StateVector()
        if let since {
            let bytes = try readInput(since)
            do {
                sv = try StateVector(decoding: bytes)
            } catch {
                throw CLIError("\(displayName(since)): not a valid encoded state vector: \(error)")
            }
        }
        let s = try StoreSession.open(options, writing: false)
        defer { s.close() }
        let bytes = stateVector ? s.doc.encodeStateVector() : Progress.run("encoding") { s.doc.encodeStateAsUpdate(since: sv) }
        try writeOutput(bytes, to: output)
        if output == "-" { return }
        if json {
            Console.out(outputJSON(output, bytes: bytes.count, [("kind", .string(stateVector ? "stateVector" : "update"))]))
        } else {
            Console.err("wrote \(bytes.count) bytes to \(output)\n")
        }
    }
}

// MARK: - import

struct StoreImport: ParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Apply update files (v1 or v2, from Yjs, yrs/pycrdt or 'ycli export') to the store.",
        discussion: """
        Each file may be v1 or v2 (detected: v1 unless it is only valid as v2; bytes left over after a v1 update are an error, not ignored). All files are read, decoded and tried on a copy of the document first: if any of them is unreadable or not a valid update, nothing is written. Then each file that brings something new becomes one journal row (origin "import NAME"). Updates whose dependencies are missing are kept and wait for them (the command warns). --json prints {"files": [{"file", "applied": Bool, "seq": Int or null (nothing new)}], "pending": Bool (changes wait for updates not imported yet)}, without the warning.
        """
    )

    @OptionGroup var options: StoreOptions

    @Argument(help: ArgumentHelp("Update files; '-' = standard input.", valueName: "FILE"))
    var files: [String]

    @Flag(help: "Print a JSON object.")
    var json = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one update FILE") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input ('-') can be read only once") }
    }

    func run() throws {
        var updates: [[UInt8]] = []
        for file in files {
            let bytes = try readInput(file)
            // v1 or v2 (detected); the journal and the document take v1.
            let (format, update) = try decodeAnyUpdate(bytes, file: file)
            updates.append(format == .v1 ? bytes : UpdateEncoderV1.encode(update))
        }
        let s = try StoreSession.open(options, writing: true)
        defer { s.close() }

        // Dry run on a copy: an update that decodes may still not apply (a root of another type).
        let trial = YDoc(gc: true)
        let progress = Progress("checking updates", total: files.count)
        do {
            try trial.applyUpdate(s.doc.encodeStateAsUpdate())
        } catch {
            progress.finish()
            throw CLIError("cannot copy the document for a trial import: \(error)")
        }
        for (i, (file, update)) in zip(files, updates).enumerated() {
            progress.update(i)
            do {
                try trial.applyUpdate(update)
            } catch {
                progress.finish()
                throw CLIError("\(displayName(file)): cannot apply update: \(error); nothing written")
            }
        }
        progress.finish()

        let importing = Progress("importing", total: files.count)
        var lines: [String] = []
        var results: [JSON] = []
        for (i, (file, update)) in zip(files, updates).enumerated() {
            importing.update(i)
            let seq: Int64?
            do {
                seq = try s.apply(update, origin: "import \(baseName(displayName(file)))")
            } catch {
                importing.finish()
                throw error
            }
            lines.append("\(displayName(file)): " + (seq.map { "applied (seq \($0))" } ?? "nothing new"))
            results.append(.object([("file", .string(displayName(file))), ("applied", .bool(seq != nil)), ("seq", seq.map { .int($0) } ?? .null)]))
        }
        importing.finish()
        try s.compactIfNeeded()
        if json {
            Console.out(JSON.object([("files", .array(results)), ("pending", .bool(s.doc.hasPending))]).rendered(pretty: true, prettyDepth: 1) + "\n")
            return
        }
        Console.out(lines.joined(separator: "\n") + "\n")
        if s.doc.hasPending {
            Console.err("ycli: warning: some imported changes wait for updates that were not imported yet\n")
        }
    }
}

/// The `--json` report of a command that wrote `bytes` bytes to the file `output`:
/// {"output", "bytes", then `more`}.
func outputJSON(_ output: String, bytes: Int, _ more: [(String, JSON)] = []) -> String {
    JSON.object([("output", .string(output)), ("bytes", .int(bytes))] + more).rendered() + "\n"
}
