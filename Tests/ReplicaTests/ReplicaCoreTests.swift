import CRDT
import Journal
import Replica
import Sync
import Testing
import TestSupport

/// Cores joined by lossless in-memory wires, driven on a fake clock: frames a core hands out
/// are queued and fed to the other end by `run(now:)`, in order.
private final class CoreNet {
    let dir = TempDir()
    private(set) var cores: [String: ReplicaCore] = [:]
    /// node -> its peer id -> (the other node, that node's peer id for this one)
    private var route: [String: [PeerID: (String, PeerID)]] = [:]
    /// Every effect each node produced, in order.
    private(set) var effects: [String: [ReplicaEffect]] = [:]
    private var queue: [(node: String, peer: PeerID, frame: [UInt8])] = []

    deinit {
        for core in cores.values { core.store.close() }
        dir.remove()
    }

    @discardableResult
    func add(_ name: String, clientID: ClientID, options: ReplicaCoreOptions = .init(),
             journal: JournalOptions = fastJournal()) throws -> ReplicaCore {
        let store = try JournaledDocument.open(path: dir.file("\(name).ystore"), create: true, clientID: clientID,
                                               options: journal)
        let core = ReplicaCore(store: store, options: options, now: 0)
        cores[name] = core
        return core
    }

    /// Opens `x`'s peer for `y` (with `xPolicy`) and `y`'s for `x`; returns x's peer id.
    @discardableResult
    func link(_ x: String, _ y: String, _ xPolicy: PeerPolicy = .init(), _ yPolicy: PeerPolicy = .init(),
              now: Double = 0) -> (PeerID, PeerID) {
        let (px, fx) = cores[x]!.openPeer(xPolicy, now: now)
        let (py, fy) = cores[y]!.openPeer(yPolicy, now: now)
        route[x, default: [:]][px] = (y, py)
        route[y, default: [:]][py] = (x, px)
        take(x, fx)
        take(y, fy)
        return (px, py)
    }

    /// Records `fx` as `node`'s and queues its frames for the other ends.
    func take(_ node: String, _ fx: [ReplicaEffect]) {
        effects[node, default: []] += fx
        for case let .send(peer, frame) in fx {
            if let (other, otherPeer) = route[node]?[peer] { queue.append((other, otherPeer, frame)) }
        }
        for case let .close(peer, _, _) in fx { route[node]?[peer] = nil }
    }

    /// Delivers queued frames until none are left (bounded: a ping-pong would be a bug).
    func run(now: Double) {
        var steps = 0
        while !queue.isEmpty {
            steps += 1
            precondition(steps < 10_000, "frames kept flowing")
            let m = queue.removeFirst()
            guard let core = cores[m.node], core.peerIDs.contains(m.peer) else { continue }
            take(m.node, core.receive(m.frame, from: m.peer, now: now))
        }
    }

    func tick(_ node: String, now: Double) {
        take(node, cores[node]!.tick(now: now))
    }

    /// Forgets what was recorded so far.
    func clearEffects() { effects.removeAll() }

    func notes(_ node: String) -> [ReplicaNote] {
        (effects[node] ?? []).compactMap { if case let .note(n) = $0 { n } else { nil } }
    }

    func acks(_ node: String) -> Int {
        notes(node).filter { if case .ackSent = $0 { true } else { false } }.count
    }

    func closes(_ node: String) -> [(PeerID, CloseCode)] {
        (effects[node] ?? []).compactMap { if case let .close(p, c, _) = $0 { (p, c) } else { nil } }
    }

    func presence(_ node: String) -> [AwarenessChange] {
        (effects[node] ?? []).compactMap { if case let .presence(c) = $0 { c } else { nil } }
    }
}

private func insert(_ core: ReplicaCore, _ text: String, now: Double) -> EditOutcome {
    core.edit(now: now) { doc in try doc.getText("t").insert(at: doc.getText("t").length, text) }
}

