import CRDT
import Foundation
import Testing
import TestSupport
@testable import Sync

/// Runs two peers over a `LinkSimulator` in virtual time (fully deterministic for a seed).
struct Simulation {
    let a: SimPeer, b: SimPeer
    var link: LinkSimulator
    var now = 0.0
    var rng: SeededRandom

    init(seed: UInt64, profile: FaultProfile, options: SyncSession.Options = .init()) {
        a = SimPeer(clientID: 1, options: options)
        b = SimPeer(clientID: 2, options: options)
        var p = profile
        p.seed = seed
        link = LinkSimulator(profile: p)
        rng = SeededRandom(seed: seed)
    }

    func peer(_ e: LinkEnd) -> SimPeer { e == .a ? a : b }

    mutating func flush() {
        for f in a.takeOutbox() { link.submit(f, from: .a, now: now) }
        for f in b.takeOutbox() { link.submit(f, from: .b, now: now) }
    }

    mutating func start() {
        a.start(now: now)
        b.start(now: now)
        flush()
    }

    /// Advances time by `dt`, delivers what is due, runs the timers.
    mutating func step(_ dt: Double = 0.01) throws {
        now += dt
        for f in link.due(now: now) { try peer(f.to).receive(f.frame, now: now) }
        a.tick(now: now)
        b.tick(now: now)
        flush()
    }

    /// Steps until nothing is in flight (bounded).
    mutating func settle(maxSteps: Int = 10_000) throws {
        var n = 0
        repeat { try step(); n += 1 } while !link.inFlight.isEmpty && n < maxSteps
    }

    var converged: Bool {
        a.text == b.text && a.doc.stateVector == b.doc.stateVector
            && (try? a.doc.getMap("m").toAny()) == (try? b.doc.getMap("m").toAny())
    }
}

@Suite(.ownThread) struct SessionTests {
    @Test func handshakeIsOneRoundTrip() throws {
        var sim = Simulation(seed: 1, profile: .perfect)
        try sim.a.doc.getText("t").insert(at: 0, "hello ")
        try sim.b.doc.getText("t").insert(at: 0, "world")
        sim.start()
        try sim.settle()
        #expect(sim.converged)
        #expect(sim.a.text.count == 11)
        for p in [sim.a, sim.b] {
            #expect(p.session.isSynced)
            #expect(p.session.stats.framesSent == 2)  // step 1 + step 2
            #expect(p.session.stats.step1Sent == 1 && p.session.stats.step2Sent == 1)
            #expect(p.session.stats.updatesSent == 0)  // the remote update applied is not echoed
            #expect(p.session.peerStateVector == p.doc.stateVector)
        }
    }

    /// Edits made before the peer's step 1 arrives travel in the step 2, not as updates.
    @Test func updatesBeforeHandshakeRideInStep2() throws {
        var sim = Simulation(seed: 2, profile: FaultProfile(latency: 0.05...0.05, seed: 2))
        sim.start()
        for i in 0..<5 { try sim.a.doc.getText("t").insert(at: 0, "\(i)") }
        try sim.settle()
        #expect(sim.converged && sim.b.text == "43210")
        #expect(sim.a.session.stats.updatesDeferred == 5 && sim.a.session.stats.updatesSent == 0)
    }

