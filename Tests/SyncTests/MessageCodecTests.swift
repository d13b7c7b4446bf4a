import CRDT
import Testing
import TestSupport
@testable import Sync

private func h(_ s: String) -> [UInt8] { Hex.decode(s.replacingOccurrences(of: " ", with: ""))! }

@Suite(.ownThread) struct MessageCodecTests {
    // Spec §7 examples, byte for byte.
    static let p1 = "00 00 03 01 01 03"
    static let p2 = "00 00 01 00"
    static let p3 = "00 01 10 01 01 01 00 04 01 04 74 65 78 74 03 61 62 63 00"
    static let p4 = "00 02 06 00 01 01 01 01 01"
    static let p5 = "01 01 01 15 7b 22 75 73 65 72 22 3a 7b 22 6e 61 6d 65 22 3a 22 41 22 7d 7d"
    static let p7 = "01 01 02 04 6e 75 6c 6c"

    @Test func specExamples() throws {
        #expect(SyncMessage.syncStep1(StateVector([1: 3])).encoded() == h(Self.p1))
        #expect(SyncMessage.syncStep1(StateVector()).encoded() == h(Self.p2))
        #expect(try SyncMessage.decode(h(Self.p1)) == .syncStep1(stateVector: h("01 01 03")))
        #expect(try SyncMessage.decode(h(Self.p3)) == .syncStep2(update: Array(h(Self.p3).dropFirst(3))))
        #expect(try SyncMessage.decode(h(Self.p4)) == .update(h("00 01 01 01 01 01")))
        #expect(SyncMessage.awareness(h(Self.p5)).encoded() == h("01 19") + h(Self.p5))
        #expect(SyncMessage.awareness(h(Self.p7)).encoded() == h("01 08") + h(Self.p7))
        #expect(SyncMessage.authDenied(reason: "nope").encoded() == h("02 00 04 6e 6f 70 65"))
        #expect(SyncMessage.authGranted.encoded() == h("02 01"))
        #expect(SyncMessage.queryAwareness.encoded() == h("03"))
        // The session's reply to P2, for a document where client 1 inserted "abc", is P3.
        let doc = YDoc(clientID: 1)
        try doc.getText("text").insert(at: 0, "abc")
        var s = SyncSession()
        let out = try s.receive(h(Self.p2), doc)
        #expect(out.send == [h(Self.p3)])
    }

    @Test func roundTripEveryKind() throws {
        let all: [SyncMessage] = [
            .syncStep1(stateVector: [0]), .syncStep2(update: [0, 0]), .update(h("00 01 01 01 01 01")),
            .awareness(h(Self.p7)), .authDenied(reason: "nö 🙂"), .authDenied(reason: ""), .authGranted, .queryAwareness,
            .update([UInt8](repeating: 7, count: 300)),  // two-byte length
        ]
        for m in all {
            #expect(try SyncMessage.decode(m.encoded()) == m)
        }
        #expect(try SyncMessage.decodeAll(all.flatMap { $0.encoded() }) == all)
    }

    /// Golden bytes for every kind pycrdt can produce (its y-protocols encoders).
    @Test func goldenAgainstPycrdt() throws {
        let py = try PycrdtPeer(clientID: 1)
        defer { py.close() }
        #expect(try py.syncStep1Message() == h(Self.p2))
        try py.textInsert(.text("text"), at: 0, "abc")
        #expect(try py.syncStep1Message() == h(Self.p1))
        let doc = YDoc(clientID: 1)
        try doc.getText("text").insert(at: 0, "abc")
        #expect(SyncMessage.syncStep1(doc.stateVector).encoded() == (try py.syncStep1Message()))
        // Step 2 in reply to an empty state vector: pycrdt's handle_sync_message vs our session.
        let (reply, _) = try py.handleSyncMessage(h(Self.p2))
        var s = SyncSession()
        #expect(try s.receive(h(Self.p2), doc).send == [reply!])
        #expect(reply == h(Self.p3))
        // Every kind through pycrdt's create_*_message.
        let update = try py.textDelete(.text("text"), at: 1, count: 1)[0]
        let sv = doc.stateVector.encoded()
        #expect(SyncMessage.syncStep1(stateVector: sv).encoded() == (try py.syncMessage(.step1, payload: sv)))
        #expect(SyncMessage.syncStep2(update: update).encoded() == (try py.syncMessage(.step2, payload: update)))
        #expect(SyncMessage.update(update).encoded() == (try py.syncMessage(.update, payload: update)))
        #expect(SyncMessage.update(update).encoded() == h(Self.p4))
        let big = doc.encodeStateAsUpdate() + [UInt8](repeating: 0, count: 200)  // length needs 2 bytes
        #expect(SyncMessage.update(big).encoded() == (try py.syncMessage(.update, payload: big)))
        #expect(SyncMessage.awareness(h(Self.p5)).encoded() == (try py.syncMessage(.awareness, payload: h(Self.p5))))
        // pycrdt applies our update message.
        let (none, applied) = try py.handleSyncMessage(SyncMessage.update(update).encoded())
        #expect(none == nil && applied.isEmpty)  // it already had it
    }

