import CRDT
import Testing
import TestSupport
@testable import Sync

private func h(_ s: String) -> [UInt8] { Hex.decode(s.replacingOccurrences(of: " ", with: ""))! }

@Suite(.ownThread) struct AwarenessTests {
    @Test func goldenAgainstPycrdt() throws {
        let py = try PycrdtPeer(clientID: 1)
        defer { py.close() }
        try py.awarenessNew()
        var a = Awareness(clientID: 1, now: 0)
        #expect(a.encodeUpdate(clients: [1]) == (try py.awarenessEncode(clients: [1])))  // {} at clock 0
        try py.awarenessSetLocal(#"{"user":{"name":"A"}}"#)
        a.setLocalState(#"{"user":{"name":"A"}}"#, now: 1)
        let p5 = a.encodeUpdate(clients: [1])
        #expect(p5 == h(MessageCodecTests.p5))
        #expect(p5 == (try py.awarenessEncode(clients: [1])))
        #expect(a.awarenessMessage(clients: [1]) == h("01 19") + p5)  // P6
        try py.awarenessSetLocal(nil)
        let ch = a.setLocalState(nil, now: 2)
        #expect(ch.removed == [1])
        #expect(a.encodeUpdate(clients: [1]) == h(MessageCodecTests.p7))
        #expect(a.encodeUpdate(clients: [1]) == (try py.awarenessEncode(clients: [1])))

        // Our updates applied by pycrdt, and pycrdt's by us.
        var b = Awareness(clientID: 2, now: 0)
        b.setLocalState(#"{"cursor":3}"#, now: 0)
        try py.awarenessApply(b.encodeUpdate(clients: [2]))
        let st = try py.awarenessStates()
        #expect(st.states[2] == ["cursor": 3])
        #expect(st.clocks[2] == 1)
        try py.awarenessSetLocal(#"{"n":1}"#)
        let fromPy = try py.awarenessEncode(clients: [1])
        let c = try b.apply(fromPy, now: 1)
        #expect(c.added == [1])
        #expect(b.states[1] == #"{"n":1}"#)
        #expect(b.entries[1]?.clock == 3)
    }

    @Test func clockRules() throws {
        var me = Awareness(clientID: 1, now: 0)
        var peer = Awareness(clientID: 2, now: 0)
        // Clock 0 (the initial {}) is never accepted: a fresh entry must have clock > 0.
        #expect(try me.apply(peer.encodeUpdate(clients: [2]), now: 0).isEmpty)
        peer.setLocalState(#"{"a":1}"#, now: 0)
        let u1 = peer.encodeUpdate(clients: [2])
        #expect(try me.apply(u1, now: 1).added == [2])
        // The same clock again: ignored.
        #expect(try me.apply(u1, now: 2).isEmpty)
        // Newer clock, equal content: `update` only; different content: `change` too.
        peer.setLocalState(#"{ "a" : 1 }"#, now: 0)
        var c = try me.apply(peer.encodeUpdate(clients: [2]), now: 3)
        #expect(c.updated == [] && c.touched == [2])
        peer.setLocalState(#"{"a":2}"#, now: 0)
        let u3 = peer.encodeUpdate(clients: [2])
        c = try me.apply(u3, now: 4)
        #expect(c.updated == [2] && c.touched == [2])
        // An older clock never wins.
        #expect(try me.apply(u1, now: 5).isEmpty)
        #expect(me.states[2] == #"{"a":2}"#)
        // null at the same clock removes the client; its clock stays, so the old state cannot return.
        let nullSameClock = Self.update([(2, me.entries[2]!.clock, "null")])
        c = try me.apply(nullSameClock, now: 6)
        #expect(c.removed == [2])
        #expect(me.states[2] == nil && me.entries[2]?.json == nil)
        #expect(try me.apply(u3, now: 7).isEmpty)
        // ...and a null for a client already gone is ignored.
        #expect(try me.apply(nullSameClock, now: 8).isEmpty)
        // A newer state brings it back.
        peer.setLocalState(#"{"a":3}"#, now: 0)
        #expect(try me.apply(peer.encodeUpdate(clients: [2]), now: 9).touched == [2])
    }

    /// A peer cannot remove our local state: we bump our clock and keep it (to be re-broadcast).
    @Test func localStateSpecialCase() throws {
        var me = Awareness(clientID: 1, now: 0)
        me.setLocalState(#"{"me":true}"#, now: 0)
        let c = try me.apply(Self.update([(1, 5, "null")]), now: 1)
        #expect(c.reassertedLocal && c.removed.isEmpty && c.broadcast == [1])
        #expect(me.localState == #"{"me":true}"#)
        #expect(me.entries[1]?.clock == 6)
        // A newer state for our client from elsewhere is taken (y-protocols does the same).
        _ = try me.apply(Self.update([(1, 9, #"{"x":1}"#)]), now: 2)
        #expect(me.localState == #"{"x":1}"#)
        // Once we removed ourselves, a null is an ordinary removal.
        me.setLocalState(nil, now: 3)
        #expect(try me.apply(Self.update([(1, 11, "null")]), now: 4).removed == [1])
    }

    @Test func timeoutsWithInjectedTime() throws {
        var me = Awareness(clientID: 1, now: 100)
        var peer = Awareness(clientID: 2, now: 100)
        peer.setLocalState(#"{"p":1}"#, now: 100)
        try me.apply(peer.encodeUpdate(clients: [2]), now: 100)
        var t = me.tick(now: 114.9)
        #expect(t.renewed.isEmpty && t.timedOut.isEmpty)
        t = me.tick(now: 115)  // 15 s: re-publish the local state with clock + 1
        #expect(t.renewed.broadcast == [1] && me.entries[1]?.clock == 1)
        t = me.tick(now: 129.9)
        #expect(t.timedOut.isEmpty)
        t = me.tick(now: 130)  // 30 s without news of client 2: removed
        #expect(t.timedOut == [2] && me.states[2] == nil)
        // Its clock is kept: an old message does not resurrect it; a newer one does.
        #expect(try me.apply(peer.encodeUpdate(clients: [2]), now: 131).isEmpty)
        // (A returning client counts as updated, not added: y-protocols keeps its meta.)
        peer.setLocalState(#"{"p":2}"#, now: 131)
        let back = try me.apply(peer.encodeUpdate(clients: [2]), now: 131)
        #expect(back.updated == [2] && back.added.isEmpty && me.states[2] == #"{"p":2}"#)
        // A removed local state is not re-published.
        me.setLocalState(nil, now: 140)
        #expect(me.tick(now: 200).renewed.isEmpty)
    }

    @Test func malformedUpdatesChangeNothing() throws {
        var me = Awareness(clientID: 1, now: 0)
        let before = me.entries
        let bad: [([UInt8], (SyncError) -> Bool)] = [
            (h("01 02 85 80"), { if case .truncated = $0 { true } else { false } }),
            (h("05 02 05 00"), { if case .lengthTooLarge = $0 { true } else { false } }),
            (Self.update([(2, 1, #"{"ok":1}"#), (3, 1, "{not json")]), { $0 == .invalidAwarenessJSON(client: 3, reason: $0.reasonText) }),
            (Self.update([(2, 1, "")]), { if case .invalidAwarenessJSON = $0 { true } else { false } }),
            (Self.update([(2, 1, "1")]) + [0], { if case .trailingBytes = $0 { true } else { false } }),
        ]
        for (bytes, ok) in bad {
            do {
                try me.apply(bytes, now: 1)
                Issue.record("accepted \(Hex.encode(bytes))")
            } catch {
                #expect(ok(error), "\(error)")
            }
            #expect(me.entries == before)
        }
        // Any JSON value is a state (not only objects).
        #expect(try me.apply(Self.update([(2, 1, "[1,\"x\"]"), (3, 1, "true")]), now: 1).added == [2, 3])
    }

    // MARK: - Limits

    private static func limited(_ change: (inout AwarenessLimits) -> Void) -> Awareness {
        var limits = AwarenessLimits()
        change(&limits)
        return Awareness(clientID: 1, now: 0, limits: limits)
    }

    private static func entries(_ list: [(ClientID, UInt64, String?)]) -> [Awareness.WireEntry] {
        list.map { Awareness.WireEntry(client: $0.0, clock: $0.1, json: $0.2) }
    }

    /// A state over `maxStateBytes` refuses the whole update (the entry before it included), and
    /// is not even parsed: an oversized text that is not JSON is refused as too large.
    @Test func aStateOverItsByteLimitRefusesTheWholeUpdate() throws {
        var me = Self.limited { $0.maxStateBytes = 16 }
        let before = me.entries
        let big = #"{"name":"0123456789"}"#
        #expect(throws: AwarenessViolation.stateTooLarge(client: 3, bytes: big.utf8.count, limit: 16)) {
            try me.applyChecked(Self.entries([(2, 1, "{}"), (3, 1, big)]), now: 1)
        }
        #expect(me.entries == before)
        let decoded = try Awareness.decodeUpdate(Self.update([(4, 1, String(repeating: "{", count: 17))]), maxStateBytes: 16)
        #expect(me.check(decoded) == .stateTooLarge(client: 4, bytes: 17, limit: 16))
        #expect(try me.applyChecked(Self.entries([(2, 1, #"{"n":"ok"}"#)]), now: 1).added == [2])
    }

    /// The room's limits count present states (ours too) and their bytes after the update; an
    /// update that frees as much as it adds passes, one that grows past a limit changes nothing.
    @Test func stateCountAndTotalBytesAreBounded() throws {
        var me = Self.limited {
            $0.maxStates = 3
            $0.maxTotalBytes = 30
        }
        try me.applyChecked(Self.entries([(2, 1, "{}"), (3, 1, "{}")]), now: 1)
        #expect(me.stateCount == 3 && me.stateBytes == 6)
        #expect(throws: AwarenessViolation.tooManyStates(wouldBe: 4, limit: 3)) {
            try me.applyChecked(Self.entries([(4, 1, "{}")]), now: 2)
        }
        #expect(me.states[4] == nil && me.stateCount == 3)
        // 3 goes, 4 comes: still 3 states.
        #expect(try me.applyChecked(Self.entries([(3, 2, nil), (4, 1, "{}")]), now: 2).added == [4])
        let long = #"{"s":"\#(String(repeating: "x", count: 20))"}"#  // 28 bytes
        #expect(throws: AwarenessViolation.tooManyBytes(wouldBe: 4 + long.utf8.count, limit: 30)) {
            try me.applyChecked(Self.entries([(2, 2, long)]), now: 3)
        }
        #expect(me.states[2] == "{}" && me.stateBytes == 6)
        // Counts follow removals and timeouts.
        me.removeStates([2], now: 4)
        #expect(me.stateCount == 2 && me.stateBytes == 4)
        _ = me.tick(now: 40)
        #expect(me.stateCount == 1 && me.states.keys.sorted() == [1])
    }

    /// Gone clients' clocks are kept (an older message stays refused), but only for
    /// `tombstoneLifetime` seconds and at most `maxTombstones` of them, oldest forgotten first.
    @Test func tombstonesAreBoundedInNumberAndAge() throws {
        var me = Self.limited {
            $0.maxTombstones = 8
            $0.tombstoneLifetime = 100
        }
        // A flood of removals of clients never seen: each would be a kept clock for ever.
        for i in 0..<1_000 { me.apply(Self.entries([(ClientID(1_000 + i), 1, nil)]), now: Double(i) / 100) }
        #expect(me.tombstoneCount <= 8 && me.entries.count <= 9)
        #expect(me.entries[1_999] != nil && me.entries[1_000] == nil)  // the newest kept
        // A removed client: its old state is refused while the tombstone lives...
        try me.applyChecked(Self.entries([(2, 5, "{}")]), now: 20)
        me.removeStates([2], now: 20)
        #expect(me.apply(Self.entries([(2, 4, #"{"old":1}"#)]), now: 21).isEmpty)
        _ = me.tick(now: 119.9)
        #expect(me.entries[2]?.clock == 5)
        // ...and forgotten after its lifetime (our own clock is never forgotten).
        me.setLocalState(nil, now: 20)
        _ = me.tick(now: 120)
        #expect(me.entries[2] == nil && me.tombstoneCount == 1 && me.entries[1]?.json == nil)
        // A client timed out is a tombstone too, forgotten in time.
        try me.applyChecked(Self.entries([(3, 1, "{}")]), now: 200)
        #expect(me.tick(now: 230).timedOut == [3])
        #expect(me.entries[3]?.json == nil)
        _ = me.tick(now: 330)
        #expect(me.entries[3] == nil && me.entries.count == 1)
    }

    static func update(_ entries: [(ClientID, UInt64, String)]) -> [UInt8] {
        var w = Lib0Writer()
        w.writeVarUInt(entries.count)
        for (c, k, s) in entries {
            w.writeVarUInt(c)
            w.writeVarUInt(k)
            w.writeString(s)
        }
        return w.bytes
    }
}

extension SyncError {
    var reasonText: String { if case let .invalidAwarenessJSON(_, r) = self { return r }; return "" }
}
