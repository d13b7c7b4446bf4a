import CRDT
import Foundation
import ReplicaServer
import Replica
import RoomHost
import Sync
import Testing
import TestSupport

/// Hostile clients cannot take the room's awareness (issue 15): the connection that would pass
/// the room's state limit is closed with 4031 and the others keep syncing; a connection cannot
/// change the state of a client id another announced. The light cases, with the server in this
/// process; the floods that push megabytes through it (awareness floods, oversized states,
/// clients that never read) are in `ServerAbuseFloodTests`, against `ycli serve` as a child.
@Suite("Server abuse", .serialized)
struct ServerAbuseTests {
    func closeCode(_ peer: WSPeer) async throws -> Int? {
        try await eventually("connection closed", timeout: 30) { await peer.isEnded }
        return peer.transport.serverClose?.code
    }

    /// The other client of the room still edits and receives.
    func stillSyncs(_ a: WSPeer, _ b: WSPeer, _ server: TestServer, room: String, text: String) async throws {
        try await a.insert(text)
        try await eventually("the other client gets the edit") { await b.text().hasSuffix(text) }
        try await roundTrip(b)
        #expect(try await server.http("GET", "/parties/main/\(room)/text?name=t").text.hasSuffix(text))
    }

    @Test("the room's state limit: the connection that would pass it is closed, the others stay")
    func roomStateLimit() async throws {
        let server = try await TestServer.start { $0.limits.maxAwarenessStates = 3 }
        var peers: [WSPeer] = []
        for i in 0..<4 {
            let p = try await WSPeer.connect(server.url("full"))
            try await eventually("synced") { await p.isSynced }
            try await p.sendAwareness(client: ClientID(50 + i), clock: 1, json: #"{"n":\#(i)}"#)
            if i < 3 { try await roundTrip(p) }  // (the fourth is closed: no answer comes)
            peers.append(p)
        }
        #expect(try await closeCode(peers[3]) == Int(CloseCode.awarenessTooLarge.rawValue))
        let users = try await server.http("GET", "/parties/main/full").json()["users"] as? [Any]
        #expect(users?.count == 3)
        try await stillSyncs(peers[0], peers[1], server, room: "full", text: "ok")
        #expect(await !peers[2].isEnded)
        await server.stop()
    }

    @Test("a connection cannot change or remove the awareness state of a client id another connection announced")
    func awarenessSpoofing() async throws {
        let server = try await TestServer.start()
        let owner = try await WSPeer.connect(server.url("spoof"))
        let spoofer = try await WSPeer.connect(server.url("spoof"))
        try await eventually("synced") { await allSynced([owner, spoofer]) }
        try await owner.sendAwareness(client: 7, clock: 1, json: #"{"user":"ada"}"#)
        try await eventually("the owner's state is there") { await spoofer.awarenessMessages.count >= 1 }
        for clock in 2...4 { try await spoofer.sendAwareness(client: 7, clock: UInt64(clock), json: clock == 4 ? nil : #"{"user":"mallory"}"#) }
        try await spoofer.sendAwareness(client: 8, clock: 1, json: #"{"user":"mallory"}"#)  // its own id applies
        try await eventually("the spoofer's own state is there") {
            ((try? await server.http("GET", "/parties/main/spoof").json()["users"]) as? [String])?.count == 2
        }
        let users = try await server.http("GET", "/parties/main/spoof").json()["users"] as? [String]
        #expect(users == ["ada", "mallory"])
        let counters = server.server.host.counters
        #expect(counters.value("ysync_awareness_spoofed_total") == 3)
        #expect(server.logs.all.filter { $0.contains("about client ids another connection announced") }.count == 1)
        #expect(await !spoofer.isEnded)
        await server.stop()
    }
}
