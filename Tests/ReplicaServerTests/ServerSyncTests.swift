import CRDT
import Foundation
import Journal
import Replica
import ReplicaServer
import Sync
import Testing
import TestSupport

/// Sync through the real server over real sockets on 127.0.0.1.
@Suite("Server sync")
struct ServerSyncTests {
    @Test("two peers in a room converge; nobody is sent its own update back")
    func twoPeersConverge() async throws {
        let server = try await TestServer.start()
        let a = try await WSPeer.connect(server.url("r1"))
        let b = try await WSPeer.connect(server.url("r1"))
        try await eventually("both synced") { await allSynced([a, b]) }
        try await a.insert("hello ")
        try await eventually("b sees a") { await b.text() == "hello " }
        try await b.insert("world")
        try await eventually("a sees b") { await a.text() == "hello world" }
        // a got exactly b's one update; b got exactly a's one.
        #expect(await a.updateFrames == 1)
        #expect(await b.updateFrames == 1)
        #expect(await a.stateVector() == b.stateVector())
        let text = try await server.http("GET", "/parties/main/r1/text?name=t")
        #expect(text.text == "hello world")
        await a.close()
        await b.close()
        await server.stop()
    }

    @Test("rooms are separate")
    func roomsAreSeparate() async throws {
        let server = try await TestServer.start()
        let a = try await WSPeer.connect(server.url("left"))
        let b = try await WSPeer.connect(server.url("right"))
        try await eventually("synced") { await allSynced([a, b]) }
        try await a.insert("only left")
        try await eventually("server has it") { try await server.http("GET", "/parties/main/left/text?name=t").text == "only left" }
        // The server relays while it applies (before the HTTP read shows it): anything it sent b
        // for it would be queued ahead of the answer to b's SyncStep1.
        try await roundTrip(b)
        #expect(await b.text() == "")
        #expect(try await server.http("GET", "/parties/main/right/text?name=t").text == "")
        await server.stop()
    }

    @Test("a late joiner gets everything in its SyncStep2; a restarted server still has it all")
    func lateJoinerAndRestart() async throws {
        let data = TempDir("ysync-restart")
        var server = try await TestServer.start(dataDirectory: data.path)
        let a = try await WSPeer.connect(server.url("doc"))
        try await eventually("synced") { await allSynced([a]) }
        for i in 0..<20 { try await a.insert("line \(i)\n") }
        let expected = await a.text()
        try await eventually("server has all") { try await server.http("GET", "/parties/main/doc/text?name=t").text == expected }
        let late = try await WSPeer.connect(server.url("doc"))
        try await eventually("late joiner") { await late.text() == expected }
        await a.close()
        await late.close()
        await server.stop()

        server = try await TestServer.start(dataDirectory: data.path)
        let again = try await WSPeer.connect(server.url("doc"))
        try await eventually("after restart") { await again.text() == expected }
        await server.stop()
    }

    @Test("Replica clients (journaled stores) sync through the server and confirm their changes")
    func replicasThroughServer() async throws {
        let server = try await TestServer.start()
        let dir = TempDir("ysync-replicas")
        let r1 = try Replica(path: dir.file("one.ystore"), create: true, clientID: 11)
        let r2 = try Replica(path: dir.file("two.ystore"), create: true, clientID: 22)
        try await r1.edit { doc in try doc.getText("t").insert(at: 0, "offline edit one. ") }
        try await r2.edit { doc in try doc.getText("t").insert(at: 0, "offline edit two. ") }
        #expect(await r1.unsyncedChanges > 0)
        let url = server.url("shared", query: "ack=1")
        await r1.connect(dial: { try await WebSocketTransport.connect(url: url) })
        await r2.connect(dial: { try await WebSocketTransport.connect(url: url) })
        try await eventually("replicas agree") {
            let t1 = await r1.read { $0.getText("t").string }
            let t2 = await r2.read { $0.getText("t").string }
            return t1 == t2 && t1.count == "offline edit one. offline edit two. ".count
        }
        try await eventually("changes confirmed") {
            let u1 = await r1.unsyncedChanges, u2 = await r2.unsyncedChanges
            return u1 == 0 && u2 == 0
        }
        try await r1.edit { doc in try doc.getText("t").insert(at: 0, ">") }
        try await eventually("online edit relayed") { await r2.read { $0.getText("t").string.hasPrefix(">") } }
        await r1.close()
        await r2.close()
        await server.stop()
    }

    @Test("presence: a Replica publishes its awareness state through the server, the other sees it and sees it go")
    func presenceThroughServer() async throws {
        let server = try await TestServer.start()
        let dir = TempDir("ysync-presence")
        let r1 = try Replica(path: dir.file("one.ystore"), create: true, clientID: 11)
        let r2 = try Replica(path: dir.file("two.ystore"), create: true, clientID: 22)
        let url = server.url("presence")
        try await r1.setPresence(#"{"user":{"name":"ada"}}"#)
        let s1 = await r1.connect(dial: { try await WebSocketTransport.connect(url: url) })
        await r2.connect(dial: { try await WebSocketTransport.connect(url: url) })
        try await eventually("r2 sees r1's presence") { await r2.presence[11] == #"{"user":{"name":"ada"}}"# }
        try await r2.setPresence(#"{"user":{"name":"bo"}}"#)
        try await eventually("r1 sees r2's presence") { await r1.presence[22] == #"{"user":{"name":"bo"}}"# }
        // The server drops the states of a connection that closes, and tells the others.
        await r1.disconnect(s1)
        try await eventually("r1's presence gone from r2") { await r2.presence[11] == nil }
        await r1.close()
        await r2.close()
        await server.stop()
    }

    @Test("durable acknowledgements: only connections that ask get a SyncStep1 after each update")
    func durableAcks() async throws {
        let server = try await TestServer.start()
        let acked = try await WSPeer.connect(server.url("acks", query: "ack=1"))
        let plain = try await WSPeer.connect(server.url("acks"))
        try await eventually("synced") { await allSynced([acked, plain]) }
        // The greeting only: an empty step 2 is not acknowledged (that would ping-pong). An
        // acknowledgement of it would arrive before the answer to a later SyncStep1.
        try await roundTrip(acked)
        #expect(await acked.step1Frames == 1)
        try await acked.insert("a")
        try await eventually("update acknowledged") { await acked.step1Frames == 2 }
        try await plain.insert("b")
        try await eventually("relayed") { await acked.text().count == 2 }
        // Barriers on both connections: any acknowledgement would be queued ahead of these answers.
        try await roundTrip(plain)
        try await roundTrip(acked)
        #expect(await plain.step1Frames == 1)  // the greeting only
        #expect(await acked.step1Frames == 2)  // no ack for someone else's update, none for its empty step 2s
        await server.stop()
    }
}
