import CRDT
import Foundation
import RoomHost
import Testing
import TestSupport

/// `ycli serve` and `ycli sync STORE URL` as real processes on 127.0.0.1.
@Suite("ycli serve and sync", .serialized)
struct ServeCLITests {
    @Test("offline story: two stores edit while the server is down, then sync; all agree, also after a restart")
    func offlineStory() async throws {
        let dir = TempDir("ysync-offline")
        let a = dir.file("a.ystore"), b = dir.file("b.ystore"), data = dir.file("server")
        try await Ycli.ok(["init", a])
        try await Ycli.ok(["init", b])
        try await Ycli.ok(["insert", a, "0", "Alice wrote this. "])
        try await Ycli.ok(["insert", b, "0", "Bob wrote that."])
        let offline = try await Ycli.run(["status", a, "--json"])
        #expect(offline.out.contains("\"unsyncedChanges\""))

        var (server, port) = try await Ycli.serve(["--data", data])
        let url = "ws://127.0.0.1:\(port)/parties/main/story"
        let syncA = try await Ycli.ok(["sync", a, url, "--json"])
        #expect(syncA.out.contains("\"acknowledged\":true"), "\(syncA.out)")
        try await Ycli.ok(["sync", b, url])
        try await Ycli.ok(["sync", a, url])  // a gets b's text
        let textA = try await Ycli.ok(["cat", a]).out
        let textB = try await Ycli.ok(["cat", b]).out
        let served = try await httpRequest(port: port, "GET", "/parties/main/story/text").text
        #expect(textA == textB)
        #expect(textA.trimmingCharacters(in: .newlines) == served)
        #expect(served.contains("Alice wrote this. ") && served.contains("Bob wrote that."))
        // Nothing unsynced any more (the server's acknowledgement confirmed it).
        let status = try await Ycli.ok(["status", a, "--json"]).out
        #expect(status.contains("\"unsyncedChanges\":0"), "\(status)")

        // SIGTERM: graceful stop (exit 0); the restarted server still has everything.
        #expect(try await server.signal(SIGTERM) == 0)
        (server, port) = try await Ycli.serve(["--data", data])
        defer { server.stop() }
        #expect(try await httpRequest(port: port, "GET", "/parties/main/story/text").text == served)
        // A third, fresh store gets it all.
        let c = dir.file("c.ystore")
        try await Ycli.ok(["init", c])
        try await Ycli.ok(["sync", c, "ws://127.0.0.1:\(port)/parties/main/story"])
        #expect(try await Ycli.ok(["cat", c]).out == textA)
    }

    @Test("a room name with CR/LF cannot forge a log line, in text and JSON logs")
    func controlCharactersStayOnTheirLine() async throws {
        let dir = TempDir("ysync-log-injection")
        let forged = "2026-01-01T00:00:00+0000 error ysync: [forged] admin logged in"
        let room = "evil\r\n" + forged + "\u{1B}[2J\u{2028}x"
        let encoded = room.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        for format in ["text", "json"] {
            let (server, port) = try await Ycli.serve(["--data", dir.file("server-\(format)"), "--log-format", format])
            // A write creates (and so loads and logs) the room: an empty update.
            let answer = try await httpRequest(port: port, "POST", "/parties/main/\(encoded)/update", body: Data([0, 0]))
            #expect(answer.status == 200, "\(answer.text)")
            #expect(try await server.signal(SIGTERM) == 0)
            let lines = server.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(!lines.contains { $0.hasPrefix("2026-01-01") }, "\(format): \(server.stderr)")
            #expect(!server.stderr.contains("\u{1B}") && !server.stderr.contains("\r"), "\(format): raw controls in the log")
            // JSON keeps U+2028 as it is (valid JSON, as JSON.stringify writes it); text escapes it.
            let loadLine = lines.first { $0.contains("loaded from empty") }
            #expect(loadLine?.contains(#"evil\r\n2026-01-01"#) == true, "\(format): \(server.stderr)")
            if format == "text" {
                #expect(!server.stderr.contains("\u{2028}"))
                // Each line starts with its ISO 8601 time.
                #expect(loadLine.map { $0.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ info "#, options: .regularExpression) != nil } == true, "\(loadLine ?? "")")
            }
            if format == "json" {
                for line in lines where !line.isEmpty {
                    #expect((try? YAny.parseJSON(String(line))) != nil, "not one JSON object: \(line)")
                }
            }
        }
    }

