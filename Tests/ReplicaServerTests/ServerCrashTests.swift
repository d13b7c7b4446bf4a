import CRDT
import Foundation
import Synchronization
import Sync
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash consistency of `ycli serve` (issue 15, "Prove it"): the server is SIGKILLed at seeded
/// random points while WebSocket writers with durable acknowledgements (`?ack=1`) and HTTP writers
/// (`POST .../update`, a 200 means committed) stream small updates to a few rooms; after each
/// kill it restarts on the same data directory, and every acknowledged update must be there.
///
/// Each writer appends unique markers (`<d r w n>`) to root text `t` with a client id of its own
/// for the round, and sends one update at a time: a WebSocket writer waits for the acknowledgement
/// (a SyncStep1 after journaling) before its next insert, an HTTP writer for the 200. The first
/// failure (the server is gone) ends the writer for the round, so no later update of that client
/// depends on one the server may not have. Bounded in count (rounds, updates per writer) and in
/// time (each round's writers stop at a deadline; every wait has its own bound).
@Suite("Server crash consistency", .serialized, .ownThread)
struct ServerCrashTests {
    static let rounds = 5
    static let rooms = ["crash-a", "crash-b", "crash-c"]
    /// At most this many updates per writer and round (the kill usually comes first).
    static let maxUpdatesPerWriter = 400
    /// Writers stop this long after a round starts, killed or not (the kill comes long before).
    static let roundSeconds = 30.0

    @Test("SIGKILL while WebSocket (acks) and HTTP writers stream: every acknowledged update survives the restart",
          // The default is full durability (docs/SERVER.md): run it as given too, flag-less.
          arguments: [["--durability", "full"], [], ["--durability", "normal"]])
    func killedWhileWriting(durability: [String]) async throws {
        let mode = durability.last ?? "default"
        let modeIndex: UInt64 = mode == "full" ? 0 : mode == "default" ? 1 : 2
        let dir = TempDir("ysync-crash-\(mode)")
        let data = dir.file("data")
        var rng = SeededRandom(seed: 0x5EED_1500 + modeIndex)
        /// Every acknowledged marker, by room, and the highest acknowledged clock of each writer's client.
        var acked: [String: [String]] = [:]
        var ackedClocks: [String: [ClientID: Clock]] = [:]
        var wsAcked = 0, httpAcked = 0, interrupted = 0
        let started = ContinuousClock.now

        for round in 0..<Self.rounds {
            let (server, port) = try await Ycli.serve(["--data", data] + durability)
            // Everything acknowledged in earlier rounds is there after the restart.
            try await Self.verify(port: port, acked: acked, clocks: ackedClocks, after: "restart before round \(round) (\(mode))")

            // Counted from the first acknowledgement on both paths, not from the start: on a busy
            // machine the WebSocket writers' handshakes alone took longer than a fixed delay.
            let killAfter = Double(rng.int(50...800)) / 1000
            let progress = AckProgress()
            let deadline = ContinuousClock.now + .milliseconds(Int(Self.roundSeconds * 1000))
            var writers: [(room: String, client: ClientID, http: Bool, tag: String)] = []
            for (r, room) in Self.rooms.enumerated() {
                for http in [false, true] {
                    let client = ClientID(1000 * (round + 1) + 10 * r + (http ? 2 : 1)) + 500_000 * modeIndex
                    writers.append((room, client, http, "<\(mode.first!) r\(round) \(http ? "h" : "w")\(r)"))
                }
            }
            let results = try await withThrowingTaskGroup(of: WriterResult.self) { group in
                for w in writers {
                    group.addTask {
                        w.http
                            ? await Self.httpWriter(port: port, room: w.room, client: w.client, tag: w.tag, deadline: deadline, progress: progress)
                            : await Self.wsWriter(port: port, room: w.room, client: w.client, tag: w.tag, deadline: deadline, progress: progress)
                    }
                }
                group.addTask {
                    // Bounded: after 20 s the kill comes anyway (and the test then says no acks came).
                    _ = await eventually(timeout: 20) { progress.bothPaths }
                    try await Task.sleep(for: .milliseconds(Int(killAfter * 1000)))
                    // SIGKILL: no shutdown, no flush; the writers see their connections fail.
                    let status = try await server.signal(SIGKILL, timeout: 30)
                    #expect(status == SIGKILL, "ycli serve ended with \(status), not by SIGKILL")
                    return WriterResult(room: "", client: 0, http: false)
                }
                var all: [WriterResult] = []
                for try await r in group where !r.room.isEmpty { all.append(r) }
                return all
            }
            for r in results {
                acked[r.room, default: []] += r.markers
                if !r.markers.isEmpty { ackedClocks[r.room, default: [:]][r.client] = r.lastClock }
                if r.http { httpAcked += r.markers.count } else { wsAcked += r.markers.count }
                if r.interrupted { interrupted += 1 }
            }
            let roundAcked = results.reduce(0) { $0 + $1.markers.count }
            print("crash round \(round) (\(mode)): killed \(Int(killAfter * 1000)) ms after the first acknowledgements, \(roundAcked) updates acknowledged")
        }

        // The last kill's restart: count what is missing instead of stopping at the first loss.
        let (server, port) = try await Ycli.serve(["--data", data] + durability)
        defer { server.stop() }
        var lost = 0
        for room in Self.rooms {
            let text = try await Self.text(port: port, room: room)
            lost += (acked[room] ?? []).filter { !text.contains($0) }.count
        }
        try await Self.verify(port: port, acked: acked, clocks: ackedClocks, after: "the last restart (\(mode))")
        let total = wsAcked + httpAcked
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        print("crash consistency (\(mode)): \(Self.rounds) kill rounds, \(Self.rooms.count) rooms, \(total) acknowledged "
              + "(\(wsAcked) WebSocket, \(httpAcked) HTTP), \(lost) lost, \(interrupted) writers cut off by a kill, \(String(format: "%.1f", seconds)) s")
        #expect(lost == 0)
        // The test proves something only if writes were acknowledged on both paths.
        #expect(wsAcked > 0 && httpAcked > 0, "WebSocket \(wsAcked), HTTP \(httpAcked) acknowledged")
        #expect(try await server.signal(SIGTERM) == 0)
    }

