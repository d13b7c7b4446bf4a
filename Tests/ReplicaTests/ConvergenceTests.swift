import CRDT
import Foundation
import Journal
import Replica
import Sync
import Testing
import TestSupport

/// Seeded randomized convergence: N replicas (2–16) in a random tree of in-memory links, random
/// concurrent edits to Text/Map/Array (nested types too), random partitions and heals, dropped
/// connections, and (lossy profile) dropped, duplicated and reordered frames. After healing and
/// quiescence every replica must hold the same content and state vector.
/// `YSYNC_SOAK=N` runs N times as many seeds; `YSYNC_SEED=S` replays one.
@Suite("Replica convergence", .serialized, .ownThread)
struct ConvergenceTests {
    static let seeds = TestEnvironment.seeds(base: 6, salt: 0x5EED_0000)

    @Test("random edits, partitions, drops, duplicates, reordering", arguments: seeds)
    func randomized(seed: UInt64) async throws {
        var g = SeededRandom(seed: seed)
        let sizes = [2, 3, 4, 5, 8, 16]
        let n = seed == Self.seeds.first ? 16 : g.pick(sizes)
        let lossy = g.chance(0.6)
        let profileSeed = g.next()
        func profile() -> FaultProfile {
            lossy ? FaultProfile(latency: 0...0.003, dropRate: 0.05, duplicateRate: 0.05, reorderRate: 0.1,
                                 reorderWindow: 0.01, seed: profileSeed &+ UInt64(g.int(0...1_000_000)))
                  : .perfect
        }
        let dir = TempDir()
        defer { dir.remove() }
        var options = ReplicaOptions()
        options.session = SyncSession.Options(handshakeRetry: 0.1, resyncInterval: lossy ? 0.15 : nil)
        options.tickInterval = .milliseconds(50)
        var replicas: [Replica] = []
        for i in 0..<n {
            replicas.append(try Replica(path: dir.file("r\(i).ystore"), create: true, clientID: ClientID(i + 1),
                                        journal: fastJournal(), options: options))
        }
        // A random tree: every replica but the first hangs off an earlier one.
        var edges: [Edge] = []
        for b in 1..<n {
            let a = g.int(0..<b)
            let (net, sa, sb) = await connectPair(replicas[a], replicas[b], profile: profile())
            edges.append(Edge(a: a, b: b, network: net, sessions: (sa, sb)))
        }
        let rounds = g.int(3...6)
        for _ in 0..<rounds {
            // Faults for this round.
            for i in edges.indices {
                let r = g.int(0..<10)
                if r < 2 { edges[i].network.partition() } else if r < 5 { edges[i].network.heal() } else if r == 5 {
                    // The connection drops; a new one (fresh handshake) replaces it.
                    await replicas[edges[i].a].disconnect(edges[i].sessions.0)
                    await replicas[edges[i].b].disconnect(edges[i].sessions.1)
                    let (net, sa, sb) = await connectPair(replicas[edges[i].a], replicas[edges[i].b], profile: profile())
                    if g.chance(0.5) { net.partition() }
                    edges[i].network = net
                    edges[i].sessions = (sa, sb)
                }
            }
            // Concurrent edits: several at a time on different replicas.
            let edits = g.int(5...(4 * n))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<edits {
                    let r = replicas[g.int(0..<n)]
                    let s = g.next()
                    group.addTask { try await r.edit { doc in var eg = SeededRandom(seed: s); try randomEdit(doc, &eg) } }
                }
                try await group.waitForAll()
            }
            // A random pause lets this round's frames fly (0-3 ms latency) into the next round's
            // partitions: variety in the schedule, never something a check waits for.
            try await Task.sleep(for: .milliseconds(g.int(0...30)))
        }
        for e in edges { e.network.heal() }
        for r in replicas { await r.resync() }
        let problem = await waitForConvergence(replicas, timeout: 60)
        #expect(problem == nil, "seed \(seed) (YSYNC_SEED=\(seed)), \(n) replicas, lossy \(lossy): \(problem ?? "")")
        for r in replicas { await r.close() }
    }

    /// After the handshake a peer is never sent an update it already has: every SyncStep2 and
    /// Update frame received must change the receiver's document (perfect links, so that no
    /// resync is needed; confirmations off: an answer to a confirmation can race an update, the
    /// one redundancy the protocol accepts — see `SyncSession`).
    @Test("no redundant traffic", arguments: TestEnvironment.seeds(base: 3, salt: 0xDEAD_0000))
    func noRedundantTraffic(seed: UInt64) async throws {
        var g = SeededRandom(seed: seed)
        let n = g.int(3...8)
        let dir = TempDir()
        defer { dir.remove() }
        let options = ReplicaOptions(confirmations: false)
        var replicas: [Replica] = []
        for i in 0..<n {
            replicas.append(try Replica(path: dir.file("r\(i).ystore"), create: true, clientID: ClientID(i + 1),
                                        journal: fastJournal(), options: options))
        }
        var parents: [Int] = [0]
        for b in 1..<n { parents.append(g.int(0..<b)) }
        func editAll(_ count: Int) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<count {
                    let r = replicas[g.int(0..<n)]
                    let s = g.next()
                    group.addTask { try await r.edit { doc in var eg = SeededRandom(seed: s); try randomEdit(doc, &eg) } }
                }
                try await group.waitForAll()
            }
        }
        // Offline edits, then connect (handshakes), then live edits, then drop everything,
        // edit offline again and reconnect.
        try await editAll(5 * n)
        for phase in 0..<2 {
            var sessions: [(Int, SessionID, Int, SessionID)] = []
            for b in 1..<n {
                let (_, sa, sb) = await connectPair(replicas[parents[b]], replicas[b], profile: .perfect)
                sessions.append((parents[b], sa, b, sb))
            }
            try await editAll(5 * n)
            let problem = await waitForConvergence(replicas)
            #expect(problem == nil, "seed \(seed), phase \(phase): \(problem ?? "")")
            // Every frame received: the redundancy counters are final (confirmations are off).
            #expect(await waitForDelivery(replicas, acknowledged: false), "seed \(seed), phase \(phase)")
            var total = ReplicaStats()
            for r in replicas { total = total + (await r.stats) }
            #expect(total.redundantUpdatesReceived == 0, "seed \(seed) phase \(phase): \(total.redundantUpdatesReceived) redundant updates")
            #expect(total.redundantStep2Received == 0, "seed \(seed) phase \(phase): \(total.redundantStep2Received) redundant step 2")
            for (a, sa, b, sb) in sessions {
                await replicas[a].disconnect(sa)
                await replicas[b].disconnect(sb)
            }
            try await editAll(5 * n)
        }
        for r in replicas { await r.close() }
    }
}