    @Test("flags from the environment; tokens from ycli token; a wrong token fails with a clear message")
    func environmentAndTokens() async throws {
        let dir = TempDir("ysync-env")
        let secret = "env-secret-0123456789-0123456789-xyz"
        let (server, port) = try await Ycli.serve([], env: ["YSYNC_DATA": dir.file("data"), "YSYNC_JWT_SECRET": secret])
        defer { server.stop() }
        #expect(FileManager.default.fileExists(atPath: dir.file("data/rooms")))
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store])
        try await Ycli.ok(["insert", store, "0", "secret text"])
        let url = "ws://127.0.0.1:\(port)/parties/main/vault"
        let refused = try await Ycli.run(["sync", store, url, "--timeout", "5"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("cannot connect"), "\(refused.err)")
        let token = try await Ycli.ok(["token", "--secret", secret, "--room", "vault"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        try await Ycli.ok(["sync", store, url, "--token", token])
        #expect(try await httpRequest(port: port, "GET", "/parties/main/vault/text", headers: ["Authorization": "Bearer \(token)"]).text == "secret text")
        let weak = try await Ycli.run(["serve", "--port", "0", "--jwt-secret", "short", "--data", dir.file("weak")])
        #expect(weak.status != 0)
        #expect(weak.err.contains("at least 32"), "\(weak.err)")
    }

    @Test("content store: load chain (yDoc, body, neither, corrupt yDoc) and autosave on change and on shutdown")
    func contentStore() async throws {
        let dir = TempDir("ysync-content")
        let db = dir.file("content.db")
        let content = try ContentStore(path: db, create: true)
        let seeded = YDoc(clientID: 5)
        try seeded.transact { try seeded.getText("codemirror").insert(at: 0, "from yDoc") }
        try content.insert(ContentRecord(id: "c1", slug: "with-ydoc", body: "stale body", yDocBase64: Data(seeded.encodeStateAsUpdate()).base64EncodedString()))
        try content.insert(ContentRecord(id: "c2", slug: "body-only", body: "from body"))
        try content.insert(ContentRecord(id: "c3", slug: "nothing"))
        try content.insert(ContentRecord(id: "c4", slug: "corrupt", body: "fallback body", yDocBase64: "AAAA!!!not-base64"))

        let (server, port) = try await Ycli.serve(["--data", dir.file("data"), "--content-db", db, "--log-level", "debug"])
        func text(_ room: String) async throws -> String { try await httpRequest(port: port, "GET", "/parties/main/\(room)/text").text }
        #expect(try await text("with-ydoc") == "from yDoc")
        #expect(try await text("c1") == "from yDoc")  // by id: the same room
        #expect(try await text("body-only") == "from body")
        #expect(try await text("nothing") == "")
        #expect(try await text("corrupt") == "fallback body")
        try await eventually("the corrupt yDoc is logged") { server.stderr.contains("not valid base64") }

        // An edit through the API is written back (debounced) as yDoc + body.
        let doc = YDoc(clientID: 6)
        let load = try await httpRequest(port: port, "GET", "/parties/main/body-only/state")
        try doc.applyUpdate(Array(load.body))
        var updates: [[UInt8]] = []
        doc.observeUpdate { updates.append($0.update) }
        try doc.transact { try doc.getText("codemirror").insert(at: 0, "edited: ") }
        #expect(try await httpRequest(port: port, "POST", "/parties/main/body-only/update", body: Data(updates[0])).status == 200)
        try await eventually("autosave writes back", timeout: 15) { try content.lookup("c2")?.body == "edited: from body" }
        let saved = try #require(try content.lookup("c2")?.yDocBase64)
        let reloaded = YDoc(clientID: 7)
        try reloaded.applyUpdate(Array(try #require(Data(base64Encoded: saved))))
        #expect(reloaded.getText("codemirror").string == "edited: from body")

        // Shutdown saves what is pending.
        updates.removeAll()
        try doc.transact { try doc.getText("codemirror").insert(at: 0, ">") }
        #expect(try await httpRequest(port: port, "POST", "/parties/main/body-only/update", body: Data(updates[0])).status == 200)
        #expect(try await server.signal(SIGINT) == 0)
        #expect(try content.lookup("c2")?.body == ">edited: from body")
    }

    @Test("ycli sync --watch applies remote changes and prints broadcasts as JSON lines")
    func watch() async throws {
        let dir = TempDir("ysync-watch")
        let (server, port) = try await Ycli.serve(["--data", dir.file("data")])
        defer { server.stop() }
        let store = dir.file("w.ystore")
        try await Ycli.ok(["init", store])
        let url = "ws://127.0.0.1:\(port)/parties/main/live"
        let watcher = try Ycli.start(["sync", store, url, "--watch"], label: "ycli sync --watch")
        defer { watcher.stop() }
        var events: [[String: Any]] = []
        func waitFor(_ event: String) async throws -> [String: Any] {
            for _ in 0..<50 {
                let e = try await watcher.nextJSON(timeout: 10)
                events.append(e)
                if e["event"] as? String == event { return e }
            }
            throw TestFailure.failed("no \(event) event in \(events)")
        }
        _ = try await waitFor("synced")
        let peer = try await WSPeer.connect("ws://127.0.0.1:\(port)/parties/main/live")
        try await eventually("peer synced") { await peer.isSynced }
        try await peer.insert("typed elsewhere", name: "codemirror")
        let update = try await waitFor("update")
        #expect(update["text"] as? String == "typed elsewhere")
        let message = #"{"requestId":"42","body":"hello","name":"bot"}"#
        _ = try await httpRequest(port: port, "POST", "/parties/main/live", body: Data(message.utf8))
        let broadcast = try await waitFor("broadcast")
        #expect((broadcast["message"] as? [String: Any])?["requestId"] as? String == "42")
        // The store has the remote change once the watcher stops.
        watcher.stop()
        try await eventually("watcher exits") { !watcher.process.isRunning }
        #expect(try await Ycli.ok(["cat", store]).out == "typed elsewhere")
    }

    @Test("ycli sync --no-ack against pycrdt-websocket's own server")
    func syncAgainstPythonServer() async throws {
        let py = try ChildProcess.pythonPeer("pyws_server.py", ["--host", "127.0.0.1", "--port", "0"], label: "pyws_server")
        defer { py.stop() }
        let port = try #require(try await py.nextJSON()["port"] as? Int)
        let dir = TempDir("ysync-pyserver")
        let store = dir.file("p.ystore")
        try await Ycli.ok(["init", store])
        try await Ycli.ok(["insert", store, "0", "to python"])
        try await Ycli.ok(["sync", store, "ws://127.0.0.1:\(port)/parties/main/cli", "--no-ack"])
        try await eventually("python server has it") {
            try await py.command("text parties/main/cli codemirror")["text"] as? String == "to python"
        }
        _ = try await py.command("insert parties/main/cli codemirror 0 \(quoted("from python, "))")
        try await Ycli.ok(["sync", store, "ws://127.0.0.1:\(port)/parties/main/cli", "--no-ack"])
        #expect(try await Ycli.ok(["cat", store]).out == "from python, to python")
    }
}