private func near(_ x: Double?, _ y: Double) -> Bool {
    guard let x else { return false }
    return abs(x - y) < 1e-9
}

private let server = PeerPolicy(acknowledgementDelay: 0, closesOnBadInput: true,
                                session: .init(reliableDelivery: true))
private let client = PeerPolicy(session: .init(reliableDelivery: true))

@Suite struct ReplicaCoreTests {
    /// A server-side peer with acknowledgements at once: the ack (its state vector) follows the
    /// update it journaled, and consumes the client's unsynced count.
    @Test func aDurableAcknowledgementFollowsTheJournaledUpdate() throws {
        let net = CoreNet()
        let c = try net.add("c", clientID: 1), s = try net.add("s", clientID: 2)
        net.link("c", "s", client, server)
        net.run(now: 0)
        let outcome = insert(c, "hello", now: 1)
        #expect(outcome.seq != nil && outcome.update != nil)
        net.take("c", outcome.effects)
        #expect(c.unsyncedChanges == 5)
        net.run(now: 1)
        #expect(s.doc.getText("t").string == "hello")
        #expect(net.acks("s") >= 1)
        #expect(c.unsyncedChanges == 0)
        // The server journaled before it acknowledged: a persisted effect precedes the ack.
        let fx = net.effects["s"]!
        let persisted = fx.firstIndex { if case .persisted = $0 { true } else { false } }
        let ack = fx.lastIndex { if case .note(.ackSent) = $0 { true } else { false } }
        #expect(persisted != nil && ack != nil && persisted! < ack!)
    }

    /// Found by RoomFuzz: a client holding a part whose dependencies never came sends it in
    /// every step 2; the server parks it too, and counted each copy as a change to acknowledge,
    /// so each ack drew a step 2 and each step 2 an ack (the client hit its rate limit, 4029).
    @Test func aParkedPartDoesNotPingPongAcknowledgements() throws {
        let other = YDoc(clientID: 500)
        var updates: [[UInt8]] = []
        other.observeUpdate { updates.append($0.update) }
        try other.getText("t").insert(at: 0, "abc")
        try other.getText("t").insert(at: 3, "def")
        let net = CoreNet()
        let c = try net.add("c", clientID: 1), s = try net.add("s", clientID: 2)
        try c.store.apply(updates[1])
        #expect(c.doc.hasPending)
        net.link("c", "s", client, server)
        net.run(now: 0)  // traps after 10,000 frames if they never stop
        #expect(s.doc.pendingUpdate == c.doc.pendingUpdate)
        for i in 1...3 {
            net.take("c", insert(c, "x", now: Double(i)).effects)
            net.run(now: Double(i))
        }
        #expect(s.doc.getText("t").string == "xxx")
        #expect(net.acks("s") <= 6, "acks: \(net.acks("s"))")
    }

    /// A delayed acknowledgement waits for a quiet `acknowledgementDelay`: a second update moves
    /// it, and one ack answers both.
    @Test func aDelayedAcknowledgementIsDebounced() throws {
        let net = CoreNet()
        let a = try net.add("a", clientID: 1), b = try net.add("b", clientID: 2)
        var delayed = client
        delayed.acknowledgementDelay = 0.02
        net.link("a", "b", client, delayed)
        net.run(now: 0)
        net.tick("b", now: 0.03)  // the handshake's own ack
        net.run(now: 0.03)
        net.clearEffects()
        net.take("a", insert(a, "x", now: 1).effects)
        net.run(now: 1)
        #expect(near(b.nextDeadline, 1.02))
        net.take("a", insert(a, "y", now: 1.01).effects)
        net.run(now: 1.01)
        #expect(near(b.nextDeadline, 1.03))
        net.tick("b", now: 1.025)
        #expect(net.acks("b") == 0)
        net.tick("b", now: 1.03)
        #expect(net.acks("b") == 1)
        net.run(now: 1.03)
        #expect(a.unsyncedChanges == 0)
        // The answer to the ack changed nothing on b: no further ack is due.
        #expect(b.nextDeadline.map { $0 > 1.5 } ?? true)
    }

