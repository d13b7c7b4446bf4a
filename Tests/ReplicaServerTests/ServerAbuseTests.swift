import CRDT
import Foundation
import ReplicaServer
import Replica
import RoomHost
import Sync
import Testing
import TestSupport

/// Hostile clients cannot grow the server's memory without bound (issue 15): awareness floods
/// and oversized states close the offending connection with 4031, clients that never read are
/// closed with 4008 once their queue passes its bytes (or their share of the server's), and
/// the others keep syncing. RSS is this process's (the server runs in it); the bounds stated
/// are far below what the same abuse took before the limits (1.42 GB for the awareness flood,
/// connections × update bytes for the non-readers) and leave room for suites running beside.
@Suite("Server abuse", .serialized)
struct ServerAbuseTests {
    static let mib = 1 << 20

    /// One awareness message of `count` entries `(first + i, 1, "null")`.
    static func nullFlood(first: Int, count: Int) -> [UInt8] {
        var w = Lib0Writer()
        w.writeVarUInt(count)
        for i in 0..<count {
            w.writeVarUInt(UInt64(first + i))
            w.writeVarUInt(1)
            w.writeString("null")
        }
        return SyncMessage.awareness(w.bytes).encoded()
    }

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

    @Test("1.2M awareness entries in 12 frames: the flooder is closed with 4031 at its first, RSS stays bounded")
    func awarenessFlood() async throws {
        let server = try await TestServer.start()
        let calm = try await WSPeer.connect(server.url("flood"))
        let other = try await WSPeer.connect(server.url("flood"))
        let flooder = try await WSPeer.connect(server.url("flood"))
        try await eventually("synced") { await allSynced([calm, other, flooder]) }
        try await calm.sendAwareness(client: 7, clock: 1, json: #"{"name":"calm"}"#)
        try await eventually("calm's presence relayed") { await other.awarenessMessages.count >= 1 }
        let before = residentBytes()
        var sent = 0
        for frame in 0..<12 {  // 100,000 entries (about 0.9 MB) per frame, under the 16 MiB limit
            do { try await flooder.send(Self.nullFlood(first: 1_000_000 + frame * 100_000, count: 100_000)) } catch { break }
            sent += 1
        }
        #expect(try await closeCode(flooder) == Int(CloseCode.awarenessTooLarge.rawValue))
        try await stillSyncs(calm, other, server, room: "flood", text: "still here")
        let after = residentBytes()
        let users = try await server.http("GET", "/parties/main/flood")
        print("awareness flood: \(sent) frames of 100000 null entries sent; RSS \(before / Self.mib) -> \(after / Self.mib) MiB; "
              + "close \(CloseCode.awarenessTooLarge); GET room \(users.body.count) bytes")
        #expect(after - before < 120 * Self.mib)  // +20 MiB alone, up to +80 with the other suites running beside
        #expect(users.status == 200 && users.body.count < 1_000)
        #expect(server.server.host.counters.value("ysync_awareness_refused_total") == 1)
        #expect(server.server.host.counters.value("ysync_connections_closed_total", labels: ["code": "4031"]) == 1)
        #expect(server.logs.all.contains { $0.contains("4031 awareness too large") && $0.contains("client ids from one connection") })
        await server.stop()
    }

    @Test("states of 8 MB are refused (4031) before they are parsed or stored; GET room stays small")
    func oversizedStates() async throws {
        let server = try await TestServer.start()
        let calm = try await WSPeer.connect(server.url("big"))
        let other = try await WSPeer.connect(server.url("big"))
        try await eventually("synced") { await allSynced([calm, other]) }
        let state = #"{"junk":""# + String(repeating: "x", count: 8_000_000) + #""}"#
        let before = residentBytes()
        for i in 0..<5 {
            let abuser = try await WSPeer.connect(server.url("big"))
            try await abuser.sendAwareness(client: ClientID(100 + i), clock: 1, json: state)
            #expect(try await closeCode(abuser) == Int(CloseCode.awarenessTooLarge.rawValue))
        }
        try await stillSyncs(calm, other, server, room: "big", text: "fine")
        let after = residentBytes()
        let users = try await server.http("GET", "/parties/main/big")
        print("oversized states: 5 states of 8 MB; RSS \(before / Self.mib) -> \(after / Self.mib) MiB; GET room \(users.body.count) bytes")
        #expect(users.body.count < 1_000)
        #expect(after - before < 150 * Self.mib)  // the frames themselves pass through (5 × 8 MB), nothing stays
        await server.stop()
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

    /// 1 MiB updates, each from its own client (no writer document to hold).
    static func megabyteUpdate(_ i: Int) throws -> [UInt8] {
        let doc = YDoc(clientID: ClientID(10_000 + i))
        try doc.transact { try doc.getText("t").insert(at: 0, String(repeating: Character(UnicodeScalar(UInt8(97 + i % 26))), count: mib)) }
        return doc.encodeStateAsUpdate()
    }

    /// Posts 20 updates of 1 MiB to `room`, each once `reader` has read the one before (a
    /// reader, not a burst); returns the peak RSS seen.
    func post20MiB(_ server: TestServer, room: String, reader: RawWebSocket) async throws -> Int {
        var peak = residentBytes()
        for i in 0..<20 {
            let r = try await server.http("POST", "/parties/main/\(room)/update", body: Data(try Self.megabyteUpdate(i)))
            #expect(r.status == 200)
            try await reader.read(until: { $0.payloadBytes >= (i + 1) * Self.mib })
            peak = max(peak, residentBytes())
        }
        return peak
    }

    /// 10 clients that never read and 20 MiB of updates: each is closed with 4008 (by `limit`),
    /// a reading client gets everything. The RSS growth is compared with a control room of the
    /// same server that gets the same updates without non-readers (what the documents, the
    /// journal and the requests cost), so the difference is what the queues held.
    func nonReaders(room: String, limit: String, _ configure: @escaping (inout RoomLimits) -> Void) async throws {
        let server = try await TestServer.start { configure(&$0.limits) }
        let step1 = SyncMessage.syncStep1(stateVector: StateVector().encoded()).encoded()
        let control = try await RawWebSocket(port: server.port, path: "/parties/main/control-\(room)")
        try await control.sendBinary(step1)
        let controlBefore = residentBytes()
        let controlPeak = try await post20MiB(server, room: "control-\(room)", reader: control)

        let reader = try await RawWebSocket(port: server.port, path: "/parties/main/\(room)")
        try await reader.sendBinary(step1)
        var slow: [RawWebSocket] = []
        for _ in 0..<10 {
            let s = try await RawWebSocket(port: server.port, path: "/parties/main/\(room)", receiveBuffer: 16 << 10)
            try await s.sendBinary(step1)
            slow.append(s)
        }
        try await eventually("all joined") { server.server.host.counters.value("ysync_connections_total") == 12 }
        let before = residentBytes()
        let peak = try await post20MiB(server, room: room, reader: reader)
        let overflows = server.server.host.counters.value("ysync_outbound_overflows_total", labels: ["limit": limit])
        var codes: [Int?] = []
        var delivered: [Int] = []
        for s in slow {
            let d = try await s.drainUntilClose()
            codes.append(d.closeCode)
            delivered.append(d.payloadBytes / Self.mib)
        }
        let controlGrowth = controlPeak - controlBefore, growth = peak - before
        print("non-readers (\(limit)): 10 × 20 MiB of updates; RSS \(before / Self.mib) -> peak \(peak / Self.mib) MiB "
              + "(+\(growth / Self.mib); the control room without non-readers +\(controlGrowth / Self.mib)); "
              + "closes \(codes.map { $0.map(String.init) ?? "none" }); MiB each read before the close \(delivered); "
              + "reader \(reader.received.payloadBytes / Self.mib) MiB in \(reader.received.frames) frames")
        #expect(codes.allSatisfy { $0 == Int(CloseCode.tooSlow.rawValue) })
        #expect(overflows == 10)
        #expect(server.server.host.counters.value("ysync_connections_closed_total", labels: ["code": "4008"]) == 10)
        #expect(server.logs.all.filter { $0.contains("4008 too slow") }.count == 10)
        #expect(reader.received.closeCode == nil && reader.received.payloadBytes >= 20 * Self.mib)
        // Unbounded queues would add 10 × 20 MiB to what the control room took.
        #expect(growth - controlGrowth < 110 * Self.mib)
        await server.stop()
    }

    @Test("10 non-readers × 20 MiB: each closed with 4008 at its own byte limit; the reader gets it all")
    func nonReadersPerConnection() async throws {
        try await nonReaders(room: "slow", limit: "connection_bytes") { $0.maxQueuedBytes = 4 << 20 }
    }

    @Test("10 non-readers × 20 MiB: the server's shared budget closes them with 4008 at their share; the reader gets it all")
    func nonReadersSharedBudget() async throws {
        try await nonReaders(room: "slow2", limit: "server_bytes") { $0.maxQueuedBytesTotal = 24 << 20 }
    }
}