    struct WriterResult: Sendable {
        var room: String
        var client: ClientID
        var http: Bool
        /// The markers whose updates were acknowledged, in order.
        var markers: [String] = []
        /// The client's clock after the last acknowledged update.
        var lastClock: Clock = 0
        /// Ended by a failed send or a missing acknowledgement (the kill), not by its bounds.
        var interrupted = false
    }

    static func either(_ a: Bool, _ b: Bool) -> Bool { a || b }

    static func marker(_ tag: String, _ n: Int) -> String { "\(tag) n\(n)>" }

    /// A WebSocket writer with durable acknowledgements: one insert, then its acknowledgement.
    static func wsWriter(port: Int, room: String, client: ClientID, tag: String,
                         deadline: ContinuousClock.Instant, progress: AckProgress) async -> WriterResult {
        var result = WriterResult(room: room, client: client, http: false)
        guard let peer = try? await WSPeer.connect("ws://127.0.0.1:\(port)/parties/main/\(room)?ack=1", clientID: client) else {
            result.interrupted = true
            return result  // the server is already gone
        }
        // Synced, then a barrier (a SyncStep1 answered by a SyncStep2): the greeting's SyncStep1
        // has arrived by then, so every later SyncStep1 is an acknowledgement.
        let synced = await eventually(timeout: 10) { Self.either(await peer.isSynced, await peer.isEnded) }
        let step2 = await peer.step2Frames
        if synced, (try? await peer.send(SyncMessage.syncStep1(await peer.stateVector()).encoded())) != nil {
            _ = await eventually(timeout: 10) { Self.either(await peer.step2Frames > step2, await peer.isEnded) }
        }
        guard await peer.isSynced, await peer.step2Frames > step2, await !peer.isEnded else {
            await peer.close()
            result.interrupted = true
            return result
        }
        var n = 0
        while n < maxUpdatesPerWriter, ContinuousClock.now < deadline {
            let before = await peer.step1Frames
            let m = marker(tag, n)
            do { try await peer.insert(m) } catch {
                result.interrupted = true
                break
            }
            // Waits for the acknowledgement of this insert, or the end of the connection (the kill).
            _ = await eventually(timeout: 10) { Self.either(await peer.step1Frames > before, await peer.isEnded) }
            guard await peer.step1Frames > before else {
                result.interrupted = true
                break
            }
            result.markers.append(m)
            progress.acknowledged(http: false)
            result.lastClock = await peer.stateVector()[client]
            n += 1
        }
        await peer.close()
        return result
    }

    /// An HTTP writer: one update per POST; a 200 means committed.
    static func httpWriter(port: Int, room: String, client: ClientID, tag: String,
                           deadline: ContinuousClock.Instant, progress: AckProgress) async -> WriterResult {
        var result = WriterResult(room: room, client: client, http: true)
        let doc = YDoc(clientID: client)
        let t = doc.getText("t")
        var n = 0
        while n < maxUpdatesPerWriter, ContinuousClock.now < deadline {
            let sv = doc.stateVector
            let m = marker(tag, n)
            do { try doc.transact { try t.insert(at: t.length, m) } } catch { break }
            let update = doc.encodeStateAsUpdate(since: sv)
            // URLSession's bound is 10 s; a killed server refuses or resets at once.
            guard let answer = try? await httpRequest(port: port, "POST", "/parties/main/\(room)/update", body: Data(update)),
                  answer.status == 200 else {
                result.interrupted = true
                break
            }
            result.markers.append(m)
            progress.acknowledged(http: true)
            result.lastClock = doc.stateVector[client]
            n += 1
        }
        return result
    }

    static func text(port: Int, room: String) async throws -> String {
        let answer = try await httpRequest(port: port, "GET", "/parties/main/\(room)/text?name=t")
        guard answer.status == 200 else { throw TestFailure.failed("GET \(room)/text: \(answer.status) \(answer.text)") }
        return answer.text
    }

    /// Every acknowledged marker is in its room's text, and the room's state vector covers every
    /// acknowledged clock.
    static func verify(port: Int, acked: [String: [String]], clocks: [String: [ClientID: Clock]], after: String) async throws {
        for room in rooms {
            let text = try await text(port: port, room: room)
            let missing = (acked[room] ?? []).filter { !text.contains($0) }
            #expect(missing.isEmpty, "after \(after): \(missing.count) acknowledged updates missing in \(room), e.g. \(missing.prefix(3))")
            let state = try await httpRequest(port: port, "GET", "/parties/main/\(room)/state")
            let sv = try Updates.stateVector(of: Array(state.body))
            for (client, clock) in clocks[room] ?? [:] {
                #expect(sv[client] >= clock, "after \(after): \(room) has clock \(sv[client]) of client \(client), \(clock) was acknowledged")
            }
        }
    }
}

/// Whether each path (WebSocket, HTTP) has had an acknowledgement in this round: the kill waits
/// for both, so that every round tests both.
final class AckProgress: Sendable {
    private let paths = Mutex((ws: false, http: false))

    func acknowledged(http: Bool) {
        paths.withLock { if http { $0.http = true } else { $0.ws = true } }
    }

    var bothPaths: Bool { paths.withLock { $0.ws && $0.http } }
}