    /// Read-only peers' updates are refused and never acknowledged; the refusal is noted.
    @Test func aReadOnlyPeersUpdatesAreRefused() throws {
        let net = CoreNet()
        let c = try net.add("c", clientID: 1), s = try net.add("s", clientID: 2)
        var readOnly = server
        readOnly.access = .read
        net.link("c", "s", client, readOnly)
        net.take("c", insert(c, "no", now: 0).effects)
        net.run(now: 0)
        #expect(s.doc.getText("t").string == "")
        #expect(net.notes("s").contains { if case .refused(_, _, .readOnly) = $0 { true } else { false } })
        #expect(net.acks("s") == 0)
        #expect(c.unsyncedChanges == 2)
        // Told once, with y-protocols' auth message: the client's session stops sending updates.
        let denial = SyncMessage.authDenied(reason: ReplicaCore.readOnlyReason).encoded()
        #expect(net.effects["s"]!.filter { if case let .send(_, f) = $0 { f == denial } else { false } }.count == 1)
        #expect(c.session(of: c.peerIDs[0])?.isDenied == true)
    }

    /// A frame that does not decode closes a strict peer with 1007; a lenient one skips it.
    @Test func badInputClosesOnlyStrictPeers() throws {
        let net = CoreNet()
        let s = try net.add("s", clientID: 2)
        let (strict, _) = net.link("s", "s", server, client)
        let (lenient, _) = net.link("s", "s", client, client)
        net.take("s", s.receive([0, 2, 200], from: strict, now: 0))
        net.take("s", s.receive([0, 2, 200], from: lenient, now: 0))
        #expect(net.closes("s").map(\.0) == [strict])
        #expect(net.closes("s").map(\.1) == [.invalidPayload])
        #expect(s.peerIDs.contains(lenient) && !s.peerIDs.contains(strict))
    }

    /// The token bucket closes a peer over its rate with 4029.
    @Test func aPeerOverItsRateIsClosed() throws {
        let net = CoreNet()
        let s = try net.add("s", clientID: 2)
        var limited = server
        limited.rateLimit = .init(perSecond: 1, burst: 2)
        let (p, _) = net.link("s", "s", limited, client)
        #expect(s.admit(p, now: 0).allowed && s.admit(p, now: 0).allowed)
        let (allowed, fx) = s.admit(p, now: 0.5)
        #expect(!allowed)
        net.take("s", fx)
        #expect(net.closes("s").map(\.1) == [.rateLimited])
    }

    /// An update that would grow the document past the limit is refused (4013) and not applied.
    @Test func anUpdateOverTheDocumentLimitIsRefused() throws {
        let net = CoreNet()
        let c = try net.add("c", clientID: 1)
        let s = try net.add("s", clientID: 2, options: .init(maxDocumentBytes: 64))
        net.link("c", "s", client, server)
        net.run(now: 0)
        net.take("c", insert(c, String(repeating: "x", count: 100), now: 1).effects)
        net.run(now: 1)
        #expect(s.doc.getText("t").string == "")
        #expect(net.closes("s").map(\.1) == [.documentTooLarge])
    }

