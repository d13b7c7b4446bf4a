import CRDT
import Testing
import TestSupport
@testable import Sync

/// `SyncSession.Options.reliableDelivery`: later step 2s carry only what the peer lacks beyond
/// what was sent to it.
@Suite(.ownThread) struct ReliableDeletesTests {
    /// A document with text "abcdefgh" and two deleted ranges, and a session that answered the
    /// peer's first step 1 (so the peer has seen those deletes).
    static func answered(reliable: Bool) throws -> (YDoc, SyncSession) {
        let doc = YDoc(clientID: 1)
        let t = doc.getText("t")
        try t.insert(at: 0, "abcdefgh")
        try t.delete(at: 1, count: 2)   // b, c
        try t.delete(at: 3, count: 1)   // f (clock 5)
        var s = SyncSession(options: .init(reliableDelivery: reliable))
        _ = s.start(doc)
        let first = try s.receive(SyncMessage.syncStep1(StateVector()).encoded(), doc)
        let full = try deletes(ofStep2: first.send[0])
        #expect(full.clients[1] == [ClockRange(clock: 1, length: 2), ClockRange(clock: 5, length: 1)])
        return (doc, s)
    }

    static func deletes(ofStep2 frame: [UInt8]) throws -> DeleteSet {
        guard case let .syncStep2(u) = try SyncMessage.decode(frame) else {
            Issue.record("not a step 2")
            return DeleteSet()
        }
        return try UpdateCoverage(update: u).deletes
    }

    @Test func laterStep2OnReliableSessionCarriesOnlyUnknownDeletes() throws {
        var (doc, s) = try Self.answered(reliable: true)
        var updates: [[UInt8]] = []
        doc.observeUpdate { updates.append($0.update) }
        // A confirmation: the peer declares our whole vector; it saw every delete already.
        var out = try s.receive(SyncMessage.syncStep1(doc.stateVector).encoded(), doc)
        #expect(try Self.deletes(ofStep2: out.send[0]).isEmpty)
        #expect(out.send[0] == SyncMessage.syncStep2(update: [0, 0]).encoded())
        // A delete streamed to the peer is known; one it never got (not fed to the session) is sent.
        try doc.getText("t").delete(at: 0, count: 1)   // a (clock 0)
        #expect(s.localUpdate(updates.last!).count == 1)
        try doc.getText("t").delete(at: 2, count: 1)   // g (clock 6), not streamed
        out = try s.receive(SyncMessage.syncStep1(doc.stateVector).encoded(), doc)
        #expect(try Self.deletes(ofStep2: out.send[0]).clients[1] == [ClockRange(clock: 6, length: 1)])
        #expect(s.stats.step2Trimmed == 2)
        // Structs the peer lacks still travel in full.
        try doc.getText("t").insert(at: 0, "xy")
        out = try s.receive(SyncMessage.syncStep1(StateVector([1: 8])).encoded(), doc)
        guard case let .syncStep2(u) = try SyncMessage.decode(out.send[0]) else { Issue.record("no step 2"); return }
        let cov = try UpdateCoverage(update: u)
        #expect(cov.structs.clients[1] == [ClockRange(clock: 8, length: 2)] && cov.deletes.isEmpty)
        // An update still in flight when the peer wrote its step 1 is not sent again.
        try doc.getText("t").insert(at: 0, "z")
        #expect(s.localUpdate(updates.last!).count == 1)
        out = try s.receive(SyncMessage.syncStep1(StateVector([1: 10])).encoded(), doc)
        #expect(out.send[0] == SyncMessage.syncStep2(update: [0, 0]).encoded())
    }

    @Test func unreliableSessionResendsWhatWasInFlight() throws {
        var (doc, s) = try Self.answered(reliable: false)
        var updates: [[UInt8]] = []
        doc.observeUpdate { updates.append($0.update) }
        try doc.getText("t").insert(at: 0, "z")
        #expect(s.localUpdate(updates.last!).count == 1)
        let out = try s.receive(SyncMessage.syncStep1(StateVector([1: 8])).encoded(), doc)
        guard case let .syncStep2(u) = try SyncMessage.decode(out.send[0]) else { Issue.record("no step 2"); return }
        #expect(try UpdateCoverage(update: u).structs.clients[1] == [ClockRange(clock: 8, length: 1)])
    }

    @Test func unreliableSessionAlwaysSendsWholeDeleteSet() throws {
        var (doc, s) = try Self.answered(reliable: false)
        let out = try s.receive(SyncMessage.syncStep1(doc.stateVector).encoded(), doc)
        #expect(try Self.deletes(ofStep2: out.send[0]).clients[1] == [ClockRange(clock: 1, length: 2), ClockRange(clock: 5, length: 1)])
        #expect(s.stats.step2Trimmed == 0)
        // A reliable session told of a possible loss does the same, for good.
        var (doc2, r) = try Self.answered(reliable: true)
        r.deliveryMayHaveLost()
        let out2 = try r.receive(SyncMessage.syncStep1(doc2.stateVector).encoded(), doc2)
        #expect(try Self.deletes(ofStep2: out2.send[0]).clients[1]?.count == 2)
    }