    /// After the handshake each side sends each of its own updates exactly once and never an
    /// update the peer already has (received updates fed back into the session are skipped).
    @Test(arguments: [0.0, 0.03]) func noRedundantTraffic(latency: Double) throws {
        for seed in TestEnvironment.seeds(base: 5, salt: 100) {
            var sim = Simulation(seed: seed, profile: FaultProfile(latency: 0...latency, reorderRate: latency > 0 ? 0.3 : 0))
            try sim.a.doc.getText("t").insert(at: 0, "base")
            sim.start()
            try sim.settle()
            var edits: [LinkEnd: Int] = [.a: 0, .b: 0]
            for _ in 0..<300 {
                if sim.rng.chance(0.4) {
                    let e: LinkEnd = sim.rng.chance(0.5) ? .a : .b
                    let before = sim.peer(e).doc.stateVector
                    let held = sim.peer(e).held.deletes
                    try sim.peer(e).randomEdit(&sim.rng)
                    if sim.peer(e).doc.stateVector != before || sim.peer(e).held.deletes != held { edits[e]! += 1 }
                }
                try sim.step()
            }
            try sim.settle()
            #expect(sim.converged, "seed \(seed)")
            for e in [LinkEnd.a, .b] {
                let p = sim.peer(e), q = sim.peer(e.other)
                // Never a struct the peer has. Deletes the peer may have derived itself (the
                // loser of a concurrent map set is deleted on both sides) can be sent again.
                #expect(q.redundantWithStructs == 0, "seed \(seed): \(q.redundantWithStructs) redundant updates reached \(e.other)")
                let sent = p.session.stats.updatesSent
                #expect(sent >= edits[e]! && sent <= edits[e]! + q.redundantDeletesOnly, "seed \(seed)")
                #expect(q.redundantDeletesOnly * 10 <= edits[e]! + 1, "seed \(seed)")
                #expect(p.session.stats.framesSent == 2 + p.session.stats.updatesSent, "seed \(seed)")
                #expect(p.session.stats.updatesSkipped > 0, "seed \(seed): applied remote updates come back to the session")
            }
        }
    }

    /// Seeded drops, duplicates, reordering, latency and partitions: after healing and
    /// quiescence both documents are identical (sessions resync with periodic step 1).
    @Test func convergesUnderFaults() throws {
        let opts = SyncSession.Options(handshakeRetry: 0.3, resyncInterval: 0.5)
        for seed in TestEnvironment.seeds(base: 12, salt: 200) {
            var sim = Simulation(seed: seed, profile: .chaos(seed: seed), options: opts)
            try sim.a.doc.getText("t").insert(at: 0, "start")
            sim.start()
            for _ in 0..<600 {
                if sim.rng.chance(0.01) { sim.link.isPartitioned ? sim.link.heal() : sim.link.partition() }
                if sim.rng.chance(0.3) { try sim.peer(sim.rng.chance(0.5) ? .a : .b).randomEdit(&sim.rng) }
                try sim.step()
            }
            sim.link.heal()
            for _ in 0..<1000 where !sim.converged { try sim.step() }
            #expect(sim.converged, "seed \(seed): a=\(sim.a.text.debugDescription) b=\(sim.b.text.debugDescription)")
            #expect(!sim.a.doc.hasPending && !sim.b.doc.hasPending, "seed \(seed)")
            #expect(sim.link.dropped > 0 && sim.link.duplicated > 0, "seed \(seed): faults were injected")
        }
    }

    /// The fate of every frame depends only on the seed.
    @Test func faultsAreDeterministic() throws {
        func run() throws -> (String, Int, Int, SyncStats) {
            var sim = Simulation(seed: 77, profile: .chaos(seed: 77), options: .init(resyncInterval: 0.5))
            sim.start()
            for _ in 0..<300 {
                if sim.rng.chance(0.3) { try sim.peer(sim.rng.chance(0.5) ? .a : .b).randomEdit(&sim.rng) }
                try sim.step()
            }
            return (sim.a.text, sim.link.dropped, sim.link.duplicated, sim.a.session.stats)
        }
        let x = try run(), y = try run()
        #expect(x.0 == y.0 && x.1 == y.1 && x.2 == y.2 && x.3 == y.3)
    }

