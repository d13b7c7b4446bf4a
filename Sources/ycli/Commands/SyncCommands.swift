import CLISupport
import ArgumentParser
import CRDT
import Foundation
import Journal
import Replica
import Sync

// MARK: - sync --via-file

struct StoreSync: AsyncParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Sync a store with a server (ycli sync STORE URL) or through a carried folder (--via-file DIR).",
        discussion: """
        With URL (ws://HOST:PORT/parties/main/ROOM, a y-websocket room of 'ycli serve' or of any y-websocket server): one shot by default — connect, exchange state vectors, send what the server lacks, apply and journal what we lack, wait until the server acknowledges that it journaled our changes (ycli asks for durable acknowledgements with ?ack=1; a server without them never confirms: with --no-ack, ycli instead sends one more SyncStep1 after its changes and waits for its answer, which shows the server has processed them, not that it stored them), print a summary and exit 0. --watch stays connected: local journal rows are not re-read, remote changes are applied as they come, and every event is printed as one JSON line ({"event": "connected" | "synced" | "update" | "presence" | "broadcast" | "disconnected", ...}; "presence" carries "states", the others' awareness states by client id, whenever someone joins, leaves or changes theirs); --presence JSON publishes ours (y-protocols awareness, what Yjs apps show as cursors and names); it reconnects with backoff (100 ms doubling to 2.5 s) until interrupted. While watching, the store is locked: other writers fail at once with a message naming this process (readers such as cat and status still work). --token (or YSYNC_TOKEN) is sent as "Authorization: Bearer".

        With --via-file DIR: first imports every update file in DIR (`<client>-<hash>.yupdate`, see the Sync module's FileHandover) into the store — each file that brings something new becomes one journal row, files already known change nothing — then writes, for every peer whose state vector file (`<client>.ysv`) is in DIR, the update that peer lacks (the full state when DIR holds no peer's state vector yet), and finally this store's own state vector as `<client>.ysv`. Running it again changes nothing (idempotent). Peers' state vectors also confirm this store's changes they hold: see 'ycli status' (unsynced changes). Bad files are reported and skipped. --json prints {"imported": [file], "unchanged": [file], "failed": [{"file", "reason"}], "written": [file], "unsyncedChanges"}.
        """
    )

    @OptionGroup var options: StoreOptions

    @Argument(help: ArgumentHelp("A y-websocket room URL: ws://HOST:PORT/parties/main/ROOM.", valueName: "URL"))
    var url: String?

    @Option(name: .customLong("via-file"), help: ArgumentHelp("The hand-over folder (created if missing).", valueName: "DIR"))
    var viaFile: String?

    @Option(help: ArgumentHelp("Access token for the server (default: $YSYNC_TOKEN).", valueName: "JWT"))
    var token: String?

    @Flag(help: "Stay connected and print events as JSON lines.")
    var watch = false

    @Option(help: ArgumentHelp("With --watch: publish this presence (a JSON object, e.g. '{\"user\":{\"name\":\"ada\"}}') to the room's other clients.", valueName: "JSON"))
    var presence: String?

    @Flag(name: .customLong("no-ack"), help: "Do not wait for the server's durable acknowledgement (servers other than ycli serve).")
    var noAck = false

    @Option(help: ArgumentHelp("Give up a one-shot sync after this many seconds.", valueName: "SECONDS"))
    var timeout: Double = 30

    @Option(name: .customLong("max-message-bytes"),
            help: ArgumentHelp("Largest message sent to the server; more is sent in several valid updates (default 1 MiB, the limit of many hosted WebSocket servers).", valueName: "BYTES"))
    var maxMessageBytes: Int = 1 << 20

    @Flag(help: "Print a JSON object.")
    var json = false

    func validate() throws {
        if (url == nil) == (viaFile == nil) { throw ValidationError("give either a server URL or --via-file DIR") }
        if maxMessageBytes < 1024 { throw ValidationError("--max-message-bytes must be at least 1024") }
        if watch, url == nil { throw ValidationError("--watch needs a server URL") }
        if let presence {
            if !watch { throw ValidationError("--presence needs --watch") }
            guard case .object? = try? JSON.parseJSON(presence) else {
                throw ValidationError("--presence must be a JSON object")
            }
        }
    }

    func run() async throws {
        if let url {
            try await NetworkSync(store: options, url: url, token: token ?? ProcessInfo.processInfo.environment["YSYNC_TOKEN"],
                                  waitForAck: !noAck, timeout: timeout, maxMessageBytes: maxMessageBytes, json: json,
                                  presence: presence).run(watch: watch)
            return
        }
        try syncViaFolder(viaFile!)
    }

    private func syncViaFolder(_ viaFile: String) throws {
        let dir = URL(fileURLWithPath: viaFile)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: viaFile, isDirectory: &isDir) {
            if !isDir.boolValue { throw CLIError("\(viaFile) is not a directory") }
        } else {
            do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw CLIError("cannot create \(viaFile): \(error)")
            }
        }
        let s = try StoreSession.open(options, writing: true)
        defer { s.close() }
        let found: FileHandover.ReadResult
        do { found = try FileHandover.read(from: dir) } catch { throw CLIError("\(viaFile): \(error)") }

        // Import. An update the document refuses is reported like a bad file.
        var imported: [String] = [], unchanged: [String] = []
        var failed: [(String, String)] = found.failures.map { ($0.url.lastPathComponent, $0.error.description) }
        for (url, update) in found.updates {
            do {
                if try s.apply(update, origin: "sync \(url.lastPathComponent)") != nil { imported.append(url.lastPathComponent) } else { unchanged.append(url.lastPathComponent) }
            } catch {
                failed.append((url.lastPathComponent, "\(error)"))
            }
        }

        // Peers' state vectors confirm our units.
        let me = s.doc.clientID
        var unsynced = UnsyncedCount(client: me, metaValue: try? s.journal.meta(UnsyncedCount.metaKey))
        var moved = false
        for (client, sv) in found.stateVectors where client != me { if unsynced.confirm(sv) { moved = true } }
        if moved { try journalCall(s.path) { () throws(JournalError) in try s.journal.setMeta(UnsyncedCount.metaKey, unsynced.metaValue) } }

        // Write what the others lack, then our state vector.
        var written: [String] = []
        do {
            written = try FileHandover.writeDiffs(of: s.doc, clientID: me, to: dir).map(\.lastPathComponent)
            let svURL = dir.appendingPathComponent("\(me).\(FileHandover.stateVectorExtension)")
            let old = try? FileHandover.readStateVector(svURL)
            if old != s.doc.stateVector {
                written.append(try FileHandover.writeStateVector(s.doc.stateVector, clientID: me, to: dir).lastPathComponent)
            }
        } catch {
            throw CLIError("\(viaFile): \(error)")
        }
        try s.compactIfNeeded()
        let count = unsynced.count(local: s.doc.stateVector)
        if json {
            Console.out(JSON.object([
                ("imported", .array(imported.map { .string($0) })),
                ("unchanged", .array(unchanged.map { .string($0) })),
                ("failed", .array(failed.map { .object([("file", .string($0.0)), ("reason", .string($0.1))]) })),
                ("written", .array(written.map { .string($0) })),
                ("unsyncedChanges", .int(count)),
            ]).rendered(pretty: true, prettyDepth: 1) + "\n")
            return
        }
        var lines = ["imported \(plural(imported.count, "file")) (\(unchanged.count) already known) from \(viaFile)"]
        for (file, reason) in failed { lines.append("skipped \(file): \(reason)") }
        lines.append("wrote \(plural(written.count, "file"))" + (written.isEmpty ? "" : ": " + written.joined(separator: ", ")))
        lines.append("unsynced changes: \(count)")
        Console.out(lines.joined(separator: "\n") + "\n")
        if !failed.isEmpty { Console.err("ycli: warning: \(plural(failed.count, "file")) could not be used\n") }
    }
}

/// Own changes no peer has confirmed (see `UnsyncedCount`), from what the store recorded.
func unsyncedChanges(_ s: StoreSession) -> Int {
    UnsyncedCount(client: s.doc.clientID, metaValue: try? s.journal.meta(UnsyncedCount.metaKey)).count(local: s.doc.stateVector)
}