    /// The trimmed step 2 is a valid update: it decodes to the same structs with the cut delete
    /// set, and yrs (pycrdt) applies it.
    @Test func trimmedStep2IsValidForYrs() throws {
        let py = try PycrdtPeer(clientID: 10)
        defer { py.close() }
        let doc = YDoc(clientID: 20)
        var updates: [[UInt8]] = []
        doc.observeUpdate { updates.append($0.update) }
        try doc.getText("t").insert(at: 0, "hello world")
        try doc.getText("t").delete(at: 0, count: 6)
        var s = SyncSession(options: .init(reliableDelivery: true))
        // Handshake with pycrdt: its step 1, our whole step 2.
        let first = try s.receive(py.syncStep1Message(), doc)
        _ = try py.handleSyncMessage(first.send[0])
        // More edits streamed to pycrdt, then a delete that is not; then pycrdt's step 1 again.
        try doc.getText("t").insert(at: 5, "!")
        let f1 = s.localUpdate(updates.last!)
        try doc.getText("t").delete(at: 0, count: 1)   // "w", clock 6
        let f2 = s.localUpdate(updates.last!)
        #expect(f1.count == 1 && f2.count == 1)
        for f in f1 + f2 { _ = try py.handleSyncMessage(f) }
        try doc.getText("t").delete(at: 0, count: 1)   // "o", clock 7
        let out = try s.receive(py.syncStep1Message(), doc)
        guard case let .syncStep2(u) = try SyncMessage.decode(out.send[0]) else { Issue.record("no step 2"); return }
        #expect(try UpdateCoverage(update: u).deletes.clients[20] == [ClockRange(clock: 7, length: 1)])
        let (_, applied) = try py.handleSyncMessage(out.send[0])
        #expect(applied.count == 1)
        #expect(try py.content(roots: ["t": .text])["t"]?.stringValue == doc.getText("t").string)
    }

    @Test func replacingDeleteSetKeepsStructs() throws {
        let doc = YDoc(clientID: 3)
        try doc.getText("t").insert(at: 0, "abcdef")
        doc.getMap("m").set("k", .integer(1))
        doc.getMap("m").set("k", .integer(2))
        try doc.getText("t").delete(at: 2, count: 2)
        let full = doc.encodeStateAsUpdate()
        let decoded = try UpdateDecoderV1.decode(full)
        let cut = DeleteSet([3: [ClockRange(clock: 3, length: 1)]])
        let trimmed = DeleteTrimming.replacingDeleteSet(of: full, decoded: decoded, with: cut)
        #expect(try UpdateDecoderV1.decode(trimmed) == DecodedUpdate(groups: decoded.groups, deleteSet: cut))
        #expect(trimmed.count < full.count)
    }

    /// On a lossy link (default options) a delete lost on the way is repaired by the next resync.
    @Test func lostDeleteIsRepairedByResyncOnLossyLink() throws {
        var sim = Simulation(seed: 3, profile: .perfect, options: .init(handshakeRetry: 0.3, resyncInterval: 0.5))
        try sim.a.doc.getText("t").insert(at: 0, "abcdef")
        sim.start()
        try sim.settle()
        #expect(sim.converged)
        sim.link.partition()
        try sim.a.doc.getText("t").delete(at: 1, count: 3)   // its update is lost
        sim.flush()
        sim.link.heal()
        #expect(sim.b.text == "abcdef")
        for _ in 0..<100 { try sim.step() }
        #expect(sim.converged && sim.b.text == "aef")
        #expect(sim.a.session.stats.step2Trimmed == 0)
    }

    /// Reliable sessions over a lossless link converge and trim their later step 2s.
    @Test func reliableSessionsConvergeAndTrim() throws {
        var sim = Simulation(seed: 5, profile: FaultProfile(latency: 0...0.03, duplicateRate: 0.1, reorderRate: 0.2),
                             options: .init(handshakeRetry: 0.3, resyncInterval: 0.2, reliableDelivery: true))
        sim.start()
        for _ in 0..<200 {
            try sim.peer(sim.rng.chance(0.5) ? .a : .b).randomEdit(&sim.rng)
            try sim.step()
        }
        try sim.settle()
        for _ in 0..<50 { try sim.step() }
        #expect(sim.converged)
        #expect(sim.a.held.deletes == sim.b.held.deletes)
        #expect(sim.a.session.stats.step2Trimmed > 0 && sim.b.session.stats.step2Trimmed > 0)
    }

    @Test func inMemoryNetworkReliability() async throws {
        let (ta, tb, net) = InMemoryNetwork.pair(profile: .perfect, clock: .manual)
        #expect(ta.deliversReliably && tb.deliversReliably)
        net.partition()
        #expect(!ta.deliversReliably)
        net.heal()
        #expect(ta.deliversReliably)   // nothing was lost
        net.partition()
        try await ta.send([3])         // lost
        net.heal()
        #expect(!ta.deliversReliably && !tb.deliversReliably)
        let (lossy, _, _) = InMemoryNetwork.pair(profile: FaultProfile(dropRate: 0.01), clock: .manual)
        #expect(!lossy.deliversReliably)
        let (dup, _, _) = InMemoryNetwork.pair(profile: FaultProfile(duplicateRate: 0.5, reorderRate: 0.5), clock: .manual)
        #expect(dup.deliversReliably)
    }
}