    /// A local update that partly overlaps what the peer has is trimmed; one it fully has is
    /// skipped; a delete it has not seen is sent even when its structs are known.
    @Test func skipAndTrimRules() throws {
        let doc = YDoc(clientID: 1)
        let t = doc.getText("t")
        var updates: [[UInt8]] = []
        doc.observeUpdate { updates.append($0.update) }
        try t.insert(at: 0, "abc")   // clocks 0..<3
        try t.insert(at: 3, "def")   // 3..<6
        var s = SyncSession()
        _ = s.start(doc)
        // The peer declares {1: 3}: our step 2 brings it to {1: 6}.
        _ = try s.receive(SyncMessage.syncStep1(StateVector([1: 3])).encoded(), doc)
        #expect(s.peerStateVector == StateVector([1: 6]))
        #expect(s.localUpdate(updates[1]).isEmpty)
        // An update merged from known and new parts is trimmed to the new part.
        try t.insert(at: 6, "g")
        let merged = try Updates.merge([updates[1], updates[2]])
        let frames = s.localUpdate(merged)
        #expect(frames.count == 1)
        if case let .update(u) = try SyncMessage.decode(frames[0]) {
            #expect(try UpdateCoverage(update: u).structs.clients[1] == [ClockRange(clock: 6, length: 1)])
        }
        // A delete of known structs is new to the peer: sent once, then skipped.
        try t.delete(at: 0, count: 1)
        #expect(s.localUpdate(updates[3]).count == 1)
        #expect(s.localUpdate(updates[3]).isEmpty)
        #expect(s.stats.updatesSkipped == 2 && s.stats.updatesSent == 2)
    }

    /// A step 1 from the peer resets our belief (frames we sent may have been lost).
    @Test func step1ResetsPeerKnowledge() throws {
        let doc = YDoc(clientID: 1)
        var updates: [[UInt8]] = []
        doc.observeUpdate { updates.append($0.update) }
        var s = SyncSession()
        _ = try s.receive(SyncMessage.syncStep1(StateVector()).encoded(), doc)
        try doc.getText("t").insert(at: 0, "x")
        #expect(s.localUpdate(updates[0]).count == 1)  // lost on the way, say
        let out = try s.receive(SyncMessage.syncStep1(StateVector()).encoded(), doc)
        guard case let .syncStep2(u) = try SyncMessage.decode(out.send[0]) else { Issue.record("no step 2"); return }
        #expect(try Updates.stateVector(of: u) == StateVector([1: 1]))
    }

    @Test func authAwarenessAndQuery() throws {
        let doc = YDoc(clientID: 1)
        var s = SyncSession()
        var aw = Awareness(clientID: 1, now: 0)
        aw.setLocalState(#"{"u":1}"#, now: 0)
        var out = try s.receive(SyncMessage.awareness(aw.encodeUpdate(clients: [1])).encoded(), doc)
        #expect(out.awareness == [aw.encodeUpdate(clients: [1])])
        out = try s.receive(SyncMessage.queryAwareness.encoded(), doc)
        #expect(out.queryAwareness)
        out = try s.receive(SyncMessage.authGranted.encoded(), doc)
        #expect(out.auth == .granted)
        out = try s.receive(SyncMessage.authDenied(reason: "read-only").encoded(), doc)
        #expect(out.auth == .denied(reason: "read-only") && s.isDenied)
        #expect(s.localUpdate(doc.encodeStateAsUpdate()).isEmpty)
        #expect(s.tick(doc, now: 100).isEmpty)
    }

    /// Our session against pycrdt's handle_sync_message, both directions.
    @Test func handshakeWithPycrdt() throws {
        let py = try PycrdtPeer(clientID: 10)
        defer { py.close() }
        try py.textInsert(.text("t"), at: 0, "from yrs ")
        let doc = YDoc(clientID: 20)
        try doc.getText("t").insert(at: 0, "from ysync")
        var s = SyncSession()
        // Our step 1 -> pycrdt answers with its step 2.
        let (reply, _) = try py.handleSyncMessage(s.start(doc)[0])
        let out1 = try s.receive(reply!, doc)
        #expect(out1.becameSynced && out1.apply.count == 1)
        for u in out1.apply { try doc.applyUpdate(u) }
        // pycrdt's step 1 -> our step 2 -> pycrdt applies it.
        let out2 = try s.receive(py.syncStep1Message(), doc)
        let (none, applied) = try py.handleSyncMessage(out2.send[0])
        #expect(none == nil && applied.count == 1)
        let theirs = try py.content(roots: ["t": .text])["t"]?.stringValue
        #expect(theirs == doc.getText("t").string)
        #expect(try StateVector(decoding: py.encodeStateVector()) == doc.stateVector)
        // A later local update streams as an update message pycrdt applies.
        var updates: [[UInt8]] = []
        doc.observeUpdate { updates.append($0.update) }
        try doc.getText("t").insert(at: 0, ">")
        let frames = s.localUpdate(updates[0])
        #expect(try py.handleSyncMessage(frames[0]).updates.count == 1)
        #expect(try py.content(roots: ["t": .text])["t"]?.stringValue == doc.getText("t").string)
    }
}

/// Sessions over the async in-memory transport (real time, latency, duplicates, reordering).
@Suite struct InMemoryTransportTests {
    struct Result: Sendable, Equatable { var text: String; var sv: StateVector }

