import CRDT
import Foundation
import Replica
import Sync
import Testing
import TestSupport

/// The heavy cases of `ServerAbuseTests` (issue 15), against `ycli serve` as a child process:
/// the awareness flood, the oversized states and the clients that never read push megabytes
/// through the server, so its seconds of CPU stay off this process's cooperative pool (where they
/// pushed the suites running beside past their bounded waits), and the RSS is the server's own
/// (VmRSS in /proc/PID/status; this process and the suites beside it do not count). The bounds
/// are those the in-process tests stated, far below what the same abuse took before the limits
/// (1.42 GB for the awareness flood, connections × update bytes for the non-readers).
@Suite("Server abuse floods (child process)", .serialized, .ownThread)
struct ServerAbuseFloodTests {
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

    /// 1 MiB updates, each from its own client (no writer document to hold).
    static func megabyteUpdate(_ i: Int) throws -> [UInt8] {
        let doc = YDoc(clientID: ClientID(10_000 + i))
        try doc.transact { try doc.getText("t").insert(at: 0, String(repeating: Character(UnicodeScalar(UInt8(97 + i % 26))), count: mib)) }
        return doc.encodeStateAsUpdate()
    }

    /// `ycli serve` with the durability the in-process tests had (`TestServer`: normal).
    static func serve(_ dir: TempDir, _ args: [String] = []) async throws -> (ChildProcess, Int) {
        try await Ycli.serve(["--data", dir.file("data"), "--durability", "normal"] + args)
    }

    static func url(_ port: Int, _ room: String) -> String { "ws://127.0.0.1:\(port)/parties/main/\(room)" }

    func closeCode(_ peer: WSPeer) async throws -> Int? {
        try await eventually("connection closed", timeout: 30) { await peer.isEnded }
        return peer.transport.serverClose?.code
    }

    /// The other client of the room still edits and receives.
    func stillSyncs(_ a: WSPeer, _ b: WSPeer, port: Int, room: String, text: String) async throws {
        try await a.insert(text)
        try await eventually("the other client gets the edit", timeout: 30) { await b.text().hasSuffix(text) }
        try await roundTrip(b)
        #expect(try await httpRequest(port: port, "GET", "/parties/main/\(room)/text?name=t").text.hasSuffix(text))
    }