    /// `JournalFailureMode.rollBack` (the rooms'): an update the journal refuses is undone and
    /// relayed to no one, and its sender is closed (1011) even when its policy is lenient; an
    /// edit the journal refuses is undone too. `.keep` (clients) keeps both and retries.
    @Test func aRefusedWriteIsRolledBackOrKept() throws {
        for mode in [JournalFailureMode.rollBack, .keep] {
            let net = CoreNet()
            let faults = JournalFaults()
            var journal = fastJournal()
            journal.faults = faults
            let a = try net.add("a", clientID: 1), b = try net.add("b", clientID: 2)
            let s = try net.add("s", clientID: 3, options: .init(journalFailure: mode), journal: journal)
            let (fromA, _) = net.link("s", "a", client, client)
            net.link("s", "b", client, client)
            net.run(now: 0)
            net.take("a", insert(a, "kept ", now: 1).effects)
            net.run(now: 1)
            faults.failNextAppends(1)
            net.take("a", insert(a, "refused", now: 2).effects)
            net.run(now: 2)
            #expect(faults.injected == 1)
            switch mode {
            case .rollBack:
                #expect(net.closes("s").map(\.0) == [fromA] && net.closes("s").map(\.1) == [.internalError])
                #expect(s.doc.getText("t").string == "kept " && b.doc.getText("t").string == "kept ")
                #expect(!s.store.hasUnjournaledChanges && s.storeFailure == nil)
            case .keep:
                #expect(net.closes("s").isEmpty)
                #expect(s.doc.getText("t").string == "kept refused" && s.store.hasUnjournaledChanges)
            }
            faults.failNextAppends(1)
            let outcome = insert(s, "!", now: 3)
            #expect(outcome.journalError != nil)
            let sent = outcome.effects.contains { if case .send = $0 { true } else { false } }
            #expect(sent == (mode == .keep))
            #expect(s.doc.getText("t").string.hasSuffix("!") == (mode == .keep))
        }
    }

