import CRDT
import Foundation
import ReplicaServer
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A connection a client holds open across the server's shutdown.
enum HeldConnection: String, CaseIterable, CustomTestStringConvertible, Sendable {
    /// Upgraded, then silent: never answers the server's close frame, keeps its socket open.
    case webSocketIgnoringClose
    /// Upgraded with a tiny receive window, asks for an 8 MB room and never reads it.
    case webSocketNeverReading
    /// Connected, sent nothing.
    case idleTCP
    /// Half of a request head.
    case halfSentHead
    /// A whole head, 3 of the 100 body bytes it announced.
    case halfSentBody
    /// Asked for an 8 MB room over HTTP with a tiny receive window, never reads the answer.
    case httpNeverReading

    var testDescription: String { rawValue }

    /// Whether it needs the 8 MB room.
    var needsBigRoom: Bool { self == .webSocketNeverReading || self == .httpNeverReading }

    /// What the shutdown's last line must say it closed (nil: either line, see `httpNeverReading`).
    var cut: String? {
        switch self {
        case .webSocketIgnoringClose, .webSocketNeverReading: "closed 1 connection (1 WebSocket)"
        case .idleTCP: "closed 1 connection (1 HTTP: 1 idle)"
        case .halfSentHead, .halfSentBody: "closed 1 connection (1 HTTP: 1 mid-request)"
        // Hummingbird takes the answer as written once NIO holds it, and closes the connection
        // when asked to quiesce (the unread rest of the answer is dropped): nothing left to cut.
        case .httpNeverReading: nil
        }
    }

    /// Opens the connection on `port`.
    func open(port: Int) async throws -> RawSocket {
        switch self {
        case .webSocketIgnoringClose:
            let socket = try await rawUpgrade(port: port, path: "/parties/main/held")
            #expect(socket.text.hasPrefix("HTTP/1.1 101"), "\(socket.text)")
            return socket
        case .webSocketNeverReading:
            let socket = try await rawUpgrade(port: port, path: "/parties/main/big", receiveBuffer: 4096)
            #expect(socket.text.hasPrefix("HTTP/1.1 101"), "\(socket.text)")
            try await socket.send(wsFrame(opcode: 2, [0, 0, 1, 0]))  // SyncStep1 with an empty state vector: send me everything
            return socket
        case .idleTCP:
            return try RawSocket(port: port)
        case .halfSentHead:
            let socket = try RawSocket(port: port)
            try await socket.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            return socket
        case .halfSentBody:
            let socket = try RawSocket(port: port)
            try await socket.send("POST /parties/main/half/update HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nabc")
            return socket
        case .httpNeverReading:
            let socket = try RawSocket(port: port, receiveBuffer: 4096)
            try await socket.send("GET /parties/main/big/state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return socket
        }
    }
}

/// `ycli serve` as a process, SIGTERMed while clients hold connections open: it exits 0 within
/// `--shutdown-grace` plus a margin, says what it cut, and a restart on the same data directory
/// has every update acknowledged before the signal.
@Suite("Server shutdown: bounded by --shutdown-grace")
struct ServerShutdownTests {
    static let grace = 2.0
    /// Start-up of the shutdown, persisting, the process's exit, on a loaded 2-core machine.
    static let margin = 5.0

    @Test("SIGTERM with a held connection: exit 0 within the grace + margin, the held connection cut, acknowledged updates kept",
          arguments: HeldConnection.allCases)
    func heldConnection(_ kind: HeldConnection) async throws {
        let dir = TempDir("ysync-shutdown")
        let data = dir.file("data")
        let (server, port) = try await Ycli.serve(["--data", data, "--shutdown-grace", "\(Self.grace)"])
        defer { server.stop() }
        var expected = try await Self.acknowledgedUpdates(port: port, dir: dir)
        if kind.needsBigRoom { expected["big"] = try await Self.postText(String(repeating: "b", count: 8 << 20), room: "big", port: port) }
        let held = try await kind.open(port: port)
        try await Self.waitForOpenConnections(1, port: port)

        let (result, seconds) = try await Self.terminate(server)
        print("shutdown with \(kind): exit \(result.status) \(String(format: "%.2f", seconds)) s after SIGTERM (--shutdown-grace \(Self.grace))")
        #expect(result.ok, "\(result)")
        #expect(seconds < Self.grace + Self.margin)
        let lines = result.err.split(separator: "\n").map(String.init)
        let persisted = try #require(lines.firstIndex { $0.contains("shutdown: stopped accepting") }, "\(result.err)")
        let last = try #require(lines.firstIndex { $0.contains("shutdown: grace of") || $0.contains("shutdown: every connection ended") },
                                "\(result.err)")
        #expect(persisted < last, "rooms are persisted before the wait: \(result.err)")
        if let cut = kind.cut {
            #expect(lines[last].contains("shutdown: grace of 2 s over; \(cut)"), "\(lines[last])")
            #expect(seconds >= Self.grace - 0.1, "the held connection had the whole grace")
        }
        _ = held

