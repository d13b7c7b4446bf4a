import CRDT
import Foundation
import ReplicaServer
import Replica
import RoomHost
import Sync
import Testing
import TestSupport

/// Garbage, truncated, oversized and flooding clients are closed with the right code; the
/// document, the other connections and the other rooms carry on.
@Suite("Server bad input")
struct ServerBadInputTests {
    /// Waits until the server closed `peer`, and returns the close code it sent.
    func closeCode(_ peer: WSPeer) async throws -> Int? {
        try await eventually("connection closed") { await peer.isEnded }
        return peer.transport.serverClose?.code
    }

    @Test("garbage and truncated frames close that connection with 1007; the room is unaffected", arguments: [
        [0xff, 0x01, 0x02],          // unknown message type
        [0x00, 0x02, 0x10, 0x01],    // update whose length runs past the frame
        [0x00, 0x02, 0x03, 0xff, 0xff, 0xff],  // update payload that does not decode
        [0x00],                      // truncated sync message
        [0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x7b],  // awareness with invalid JSON
    ] as [[UInt8]])
    func garbage(frame: [UInt8]) async throws {
        let server = try await TestServer.start()
        let good = try await WSPeer.connect(server.url("g"))
        let bad = try await WSPeer.connect(server.url("g"))
        let elsewhere = try await WSPeer.connect(server.url("other"))
        try await eventually("synced") { await allSynced([good, bad, elsewhere]) }
        try await good.insert("intact")
        try await eventually("bad peer has it") { await bad.text() == "intact" }
        try await bad.send(frame)
        #expect(try await closeCode(bad) == Int(CloseCode.invalidPayload.rawValue))
        #expect(try await server.http("GET", "/parties/main/g/text?name=t").text == "intact")
        try await good.insert(" still works")
        try await elsewhere.insert("other room works")
        try await eventually("server took both") {
            let g = try await server.http("GET", "/parties/main/g/text?name=t").text
            let other = try await server.http("GET", "/parties/main/other/text?name=t").text
            return g == "intact still works" && other == "other room works"
        }
        #expect(server.logs.all.contains { $0.contains("1007 invalid payload") })
        await server.stop()
    }

    @Test("a frame over --max-frame-bytes closes the connection (1009)")
    func oversized() async throws {
        let server = try await TestServer.start { $0.limits.maxFrameBytes = 4096 }
        let peer = try await WSPeer.connect(server.url("big"))
        try await eventually("synced") { await allSynced([peer]) }
        try await peer.insert(String(repeating: "x", count: 10_000))
        #expect(try await closeCode(peer) == Int(CloseCode.messageTooBig.rawValue))
        #expect(try await server.http("GET", "/parties/main/big/text?name=t").text == "")
        // The server says why in its log, with the limit, and counts it (a single frame over it, too).
        try await eventually("a log line names the limit") {
            server.logs.all.contains { $0.contains("1009") && $0.contains("4096-byte limit") }
        }
        #expect(try await server.http("GET", "/metrics").text.contains(#"ysync_connections_closed_total{code="1009"} 1"#))
        await server.stop()
    }

    @Test("an update that would make the document too large closes with 4013")
    func documentTooLarge() async throws {
        let server = try await TestServer.start { $0.limits.maxDocumentBytes = 2_000 }
        let peer = try await WSPeer.connect(server.url("doc"))
        try await eventually("synced") { await allSynced([peer]) }
        try await peer.insert(String(repeating: "y", count: 500))
        try await eventually("first accepted") { try await server.http("GET", "/parties/main/doc/text?name=t").text.count == 500 }
        try await peer.insert(String(repeating: "z", count: 3_000))
        #expect(try await closeCode(peer) == Int(CloseCode.documentTooLarge.rawValue))
        #expect(try await server.http("GET", "/parties/main/doc/text?name=t").text.count == 500)
        await server.stop()
    }

    @Test("a flood beyond --messages-per-second closes with 4029; a calm client stays")
    func flood() async throws {
        let server = try await TestServer.start {
            $0.limits.messagesPerSecond = 20
            $0.limits.messageBurst = 20
        }
        let flooder = try await WSPeer.connect(server.url("f"))
        let calm = try await WSPeer.connect(server.url("f"))
        try await eventually("synced") { await allSynced([flooder, calm]) }
        let sv = SyncMessage.syncStep1(stateVector: StateVector().encoded()).encoded()
        for _ in 0..<200 {
            do { try await flooder.send(sv) } catch { break }
        }
        #expect(try await closeCode(flooder) == Int(CloseCode.rateLimited.rawValue))
        try await calm.insert("calm")
        try await eventually("calm client still served") { try await server.http("GET", "/parties/main/f/text?name=t").text == "calm" }
        #expect(await !calm.isEnded)
        await server.stop()
    }

    @Test("malformed HTTP input gets 4xx JSON errors")
    func badHTTP() async throws {
        let server = try await TestServer.start()
        let tooLong = String(repeating: "r", count: 300)
        #expect(try await server.http("GET", "/parties/main/\(tooLong)").status == 400)
        let r = try await server.http("POST", "/parties/main/x/update", body: Data([0x00, 0x01, 0x05]))
        #expect(r.status == 400)
        #expect(try r.json()["error"] is String)
        await server.stop()
    }
    /// The server is a child process: its minutes of CPU in a debug build, under a parallel
    /// suite, stay out of this process's cooperative pool (in process they starved other tests'
    /// servers past their HTTP timeouts).
    @Test("100,000 nested maps, then a delete of the outermost, over HTTP and WebSocket: the server stays up and serves the room", .ownThread)
    func deepNestingDoesNotKillTheServer() async throws {
        let dir = TempDir("ysync-deep")
        let (server, port) = try await Ycli.serve(["--data", dir.file("data")])
        defer { server.stop() }
        // The 100,000 levels take seconds to apply, encode and collect in a debug build.
        func http(_ method: String, _ path: String, body: Data? = nil) async throws -> HTTPResult {
            try await httpRequest(port: port, method, path, body: body, timeout: 120)
        }
        let author = YDoc(clientID: 77)
        author.transact {
            var m = author.getMap("root").setMap("deep")
            for _ in 0..<100_000 { m = m.setMap("next") }
            m.set("bottom", .string("bottom"))
        }
        let nested = author.encodeStateAsUpdate()
        let before = author.stateVector
        author.getMap("root").delete("deep")
        let deletion = author.encodeStateAsUpdate(since: before)
        let posted = try await http("POST", "/parties/main/deep/update", body: Data(nested))
        #expect(posted.status == 200, "\(posted.text)")
        // A client joins (the server encodes the 100,000 levels for it), then the delete arrives.
        let peer = try await WSPeer.connect("ws://127.0.0.1:\(port)/parties/main/deep", clientID: 78)
        try await eventually("joined the deep room", timeout: 120) { await peer.isSynced }
        let deleted = try await http("POST", "/parties/main/deep/update", body: Data(deletion))
        #expect(deleted.status == 200, "\(deleted.text)")
        try await peer.insert("still alive")
        try await eventually("the server has the peer's text", timeout: 120) {
            try await http("GET", "/parties/main/deep/text?name=t").text == "still alive"
        }
        #expect(try await http("GET", "/healthz").status == 200)
        let state = try await http("GET", "/parties/main/deep/state").body
        let reloaded = YDoc(clientID: 79)
        try reloaded.applyUpdate(Array(state))
        #expect(reloaded.getMap("root").get("deep") == nil)
        await peer.close()
        #expect(try await server.signal(SIGTERM) == 0)
    }
}