    @Test("1.2M awareness entries in 12 frames: the flooder is closed with 4031 at its first, RSS stays bounded")
    func awarenessFlood() async throws {
        let dir = TempDir("ysync-awareness-flood")
        let (server, port) = try await Self.serve(dir)
        defer { server.stop() }
        let calm = try await WSPeer.connect(Self.url(port, "flood"))
        let other = try await WSPeer.connect(Self.url(port, "flood"))
        let flooder = try await WSPeer.connect(Self.url(port, "flood"))
        try await eventually("synced", timeout: 30) { await allSynced([calm, other, flooder]) }
        try await calm.sendAwareness(client: 7, clock: 1, json: #"{"name":"calm"}"#)
        try await eventually("calm's presence relayed", timeout: 30) { await other.awarenessMessages.count >= 1 }
        let before = residentBytes(pid: server.pid)
        var sent = 0
        for frame in 0..<12 {  // 100,000 entries (about 0.9 MB) per frame, under the 16 MiB limit
            do { try await flooder.send(Self.nullFlood(first: 1_000_000 + frame * 100_000, count: 100_000)) } catch { break }
            sent += 1
        }
        #expect(try await closeCode(flooder) == Int(CloseCode.awarenessTooLarge.rawValue))
        try await stillSyncs(calm, other, port: port, room: "flood", text: "still here")
        let after = residentBytes(pid: server.pid)
        let users = try await httpRequest(port: port, "GET", "/parties/main/flood")
        print("awareness flood: \(sent) frames of 100000 null entries sent; server RSS \(before / Self.mib) -> \(after / Self.mib) MiB; "
              + "close \(CloseCode.awarenessTooLarge); GET room \(users.body.count) bytes")
        #expect(after - before < 120 * Self.mib)  // measured (debug, the server alone): +6 to +10 MiB
        #expect(users.status == 200 && users.body.count < 1_000)
        #expect(try await ServerFloodTests.metric(port, "ysync_awareness_refused_total") == 1)
        #expect(try await ServerFloodTests.metric(port, #"ysync_connections_closed_total{code="4031"}"#) == 1)
        #expect(server.stderr.split(separator: "\n").contains { $0.contains("4031 awareness too large") && $0.contains("client ids from one connection") })
    }

    @Test("states of 8 MB are refused (4031) before they are parsed or stored; GET room stays small")
    func oversizedStates() async throws {
        let dir = TempDir("ysync-oversized-states")
        let (server, port) = try await Self.serve(dir)
        defer { server.stop() }
        let calm = try await WSPeer.connect(Self.url(port, "big"))
        let other = try await WSPeer.connect(Self.url(port, "big"))
        try await eventually("synced", timeout: 30) { await allSynced([calm, other]) }
        let state = #"{"junk":""# + String(repeating: "x", count: 8_000_000) + #""}"#
        let before = residentBytes(pid: server.pid)
        var peak = before
        for i in 0..<5 {
            let abuser = try await WSPeer.connect(Self.url(port, "big"))
            try await abuser.sendAwareness(client: ClientID(100 + i), clock: 1, json: state)
            #expect(try await closeCode(abuser) == Int(CloseCode.awarenessTooLarge.rawValue))
            peak = max(peak, residentBytes(pid: server.pid))
        }
        try await stillSyncs(calm, other, port: port, room: "big", text: "fine")
        let after = residentBytes(pid: server.pid)
        let users = try await httpRequest(port: port, "GET", "/parties/main/big")
        print("oversized states: 5 states of 8 MB; server RSS \(before / Self.mib) -> peak \(peak / Self.mib) -> \(after / Self.mib) MiB; GET room \(users.body.count) bytes")
        #expect(users.body.count < 1_000)
        #expect(after - before < 150 * Self.mib)  // the frames themselves pass through (5 × 8 MB), nothing stays
        #expect(try await ServerFloodTests.metric(port, #"ysync_connections_closed_total{code="4031"}"#) == 5)
    }

    /// Posts 20 updates of 1 MiB to `room`, each once `reader` has read the one before (a
    /// reader, not a burst); returns the peak RSS of the server seen.
    func post20MiB(_ server: ChildProcess, port: Int, room: String, reader: RawWebSocket) async throws -> Int {
        var peak = residentBytes(pid: server.pid)
        for i in 0..<20 {
            let r = try await httpRequest(port: port, "POST", "/parties/main/\(room)/update",
                                          body: Data(try Self.megabyteUpdate(i)), timeout: 60)
            #expect(r.status == 200)
            try await reader.read(until: { $0.payloadBytes >= (i + 1) * Self.mib }, timeout: .seconds(60))
            peak = max(peak, residentBytes(pid: server.pid))
        }
        return peak
    }

    /// 10 clients that never read and 20 MiB of updates: each is closed with 4008 (by `limit`),
    /// a reading client gets everything. The RSS growth is compared with a control room of the
    /// same server that gets the same updates without non-readers (what the documents, the
    /// journal and the requests cost), so the difference is what the queues held.
    func nonReaders(room: String, limit: String, _ args: [String]) async throws {
        let dir = TempDir("ysync-non-readers")
        let (server, port) = try await Self.serve(dir, args)
        defer { server.stop() }
        let step1 = SyncMessage.syncStep1(stateVector: StateVector().encoded()).encoded()
        let control = try await RawWebSocket(port: port, path: "/parties/main/control-\(room)")
        try await control.sendBinary(step1)
        let controlBefore = residentBytes(pid: server.pid)
        let controlPeak = try await post20MiB(server, port: port, room: "control-\(room)", reader: control)

        let reader = try await RawWebSocket(port: port, path: "/parties/main/\(room)")
        try await reader.sendBinary(step1)
        var slow: [RawWebSocket] = []
        for _ in 0..<10 {
            let s = try await RawWebSocket(port: port, path: "/parties/main/\(room)", receiveBuffer: 16 << 10)
            try await s.sendBinary(step1)
            slow.append(s)
        }
        try await eventually("all joined", timeout: 30) { (try? await ServerFloodTests.metric(port, "ysync_connections_total")) == 12 }
        let before = residentBytes(pid: server.pid)
        let peak = try await post20MiB(server, port: port, room: room, reader: reader)
        var codes: [Int?] = []
        var delivered: [Int] = []
        for s in slow {
            let d = try await s.drainUntilClose()
            codes.append(d.closeCode)
            delivered.append(d.payloadBytes / Self.mib)
        }
        let overflows = try await ServerFloodTests.metric(port, #"ysync_outbound_overflows_total{limit="\#(limit)"}"#)
        let controlGrowth = controlPeak - controlBefore, growth = peak - before
        print("non-readers (\(limit)): 10 × 20 MiB of updates; server RSS \(before / Self.mib) -> peak \(peak / Self.mib) MiB "
              + "(+\(growth / Self.mib); the control room without non-readers +\(controlGrowth / Self.mib)); "
              + "closes \(codes.map { $0.map(String.init) ?? "none" }); MiB each read before the close \(delivered); "
              + "reader \(reader.received.payloadBytes / Self.mib) MiB in \(reader.received.frames) frames")
        #expect(codes.allSatisfy { $0 == Int(CloseCode.tooSlow.rawValue) })
        #expect(overflows == 10)
        #expect(try await ServerFloodTests.metric(port, #"ysync_connections_closed_total{code="4008"}"#) == 10)
        #expect(server.stderr.split(separator: "\n").filter { $0.contains("4008 too slow") }.count == 10)
        #expect(reader.received.closeCode == nil && reader.received.payloadBytes >= 20 * Self.mib)
        // Unbounded queues would add 10 × 20 MiB to what the control room took.
        #expect(growth - controlGrowth < 110 * Self.mib)
    }

    @Test("10 non-readers × 20 MiB: each closed with 4008 at its own byte limit; the reader gets it all")
    func nonReadersPerConnection() async throws {
        try await nonReaders(room: "slow", limit: "connection_bytes", ["--max-queued-bytes", "\(4 << 20)"])
    }

    @Test("10 non-readers × 20 MiB: the server's shared budget closes them with 4008 at their share; the reader gets it all")
    func nonReadersSharedBudget() async throws {
        try await nonReaders(room: "slow2", limit: "server_bytes", ["--max-queued-bytes-total", "\(24 << 20)"])
    }
}