    /// Runs a peer until its text has `expectedLength` characters (or the transport closes).
    static func runPeer(_ t: InMemoryTransport, clientID: ClientID, words: [String], expectedLength: Int) async throws -> Result {
        let p = SimPeer(clientID: clientID)
        p.start(now: 0)
        for w in words.prefix(1) { try p.doc.getText("t").insert(at: 0, w) }
        for f in p.takeOutbox() { try await t.send(f) }  // (nothing can close this early)
        var rest = words.dropFirst()
        for try await frame in t.frames {
            try p.receive(frame, now: 0)
            if p.session.isSynced, let w = rest.popFirst() { try p.doc.getText("t").insert(at: 0, w) }
            do {
                for f in p.takeOutbox() { try await t.send(f) }
            } catch TransportError.closed { break }
            if p.text.count == expectedLength && rest.isEmpty { break }
        }
        return Result(text: p.text, sv: p.doc.stateVector)
    }

    @Test func twoPeersConverge() async throws {
        let profile = FaultProfile(latency: 0.001...0.004, duplicateRate: 0.2, reorderRate: 0.3, reorderWindow: 0.01, seed: 9)
        let (ta, tb, net) = InMemoryNetwork.pair(profile: profile, clock: .realTime)
        // A watchdog closes the link if the peers never converge (the test then fails).
        let watchdog = Task {
            try await Task.sleep(nanoseconds: 30_000_000_000)
            await ta.close()
        }
        async let ra = Self.runPeer(ta, clientID: 1, words: ["a1 ", "a2 ", "a3 "], expectedLength: 15)
        async let rb = Self.runPeer(tb, clientID: 2, words: ["b1 ", "b2 "], expectedLength: 15)
        let (x, y) = try await (ra, rb)
        watchdog.cancel()
        await ta.close()
        #expect(x == y)
        #expect(x.text.count == 15)
        #expect(net.counters.submitted > 4)
        await #expect(throws: TransportError.closed) { try await tb.send([3]) }
    }

    /// Manual clock: nothing arrives until time advances; a partition loses frames until healed.
    @Test func manualClockAndPartition() async throws {
        let (ta, tb, net) = InMemoryNetwork.pair(profile: FaultProfile(latency: 0.1...0.1), clock: .manual)
        var it = tb.frames.makeAsyncIterator()
        try await ta.send([3])
        #expect(net.framesInFlight == 1)
        net.advance(by: 0.1)
        #expect(try await it.next() == [3])
        net.partition()
        try await ta.send([1])
        net.advance(by: 1)
        net.heal()
        try await ta.send([2])
        net.advance(by: 0.1)
        #expect(try await it.next() == [2])
        #expect(net.counters.dropped == 1)
        await tb.close()
        #expect(try await it.next() == nil)
    }
}