        try await Self.expectStored(expected, data: data)
    }

    @Test("every kind at once, and a client that answers the close: one line names what was cut")
    func everyKindAtOnce() async throws {
        let dir = TempDir("ysync-shutdown-all")
        let data = dir.file("data")
        let (server, port) = try await Ycli.serve(["--data", data, "--shutdown-grace", "\(Self.grace)"])
        defer { server.stop() }
        var expected = try await Self.acknowledgedUpdates(port: port, dir: dir)
        expected["big"] = try await Self.postText(String(repeating: "b", count: 8 << 20), room: "big", port: port)
        var held: [RawSocket] = []
        for kind in HeldConnection.allCases { held.append(try await kind.open(port: port)) }
        let polite = try await WSPeer.connect("ws://127.0.0.1:\(port)/parties/main/polite")
        try await eventually("the polite peer synced") { await polite.isSynced }
        try await Self.waitForOpenConnections(held.count + 1, port: port)

        let (result, seconds) = try await Self.terminate(server) {
            // Once the shutdown began nothing new is served: refused (the listener closed), or
            // closed before a byte of an answer.
            try await eventually("the shutdown's first line", timeout: Self.grace) { server.stderr.contains("shutdown: stopped accepting") }
            if let late = try? RawSocket(port: port) {
                try? await late.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                let answer = try await late.closedByServer(timeout: Self.grace + Self.margin)
                #expect(answer.isEmpty, "a connection made during the shutdown was answered: \(late.text)")
            }
        }
        print("shutdown with every kind held: exit \(result.status) \(String(format: "%.2f", seconds)) s after SIGTERM")
        #expect(result.ok, "\(result)")
        #expect(seconds < Self.grace + Self.margin)
        // The polite peer answered the 1001 and the HTTP reader's answer was dropped: neither is cut.
        #expect(result.err.contains("shutdown: grace of 2 s over; closed 5 connections (2 WebSocket, 3 HTTP: 1 idle, 2 mid-request)"),
                "\(result.err)")
        try await eventually("the polite peer saw the close") { await polite.isEnded }
        #expect(polite.transport.serverClose?.code == 1001, "\(String(describing: polite.transport.serverClose))")
        _ = held
        try await Self.expectStored(expected, data: data)
    }

    @Test("connections that end by themselves: the shutdown does not wait for the grace")
    func politeClientsEndAtOnce() async throws {
        let dir = TempDir("ysync-shutdown-polite")
        let (server, port) = try await Ycli.serve(["--data", dir.file("data")])  // the default grace, 10 s
        defer { server.stop() }
        let peers = [try await WSPeer.connect("ws://127.0.0.1:\(port)/parties/main/a"),
                     try await WSPeer.connect("ws://127.0.0.1:\(port)/parties/main/b")]
        try await eventually("the peers synced") { await allSynced(peers) }
        let (result, seconds) = try await Self.terminate(server)
        print("shutdown with 2 polite WebSockets: exit \(result.status) \(String(format: "%.2f", seconds)) s after SIGTERM")
        #expect(result.ok, "\(result)")
        #expect(result.err.contains("shutdown: every connection ended within the grace"), "\(result.err)")
        #expect(result.err.contains("of 10 s); none cut"), "\(result.err)")
        #expect(seconds < 10, "well under the grace")
    }

    @Test("YSYNC_SHUTDOWN_GRACE sets the grace (the flag wins); a negative grace is refused")
    func graceFromTheEnvironment() async throws {
        let dir = TempDir("ysync-shutdown-env")
        let (server, port) = try await Ycli.serve(["--data", dir.file("data")], env: ["YSYNC_SHUTDOWN_GRACE": "1"])
        defer { server.stop() }
        let held = try await HeldConnection.idleTCP.open(port: port)
        try await Self.waitForOpenConnections(1, port: port)
        let (result, seconds) = try await Self.terminate(server)
        #expect(result.ok, "\(result)")
        #expect(result.err.contains("shutdown: grace of 1 s over; closed 1 connection (1 HTTP: 1 idle)"), "\(result.err)")
        #expect(seconds >= 0.9 && seconds < 1 + Self.margin)
        _ = held
        let refused = try await Ycli.run(["serve", "--port", "0", "--data", dir.file("data"), "--shutdown-grace=-1"],
                                         env: ["YSYNC_SHUTDOWN_GRACE": "5"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("--shutdown-grace must be between 0 and 86400 seconds"), "\(refused.err)")
        let badEnv = try await Ycli.run(["serve", "--port", "0", "--data", dir.file("data")], env: ["YSYNC_SHUTDOWN_GRACE": "soon"])
        #expect(badEnv.status != 0)
        #expect(badEnv.err.contains("YSYNC_SHUTDOWN_GRACE=soon is not valid"), "\(badEnv.err)")
    }

    @Test("the line that says what a shutdown cut")
    func reportLine() {
        var report = ShutdownReport(grace: 10, roomsPersisted: 3, persistedAfter: 0.02, endedAfter: 10.01)
        #expect(report.line == "shutdown: every connection ended within the grace (10.01 s of 10 s); none cut")
        report.cutWebSockets = 2
        report.cutIdle = 1
        #expect(report.line == "shutdown: grace of 10 s over; closed 3 connections (2 WebSocket, 1 HTTP: 1 idle)")
        report = ShutdownReport(grace: 0.5, roomsPersisted: 0, persistedAfter: 0, endedAfter: 0.5)
        report.cutRequests = 1
        report.cutResponses = 2
        #expect(report.line == "shutdown: grace of 0.50 s over; closed 3 connections (3 HTTP: 1 mid-request, 2 mid-response)")
    }

    // MARK: Helpers

    /// Sends SIGTERM and waits (at most grace + margin) for the exit; the result and the seconds it
    /// took.
    /// `during` runs between the signal and the wait.
    static func terminate(_ server: ChildProcess, during: () async throws -> Void = {}) async throws -> (ProcessResult, Double) {
        let start = ContinuousClock.now
        kill(server.pid, SIGTERM)
        try await during()
        let result = try await server.waitForExit(timeout: grace + margin)
        let elapsed = ContinuousClock.now - start
        return (result, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// Updates the server acknowledged: an HTTP update answered 200, and a `ycli sync` whose
    /// changes were durably acknowledged (`?ack=1`). The text each room must have.
    static func acknowledgedUpdates(port: Int, dir: TempDir) async throws -> [String: String] {
        var expected: [String: String] = [:]
        expected["acked-http"] = try await postText("answered 200 before the signal", room: "acked-http", port: port)
        let store = dir.file("client.ystore")
        try await Ycli.ok(["init", store])
        try await Ycli.ok(["insert", store, "0", "acknowledged over WebSocket"])
        let sync = try await Ycli.ok(["sync", store, "ws://127.0.0.1:\(port)/parties/main/acked-ws", "--json"])
        #expect(sync.out.contains("\"acknowledged\":true"), "\(sync.out)")
        expected["acked-ws"] = "acknowledged over WebSocket"
        return expected
    }

    /// Posts `text` as an update of root text `codemirror` and checks the answer; returns the text.
    static func postText(_ text: String, room: String, port: Int) async throws -> String {
        let doc = YDoc(clientID: 77)
        try doc.transact { try doc.getText("codemirror").insert(at: 0, text) }
        let answer = try await rawHTTP(port: port, "POST", "/parties/main/\(room)/update", body: doc.encodeStateAsUpdate())
        #expect(answer.status == 200 && String(decoding: answer.body, as: UTF8.self) == #"{"changed":true}"#,
                "\(answer.status) \(String(decoding: answer.body.prefix(200), as: UTF8.self))")
        return text
    }

    /// Waits until the server counts `n` connections besides the one asking `/healthz`.
    static func waitForOpenConnections(_ n: Int, port: Int) async throws {
        var last = -1
        let counted = await eventually(timeout: 30) {
            guard let answer = try? await rawHTTP(port: port, "GET", "/healthz"),
                  let health = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
                  let open = health["connections"] as? Int else { return false }
            last = open - 1
            return last == n
        }
        if !counted { throw TestFailure.failed("the server counted \(last) held connections, not \(n)") }
    }

    /// Restarts the server on `data` and checks every room's text.
    static func expectStored(_ expected: [String: String], data: String) async throws {
        let (server, port) = try await Ycli.serve(["--data", data])
        defer { server.stop() }
        for (room, text) in expected.sorted(by: { $0.key < $1.key }) {
            let answer = try await rawHTTP(port: port, "GET", "/parties/main/\(room)/text")
            let stored = String(decoding: answer.body, as: UTF8.self)
            #expect(answer.status == 200 && stored == text, "room \(room): \(stored.count) characters, expected \(text.count)")
        }
        #expect(try await server.signal(SIGTERM) == 0)
    }
}