    /// Presence: a state set on one node reaches the others through a relay; it goes when the
    /// node's connection closes, and times out 30 s after it was last renewed.
    @Test func presenceTravelsThroughARelayAndGoesWithItsConnection() throws {
        let net = CoreNet()
        let a = try net.add("a", clientID: 1), s = try net.add("s", clientID: 2), b = try net.add("b", clientID: 3)
        let (aAtS, _) = net.link("s", "a", server, client)
        net.link("s", "b", server, client)
        net.run(now: 0)
        net.take("a", a.setLocalPresence(#"{"name":"ada"}"#, now: 1))
        net.run(now: 1)
        #expect(b.awareness.states[1] == #"{"name":"ada"}"#)
        #expect(net.presence("b").contains { $0.added == [1] })
        net.take("s", s.closePeer(aAtS, now: 2).effects)
        net.run(now: 2)
        #expect(b.awareness.states[1] == nil)
        #expect(net.presence("b").contains { $0.removed == [1] })
    }

    @Test func presenceTimesOutWithoutRenewal() throws {
        let net = CoreNet()
        let a = try net.add("a", clientID: 1), b = try net.add("b", clientID: 2)
        net.link("a", "b", client, client)
        net.take("a", a.setLocalPresence("{}", now: 0))
        net.run(now: 0)
        #expect(b.awareness.states[1] == "{}")
        net.tick("b", now: 29.5)  // a's renewals are not delivered: a's state ages on b
        #expect(b.awareness.states[1] == "{}")
        #expect(near(b.nextDeadline, 32.5))
        net.tick("b", now: 32.5)
        #expect(b.awareness.states[1] == nil)
        #expect(net.presence("b").contains { $0.removed == [1] })
        // a renews its own state every 15 s.
        let clock = a.awareness.entries[1]?.clock ?? 0
        net.tick("a", now: 15)
        #expect(a.awareness.entries[1]?.clock == clock + 1)
    }

    /// An awareness message as a peer would send it.
    private static func awareness(_ list: [(ClientID, UInt64, String)]) -> [UInt8] {
        var w = Lib0Writer()
        w.writeVarUInt(list.count)
        for (c, k, j) in list {
            w.writeVarUInt(c)
            w.writeVarUInt(k)
            w.writeString(j)
        }
        return SyncMessage.awareness(w.bytes).encoded()
    }

    /// A strict peer that speaks for more client ids than its policy allows (in one message, or
    /// over several, removals of unknown clients included) is closed with 4031; nothing of that
    /// message is applied or relayed, and what it announced before goes with it.
    @Test func aPeerAnnouncingTooManyClientsIsClosed() throws {
        let net = CoreNet()
        _ = try net.add("a", clientID: 1)
        let s = try net.add("s", clientID: 2, options: .init(awarenessEcho: true))
        let b = try net.add("b", clientID: 3)
        var strict = server
        strict.maxAwarenessClients = 2
        let (aAtS, _) = net.link("s", "a", strict, client)
        net.link("s", "b", strict, client)
        net.run(now: 0)
        net.take("s", s.receive(Self.awareness([(10, 1, "{}"), (11, 1, "{}")]), from: aAtS, now: 1))
        net.run(now: 1)
        #expect(b.awareness.states.keys.sorted() == [10, 11])
        // A third id (even as a removal of a client nobody knows) is one too many.
        net.take("s", s.receive(Self.awareness([(12, 1, "null")]), from: aAtS, now: 2))
        net.run(now: 2)
        #expect(net.closes("s").map(\.1) == [.awarenessTooLarge])
        #expect(net.notes("s").contains(.refused(aAtS, count: 1, .awarenessLimit)))
        #expect(s.awareness.entries[12] == nil)
        #expect(b.awareness.states.isEmpty)  // the closed peer's states were removed, and b told
        // One message with three ids is refused whole.
        let (cAtS, _) = net.link("s", "a", strict, client, now: 3)
        net.take("s", s.receive(Self.awareness([(20, 1, "{}"), (21, 1, "{}"), (22, 1, "{}")]), from: cAtS, now: 3))
        #expect(s.awareness.states.isEmpty && !s.peerIDs.contains(cAtS))
    }

    /// With `exclusiveAwarenessClients` (the server's rooms) a client id belongs to the peer that
    /// announced it: another peer's entries about it (a newer state, a removal) are dropped and
    /// noted, the rest of its message applies; once the owner removed it or closed, it is free.
    @Test func aPeerCannotSpeakForAnotherPeersClientIDs() throws {
        let net = CoreNet()
        _ = try net.add("a", clientID: 1)
        let s = try net.add("s", clientID: 2, options: .init(awarenessEcho: true, exclusiveAwarenessClients: true))
        _ = try net.add("b", clientID: 3)
        let (aAtS, _) = net.link("s", "a", server, client)
        let (bAtS, _) = net.link("s", "b", server, client)
        net.run(now: 0)
        net.take("s", s.receive(Self.awareness([(10, 1, #"{"n":"a"}"#)]), from: aAtS, now: 1))
        // b: a newer state of a's client 10, and its own client 20, in one message.
        net.take("s", s.receive(Self.awareness([(10, 5, #"{"n":"forged"}"#), (20, 1, #"{"n":"b"}"#)]), from: bAtS, now: 2))
        #expect(s.awareness.states[10] == #"{"n":"a"}"# && s.awareness.states[20] == #"{"n":"b"}"#)
        #expect(net.notes("s").contains(.refused(bAtS, count: 1, .awarenessSpoof)))
        // A removal of a's client from b is dropped too (the y-protocols way to kick someone).
        net.take("s", s.receive(Self.awareness([(10, 6, "null")]), from: bAtS, now: 3))
        #expect(s.awareness.states[10] == #"{"n":"a"}"# && s.peerIDs.contains(bAtS))
        #expect(net.closes("s").isEmpty)
        // a's own renewal still applies; when a closes, 10 is gone and free for b.
        net.take("s", s.receive(Self.awareness([(10, 2, #"{"n":"a2"}"#)]), from: aAtS, now: 4))
        #expect(s.awareness.states[10] == #"{"n":"a2"}"#)
        net.take("s", s.closePeer(aAtS, now: 5).effects)
        #expect(s.awareness.states[10] == nil)
        net.take("s", s.receive(Self.awareness([(10, 9, #"{"n":"b2"}"#)]), from: bAtS, now: 6))
        #expect(s.awareness.states[10] == #"{"n":"b2"}"#)
        #expect(net.notes("s").filter { if case .refused(_, _, .awarenessSpoof) = $0 { true } else { false } }.count == 2)
        // Without the option (a client replica: every id comes through its server) nothing is dropped.
        let c = try net.add("c", clientID: 4)
        let (x, _) = net.link("c", "a", client, client)
        let (y, _) = net.link("c", "b", client, client)
        net.take("c", c.receive(Self.awareness([(30, 1, "{}")]), from: x, now: 7))
        net.take("c", c.receive(Self.awareness([(30, 2, #"{"v":2}"#)]), from: y, now: 8))
        #expect(c.awareness.states[30] == #"{"v":2}"#)
    }

    /// The room's awareness limits (state size, states, bytes) close the strict peer that
    /// would pass them; a lenient peer's message is only skipped. Gone clients' clocks are
    /// forgotten on the core's own ticks.
    @Test func awarenessLimitsOfTheRoom() throws {
        let net = CoreNet()
        var limits = AwarenessLimits()
        limits.maxStateBytes = 64
        limits.maxStates = 3
        limits.tombstoneLifetime = 60
        let s = try net.add("s", clientID: 2, options: .init(awarenessEcho: true, awarenessLimits: limits))
        _ = try net.add("a", clientID: 1)
        let (aAtS, _) = net.link("s", "a", server, client)
        net.run(now: 0)
        let big = #"{"n":"\#(String(repeating: "x", count: 100))"}"#
        net.take("s", s.receive(Self.awareness([(10, 1, big)]), from: aAtS, now: 1))
        #expect(net.closes("s").map(\.1) == [.awarenessTooLarge] && s.awareness.entries[10] == nil)
        // Lenient: skipped, the peer stays and its next message counts.
        let (lenientAtS, _) = net.link("s", "a", client, client, now: 2)
        net.take("s", s.receive(Self.awareness([(11, 1, "{}"), (12, 1, "{}"), (13, 1, "{}"), (14, 1, "{}")]), from: lenientAtS, now: 2))
        #expect(s.peerIDs.contains(lenientAtS) && s.awareness.stateCount == 0)
        #expect(net.notes("s").contains(.refused(lenientAtS, count: 1, .awarenessLimit)))
        net.take("s", s.receive(Self.awareness([(11, 1, "{}")]), from: lenientAtS, now: 2))
        #expect(s.awareness.states.keys.sorted() == [11])
        // Its connection closes: the clock stays as a tombstone, then is forgotten.
        net.take("s", s.closePeer(lenientAtS, now: 3).effects)
        #expect(s.awareness.entries[11]?.json == nil)
        net.tick("s", now: 62.9)
        #expect(s.awareness.entries[11] != nil)
        net.tick("s", now: 66)
        #expect(s.awareness.entries[11] == nil)
    }

    /// Every `compactEvery` appends, the journal compacts when its thresholds are passed.
    @Test func compactionRunsEveryCompactEveryAppends() throws {
        let net = CoreNet()
        var journal = fastJournal()
        journal.compactAfterRows = 2
        let a = try net.add("a", clientID: 1, options: .init(compactEvery: 3), journal: journal)
        for i in 0..<2 { _ = insert(a, "\(i)", now: Double(i)) }
        #expect(try a.store.journal.stats().lastSnapshotSeq == nil)
        _ = insert(a, "2", now: 2)
        #expect(try a.store.journal.stats().lastSnapshotSeq != nil)
    }

    /// Peers that open late get the presence already known, and an edit made while a peer's
    /// handshake is pending reaches it in the step 2.
    @Test func aLatePeerGetsStateAndPresence() throws {
        let net = CoreNet()
        let a = try net.add("a", clientID: 1), b = try net.add("b", clientID: 2)
        net.take("a", a.setLocalPresence(#"{"x":1}"#, now: 0))
        _ = insert(a, "early", now: 0)
        net.link("a", "b", client, client, now: 1)
        net.run(now: 1)
        #expect(b.doc.getText("t").string == "early")
        #expect(b.awareness.states[1] == #"{"x":1}"#)
    }
}