    @Test func malformedFramesThrowTypedErrors() {
        func err(_ s: String) -> SyncError? {
            do { _ = try SyncMessage.decode(h(s)); return nil } catch { return error }
        }
        #expect(err("") == .emptyFrame)
        #expect(err("00") == .truncated(what: "sync message type", offset: 1))
        #expect(err("00 00") == .truncated(what: "state vector", offset: 2))
        #expect(err("00 03 00") == .unknownSyncMessageType(3))
        #expect(err("04") == .unknownMessageType(4))
        #expect(err("ff ff ff ff 0f") == .unknownMessageType(0xFFFF_FFFF))
        #expect(err("02 02") == .unknownAuthType(2))
        #expect(err("02 00 02 ff fe") == .invalidUTF8(offset: 3))
        #expect(err("00 02 05 00 00") == .lengthTooLarge(what: "update", length: 5, offset: 2))
        #expect(err("00 02 ff ff ff ff ff ff ff 0f") == .lengthTooLarge(what: "update", length: 0x1F_FFFF_FFFF_FFFF, offset: 2))
        #expect(err("00 02 ff ff ff ff ff ff ff ff ff 7f").map { if case .integerOverflow = $0 { true } else { false } } == true)
        #expect(err("00 02 ff") == .truncated(what: "update", offset: 3))
        #expect(err("03 00") == .trailingBytes(count: 1, offset: 1))
        #expect(err("01 01 00 00") == .trailingBytes(count: 1, offset: 3))
    }

    /// Random and mutated frames: decoding throws or round-trips, never traps; the session
    /// refuses bad payloads without changing.
    @Test func fuzzishFrames() throws {
        var rng = SeededRandom(seed: 4)
        let seeds = [Self.p1, Self.p2, Self.p3, Self.p4, "01 19 " + Self.p5, "02 00 04 6e 6f 70 65", "03"].map(h)
        let doc = YDoc(clientID: 9)
        try doc.getText("text").insert(at: 0, "hello")
        for i in 0..<4000 {
            var f: [UInt8]
            if i % 3 == 0 {
                f = (0..<rng.int(0...12)).map { _ in UInt8(rng.int(0...255)) }
            } else {
                f = rng.pick(seeds)
                for _ in 0..<rng.int(1...3) {
                    switch rng.int(0...3) {
                    case 0 where !f.isEmpty: f[rng.int(0..<f.count)] = UInt8(rng.int(0...255))
                    case 1 where !f.isEmpty: f.removeLast(rng.int(1...f.count))
                    case 2: f.insert(UInt8(rng.int(0...255)), at: rng.int(0...f.count))
                    default: f.append(0xff)
                    }
                }
            }
            if let m = try? SyncMessage.decode(f) {
                #expect(try SyncMessage.decode(m.encoded()) == m)
            }
            var s = SyncSession()
            _ = s.start(doc)
            let before = s.stats
            do { _ = try s.receive(f, doc) } catch {
                #expect(s.stats == before && s.peer == nil)
            }
        }
    }
}
