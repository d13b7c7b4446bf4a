import Testing
import TestSupport
@testable import CRDT

private func hex(_ s: String) -> [UInt8] {
    let clean = s.filter { !$0.isWhitespace }
    var out: [UInt8] = []
    var i = clean.startIndex
    while i < clean.endIndex {
        let j = clean.index(i, offsetBy: 2)
        out.append(UInt8(clean[i..<j], radix: 16)!)
        i = j
    }
    return out
}

private func hexString(_ b: [UInt8]) -> String { b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ") }

/// Captures the per-transaction updates of a document.
private final class Recorder {
    var updates: [[UInt8]] = []
    init(_ doc: YDoc) { doc.observeUpdate { [unowned self] in self.updates.append($0.update) } }
}

@Suite(.ownThread) struct DocumentWorkedExamples {
    @Test func e1InsertAndE3Delete() throws {
        let doc = YDoc(clientID: 1)
        let rec = Recorder(doc)
        let t = doc.getText("text")
        try t.insert(at: 0, "abc")
        #expect(rec.updates.last == hex("01 01 01 00 04 01 04 74 65 78 74 03 61 62 63 00"))
        #expect(doc.encodeStateVector() == hex("01 01 03"))
        let sv = doc.stateVector
        try t.delete(at: 1, count: 1)
        #expect(t.string == "ac")
        #expect(rec.updates.last == hex("00 01 01 01 01 01"))
        #expect(doc.encodeStateAsUpdate(since: sv) == hex("00 01 01 01 01 01"))
        #expect(doc.encodeStateAsUpdate() == hex("01 03 01 00 04 01 04 74 65 78 74 01 61 81 01 00 01 84 01 01 01 63 01 01 01 01 01"))
    }

    @Test func e4DiffFromClock() throws {
        let doc = YDoc(clientID: 1)
        try doc.getText("text").insert(at: 0, "abc")
        #expect(doc.encodeStateAsUpdate(since: StateVector([1: 1])) == hex("01 01 01 01 84 01 00 02 62 63 00"))
    }

    @Test func typingTwoTransactionsAndM1() throws {
        let doc = YDoc(clientID: 1)
        let rec = Recorder(doc)
        let t = doc.getText("text")
        try t.insert(at: 0, "a")
        try t.insert(at: 1, "b")
        #expect(rec.updates == [hex("01 01 01 00 04 01 04 74 65 78 74 01 61 00"), hex("01 01 01 01 84 01 00 01 62 00")])
        try t.insert(at: 0, "c")
        #expect(doc.encodeStateAsUpdate() == hex("01 02 01 00 04 01 04 74 65 78 74 02 61 62 44 01 00 01 63 00"))
        #expect(t.string == "cab")
    }

    @Test func e5MapSetAndOverwrite() throws {
        let doc = YDoc(clientID: 2)
        let m = doc.getMap("m")
        m.set("k", .string("v"))
        #expect(doc.encodeStateAsUpdate() == hex("01 01 02 00 28 01 01 6d 01 6b 01 77 01 76 00"))
        m.set("k", .integer(42))
        #expect(doc.encodeStateAsUpdate() == hex("01 02 02 00 21 01 01 6d 01 6b 01 a8 02 00 01 7d 2a 01 02 01 00 01"))
        #expect(try m.get("k")?.toAny() == .integer(42))
    }

    @Test func e6Emoji() throws {
        let doc = YDoc(clientID: 1)
        try doc.getText("t").insert(at: 0, "a😀")
        #expect(doc.encodeStateAsUpdate() == hex("01 01 01 00 04 01 01 74 05 61 f0 9f 98 80 00"))
        #expect(doc.stateVector == StateVector([1: 3]))
    }

    @Test func e7Nested() throws {
        let doc = YDoc(clientID: 3)
        let list = doc.getMap("root").setArray("list")
        list.push([.integer(1), .string("x")])
        #expect(doc.encodeStateAsUpdate() == hex("01 02 03 00 27 01 04 72 6f 6f 74 04 6c 69 73 74 00 08 00 03 00 02 7d 01 77 01 78 00"))
        #expect(try doc.getMap("root").toAny() == .object([("list", .array([.integer(1), .string("x")]))]))
    }

    @Test func e8ConcurrentInserts() throws {
        let a = YDoc(clientID: 1), b = YDoc(clientID: 2)
        try a.getText("t").insert(at: 0, "A")
        try b.getText("t").insert(at: 0, "B")
        let ua = a.encodeStateAsUpdate(), ub = b.encodeStateAsUpdate()
        try a.applyUpdate(ub)
        try b.applyUpdate(ua)
        #expect(a.getText("t").string == "AB")
        #expect(b.getText("t").string == "AB")
        #expect(a.encodeStateAsUpdate() == hex("02 01 02 00 04 01 01 74 01 42 01 01 00 04 01 01 74 01 41 00"))
    }

    @Test func e9ConcurrentMapSets() throws {
        let a = YDoc(clientID: 1), b = YDoc(clientID: 2)
        a.getMap("m").set("k", .string("from1"))
        b.getMap("m").set("k", .string("from2"))
        let ua = a.encodeStateAsUpdate(), ub = b.encodeStateAsUpdate()
        try a.applyUpdate(ub)
        try b.applyUpdate(ua)
        #expect(try a.getMap("m").get("k")?.toAny() == .string("from2"))
        #expect(try b.getMap("m").get("k")?.toAny() == .string("from2"))
    }

    @Test func f7SplitSurrogatePair() throws {
        let doc = YDoc(clientID: 5)
        let t = doc.getText("t")
        try t.insert(at: 0, "😀")
        try t.insert(at: 1, "x")
        #expect(t.string == "\u{FFFD}x\u{FFFD}")
        #expect(doc.encodeStateAsUpdate() == hex("01 03 05 00 04 01 01 74 03 ef bf bd 84 05 00 03 ef bf bd c4 05 00 05 01 01 78 00"))
    }

    @Test func f8PendingOutOfOrder() throws {
        let doc = YDoc(clientID: 99)
        try doc.applyUpdate(hex("01 01 07 01 84 07 00 01 62 00"))
        try doc.applyUpdate(hex("00 01 07 01 00 01"))
        #expect(doc.getText("t").string == "")
        #expect(doc.stateVector.isEmpty)
        #expect(doc.hasPending)
        #expect(doc.encodeStateAsUpdate() == hex("01 01 07 01 84 07 00 01 62 01 07 01 00 01"))
        try doc.applyUpdate(hex("01 01 07 00 04 01 01 74 01 61 00"))
        #expect(doc.getText("t").string == "b")
        #expect(!doc.hasPending)
    }

    @Test func f10ThreeWayConcurrency() throws {
        let base = YDoc(clientID: 10)
        try base.getText("t").insert(at: 0, "xy")
        let start = base.encodeStateAsUpdate()
        try base.getText("t").insert(at: 1, "A")
        var docs: [YDoc] = [base]
        for (id, ch) in [(20, "B"), (30, "C")] {
            let d = YDoc(clientID: ClientID(id))
            try d.applyUpdate(start)
            try d.getText("t").insert(at: 1, ch)
            docs.append(d)
        }
        let updates = docs.map { $0.encodeStateAsUpdate() }
        for d in docs { for u in updates { try d.applyUpdate(u) } }
        for d in docs { #expect(d.getText("t").string == "xABCy") }
        #expect(docs[0].encodeStateAsUpdate() == hex("03 01 1e 00 c4 0a 00 0a 01 01 43 01 14 00 c4 0a 00 0a 01 01 42 03 0a 00 04 01 01 74 01 78 84 0a 00 01 79 c4 0a 00 0a 01 01 41 00"))
    }

    @Test func m4DeletedNestedArrayIsCollected() throws {
        let doc = YDoc(clientID: 1)
        let m = doc.getMap("m")
        let arr = m.setArray("x")
        arr.push([.string("p"), .string("q")])
        m.delete("x")
        #expect(doc.encodeStateAsUpdate() == hex("01 02 01 00 21 01 01 6d 01 78 01 00 02 01 01 01 00 03"))
    }

    @Test func m2m3DeletedArrayContentWithAndWithoutGC() throws {
        for gc in [true, false] {
            let doc = YDoc(clientID: 1, gc: gc)
            let a = doc.getArray("a")
            a.push([.integer(1), .integer(2), .integer(3)])
            try a.delete(at: 0, count: 3)
            let expected = gc ? "01 01 01 00 01 01 01 61 03 01 01 01 00 03" : "01 01 01 00 08 01 01 61 03 7d 01 7d 02 7d 03 01 01 01 00 03"
            #expect(doc.encodeStateAsUpdate() == hex(expected), "gc=\(gc): \(hexString(doc.encodeStateAsUpdate()))")
        }
    }

    @Test func remoteEditUnderOwnClientIDChangesID() throws {
        // Another replica wrote under our id: like Yjs, pick a fresh id before writing again.
        let a = YDoc(clientID: 10)
        try a.getText("t").insert(at: 0, "x")
        let b = YDoc(clientID: 10)
        try b.applyUpdate(a.encodeStateAsUpdate())
        #expect(b.clientID != 10)
    }

    @Test func zeroLengthStructsAreIgnoredAndApplyIsIdempotent() throws {
        // Found by the fuzzer: GC(61), GC(268419067), then a zero-length GC at the state clock.
        let update = hex("01 03 00 00 00 3d 00 fb ff fe ff 00 00 00 00 ff ff 0f 24 84 00 d9")
        let doc = YDoc(clientID: 1)
        try doc.applyUpdate(update)
        let once = doc.encodeStateAsUpdate()
        try doc.applyUpdate(update)
        #expect(doc.encodeStateAsUpdate() == once)
        #expect(doc.stateVector == StateVector([0: 268_419_128]))
    }

    /// What CRDTFuzz's document check does: a document holding "ab" applies `update` twice;
    /// nothing may be left waiting, and the second apply must change nothing.
    static func applyTwiceAfterAB(_ update: [UInt8]) throws -> YDoc {
        let doc = YDoc(clientID: 1)
        try doc.getText("t").insert(at: 0, "ab")
        try doc.applyUpdate(update)
        #expect(!doc.hasPending)
        let once = doc.encodeStateAsUpdate()
        try doc.applyUpdate(update)
        #expect(doc.encodeStateAsUpdate() == once)
        return doc
    }

    @Test func zeroLengthStructsWithAMissingParentAreNotParked() throws {
        // Found by the fuzzer (CRDTFuzz, 2026-12-04): after a map entry and GC runs, a
        // zero-length item whose parent (3027,33) is missing and zero-length GCs at the state
        // clock. Parked as pending, they kept the first apply's pending non-empty and the second
        // apply resolved them to nothing, so applying the update twice changed the encoding.
        let update = hex("01 0a d3 17 00 27 01 00 00 00 00 00 00 01 a7 d3 17 00 00 00 10 01 00 d3 17 21 00 00 00 00 00 00 00 00 00 00")
        let doc = try Self.applyTwiceAfterAB(update)
        #expect(doc.stateVector == StateVector([1: 2, 3027: 19]))
    }

    @Test func aZeroLengthItemWithAnOriginThatNeverComesParksNothing() throws {
        // Found by the fuzzer (CRDTFuzz, release, 2026-12-06): a zero-length item of client 2011
        // whose right origin (2011,257480) never comes sat on the dependency stack when it hit
        // a dead end, so the items of 3011 above it were parked with it although their own
        // dependency had arrived; a second apply integrated them (not idempotent).
        let update = hex(
            "03 05 c3 17 00 01 01 01 74 01 01 01 01 61 01 88 c3 17 01 03 77 04 73 74 72 36 76 01 01 6b 7d 00 " +
            "75 02 7c 3f c0 00 00 7e 48 db 0f 01 01 7d 28 a7 db 0f 06 01 11 db 0f 00 01 01 01 61 01 48 db 0f " +
            "c8 db 0f 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 10 00 00 00 00 " +
            "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 db 0f 03 02 7d 80 0b 77 04 73 74 72 31 a1 db " +
            "0f 06 01 08 f3 07 00 21 01 01 6d 02 6b 30 01 00 01 a1 f3 07 00 ff ff ff 02 01 00 01 47 db 0f 07 " +
            "03 02 70 32 28 00 f3 07 04 01 63 01 77 01 76 07 00 f3 07 04 06 04 00 f3 07 06 02 74 78 03 c3 17 " +
            "01 00 02 db 0f 04 00 01 04 01 06 01 16 01 f3 07 01 00 04")
        _ = try Self.applyTwiceAfterAB(update)
    }

    @Test func badInputLeavesDocumentUnchanged() throws {
        let doc = YDoc(clientID: 1)
        try doc.getText("t").insert(at: 0, "hello")
        let before = doc.encodeStateAsUpdate()
        let good = hex("01 01 07 00 04 01 01 74 01 61 00")
        for cut in 1..<good.count {
            #expect(throws: DecodingError.self) { try doc.applyUpdate(Array(good[..<cut])) }
        }
        #expect(throws: DecodingError.self) { try doc.applyUpdate([0x01, 0x01, 0x07, 0x00, 0x1f]) }
        #expect(throws: DecodingError.self) { try doc.applyUpdate([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]) }
        #expect(doc.encodeStateAsUpdate() == before)
        #expect(throws: YDocError.self) { try doc.getText("t").insert(at: 99, "x") }
        #expect(throws: YDocError.self) { try doc.getText("t").delete(at: 3, count: 5) }
        #expect(doc.encodeStateAsUpdate() == before)
    }
}
