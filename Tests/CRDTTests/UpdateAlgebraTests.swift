import Testing
import TestSupport
@testable import CRDT

// mergeUpdates / diffUpdate / encodeStateVectorFromUpdate against the spec's examples
// (sections 3.9, 4, 10) and against the fixtures cut into pieces.

fileprivate func h(_ s: String) -> [UInt8] { CodecTestData.bytes(s) }

fileprivate let e1 = h("01 01 01 00 04 01 04 74 65 78 74 03 61 62 63 00")
fileprivate let upd1 = h("01 01 01 00 04 01 04 74 65 78 74 01 61 00")
fileprivate let upd2 = h("01 01 01 01 84 01 00 01 62 00")
fileprivate let merged12 = h("01 02 01 00 04 01 04 74 65 78 74 01 61 84 01 00 01 62 00")

/// Clocks held by real content per client (Skips hold none), as normalised ranges.
fileprivate func coverage(_ u: DecodedUpdate) -> DeleteSet {
    var ds = DeleteSet()
    for g in u.groups {
        for s in g.structs where !s.isSkip { ds.add(client: s.id.client, clock: s.id.clock, length: s.length) }
    }
    ds.normalize()
    return ds
}

/// Cuts a full-state update into small updates: every group in chunks of at most `size` structs
/// (each a valid update of its own). The delete set goes with the first piece.
fileprivate func pieces(_ u: DecodedUpdate, size: Int) -> [DecodedUpdate] {
    var out: [DecodedUpdate] = []
    for g in u.groups {
        var i = 0
        while i < g.structs.count {
            let chunk = Array(g.structs[i..<min(i + size, g.structs.count)])
            out.append(DecodedUpdate(groups: [.init(client: g.client, structs: chunk)]))
            i += size
        }
    }
    if out.isEmpty { out.append(DecodedUpdate()) }
    out[0].deleteSet = u.deleteSet
    return out
}

@Suite(.ownThread) struct UpdateAlgebraTests {
    // MARK: worked examples

    @Test func e12() throws {
        #expect(try Updates.merge([upd1, upd2]) == merged12)
        #expect(try Updates.merge([upd2, upd1]) == merged12)
        #expect(try Updates.stateVector(of: upd2) == StateVector())
        #expect(try Updates.stateVector(of: upd2).encoded() == h("00"))
        #expect(try Updates.stateVector(of: merged12) == StateVector([1: 2]))
        #expect(try Updates.stateVector(of: merged12).encoded() == h("01 01 02"))
        #expect(try Updates.diff(merged12, against: StateVector([1: 1])) == upd2)
    }

    @Test func s1GapBecomesSkip() throws {
        let c = h("01 01 01 02 84 01 01 01 63 00") // "c" at clock 2, origin (1,1)
        let s1 = h("01 03 01 00 04 01 04 74 65 78 74 01 61 0a 01 84 01 01 01 63 00")
        #expect(try Updates.merge([upd1, c]) == s1)
        #expect(try Updates.merge([c, upd1]) == s1)
        #expect(try Updates.stateVector(of: s1).encoded() == h("01 01 01"))
        // The hole survives another merge, and filling it removes the Skip.
        #expect(try Updates.merge([s1, upd1]) == s1)
        #expect(try Updates.merge([s1, upd2]) == h("01 03 01 00 04 01 04 74 65 78 74 01 61 84 01 00 01 62 84 01 01 01 63 00"))
        // A diff never starts a group with a Skip.
        #expect(try Updates.diff(s1, against: StateVector([1: 1])) == c)
        #expect(try Updates.diff(s1, against: StateVector([1: 2])) == c)
    }

    @Test func diffExamples() throws {
        // E4: "abc" from clock 1.
        #expect(try Updates.diff(e1, against: StateVector([1: 1])) == h("01 01 01 01 84 01 00 02 62 63 00"))
        #expect(try Updates.diff(e1, against: StateVector()) == e1)
        #expect(try Updates.diff(e1, against: StateVector([2: 5])) == e1)
        #expect(try Updates.diff(e1, against: StateVector([1: 3])) == h("00 00"))
        // E3: nothing new but the delete set, which is always kept.
        let e3 = h("01 03 01 00 04 01 04 74 65 78 74 01 61 81 01 00 01 84 01 01 01 63 01 01 01 01 01")
        #expect(try Updates.diff(e3, against: StateVector([1: 3])) == h("00 01 01 01 01 01"))
        #expect(try Updates.diff(e3, against: StateVector([1: 2])) == h("01 01 01 02 84 01 01 01 63 01 01 01 01 01"))
        // Group order of the input is kept.
        let e8 = h("02 01 02 00 04 01 01 74 01 42 01 01 00 04 01 01 74 01 41 00")
        #expect(try Updates.diff(e8, against: StateVector([2: 1])) == h("01 01 01 00 04 01 01 74 01 41 00"))
    }

    @Test func mergeExamples() throws {
        // 3.9 / E12 and E8 (two clients, written descending).
        let a = h("01 01 01 00 04 01 01 74 01 41 00")
        let b = h("01 01 02 00 04 01 01 74 01 42 00")
        let e8 = h("02 01 02 00 04 01 01 74 01 42 01 01 00 04 01 01 74 01 41 00")
        #expect(try Updates.merge([a, b]) == e8)
        #expect(try Updates.merge([b, a]) == e8)
        // One input comes back as it is; none gives the empty update.
        #expect(try Updates.merge([e1]) == e1)
        #expect(try Updates.merge([]) == h("00 00"))
        #expect(throws: DecodingError.self) { try Updates.merge([h("01")]) }
        #expect(throws: DecodingError.self) { try Updates.merge([e1, h("01 01")]) }
        // What one input already covers is dropped; a partial overlap is cut (origin synthesized).
        let e4 = h("01 01 01 01 84 01 00 02 62 63 00")
        #expect(try Updates.merge([e1, e4]) == e1)
        #expect(try Updates.merge([e4, e1]) == e1)
        let ab = h("01 01 01 00 04 01 04 74 65 78 74 02 61 62 00")
        #expect(try Updates.merge([ab, e4]) == h("01 02 01 00 04 01 04 74 65 78 74 02 61 62 84 01 01 01 63 00"))
    }

    @Test func pendingUpdatesF8() throws {
        let f = try CodecTestData.yjsFixtures
        let (a, b, c) = (f["F8a"]!, f["F8b"]!, f["F8c"]!)
        // Without F8a nothing can be integrated, but the merge keeps it all.
        let bc = try Updates.merge([b, c])
        #expect(bc == h("01 01 07 01 84 07 00 01 62 01 07 01 00 01"))
        #expect(try Updates.stateVector(of: bc) == StateVector())
        #expect(try Updates.merge([a, b, c]) == h("01 02 07 00 04 01 01 74 01 61 84 07 00 01 62 01 07 01 00 01"))
        #expect(try Updates.merge([bc, a]) == (try Updates.merge([a, b, c])))
    }

    @Test func deleteSetsAreUnited() throws {
        let x = h("00 02 05 02 00 02 06 01 01 01 04 02") // {5: [0,2) [6,7)], 1: [4,6)}
        let y = h("00 02 05 01 02 04 09 01 00 01")       // {5: [2,6)}, {9: [0,1)}
        #expect(try Updates.merge([x, y]) == h("00 03 09 01 00 01 05 01 00 07 01 01 04 02"))
    }

    @Test func gcRunsCombineOnlyAcrossInputs() throws {
        let gcA = h("01 01 03 00 00 02 00")
        let gcB = h("01 01 03 02 00 03 00")
        #expect(try Updates.merge([gcA, gcB]) == h("01 01 03 00 00 05 00"))
        // Two GCs next to each other in one input stay apart (as in Yjs' merge loop).
        let two = h("01 02 03 00 00 02 00 03 00")
        #expect(try Updates.merge([two, h("00 00")]) == two)
        // Items are never combined.
        #expect(try Updates.merge([upd1, upd2]).count == merged12.count)
    }

    @Test func keyBitAsYjsMergeWritesIt() throws {
        // Yjs' lazy reader has no key for an item with an origin, so merge/diff write `88`, not `a8`.
        let e5 = h("01 02 02 00 21 01 01 6d 01 6b 01 a8 02 00 01 7d 2a 01 02 01 00 01")
        let expected = h("01 02 02 00 21 01 01 6d 01 6b 01 88 02 00 01 7d 2a 01 02 01 00 01")
        #expect(try Updates.merge([e5, h("00 00")]) == expected)
        #expect(try Updates.diff(e5, against: StateVector()) == expected)
        #expect(try Updates.merge([e5]) == e5)
        // An item that had its key on the wire keeps the bit when cut.
        #expect(try Updates.diff(h("01 01 02 00 28 01 01 6d 01 6b 02 7d 01 7d 02 00"), against: StateVector([2: 1]))
                == h("01 01 02 01 a8 02 00 01 7d 02 00"))
    }

    @Test func decodedAPIAgreesWithBytes() throws {
        let u1 = try UpdateDecoderV1.decode(upd1)
        let u2 = try UpdateDecoderV1.decode(upd2)
        let m = Updates.merge([u1, u2])
        #expect(UpdateEncoderV1.encode(m) == merged12)
        #expect(Updates.stateVector(of: m) == StateVector([1: 2]))
        #expect(UpdateEncoderV1.encode(Updates.diff(m, against: StateVector([1: 1]))) == upd2)
        #expect(Updates.merge([u1]) == u1)
    }

    // MARK: fixtures cut into pieces

    @Test func fixturesReassemble() throws {
        var rng = SeededRandom(seed: 7)
        for e in try CodecTestData.fuzzEntries {
            for full in [e.v1, e.v1gc] {
                let u = try UpdateDecoderV1.decode(full)
                let sv = try StateVector(decoding: e.sv)
                for size in [1, 3, 1000] {
                    var parts = pieces(u, size: size)
                    // Any order gives the same merge.
                    for i in parts.indices.reversed() where i > 0 { parts.swapAt(i, rng.int(0..<(i + 1))) }
                    let bytes = parts.map(UpdateEncoderV1.encode)
                    let m = try Updates.merge(bytes + (bytes.count == 1 ? [h("00 00")] : []))
                    let md = try UpdateDecoderV1.decode(m)
                    #expect(Updates.stateVector(of: md) == sv, "entry \(e.index)")
                    #expect(coverage(md) == coverage(u), "entry \(e.index)")
                    #expect(md == Updates.diff(u, against: StateVector()), "entry \(e.index) size \(size)")
                    #expect(md.deleteSet == u.deleteSet)
                }
            }
        }
    }

    @Test func diffOfMergeHoldsTheSecondPart() throws {
        for e in try CodecTestData.fuzzEntries {
            let u = try UpdateDecoderV1.decode(e.v1)
            // a: the first half of every client's structs, b: the rest.
            var a = DecodedUpdate(), b = DecodedUpdate()
            for g in u.groups {
                let half = g.structs.count / 2
                if half > 0 { a.groups.append(.init(client: g.client, structs: Array(g.structs[..<half]))) }
                b.groups.append(.init(client: g.client, structs: Array(g.structs[half...])))
            }
            b.deleteSet = u.deleteSet
            let ab = Updates.merge([a, b])
            let svA = Updates.stateVector(of: a)
            let d = Updates.diff(ab, against: svA)
            // Exactly b's structs (as a decoder reads them), b's delete set.
            #expect(d.groups == Updates.diff(b, against: StateVector()).groups, "entry \(e.index)")
            #expect(coverage(d) == coverage(b))
            #expect(d.deleteSet == u.deleteSet)
            // b alone has holes where a was: its state vector knows nothing of those clients.
            for g in b.groups where g.structs.first!.id.clock > 0 {
                #expect(Updates.stateVector(of: b)[g.client] == 0)
            }
            // Merging b back onto a diff that cuts every client in the middle changes nothing.
            var mid = StateVector()
            for g in u.groups { mid[g.client] = g.structs.last!.endClock / 2 }
            let dm = Updates.diff(u, against: mid)
            #expect(coverage(Updates.merge([dm, a, b])) == coverage(u))
            #expect(coverage(Updates.merge([dm, a])) == coverage(dm).merged(with: coverage(a)))
        }
    }

    @Test func mergeIsStableOnItsOutput() throws {
        // (Inputs that hold different structs for the same clocks, such as v1 and v1_gc of one
        // document, mix: which input wins a clock depends on the merge order, as in Yjs.)
        for e in try CodecTestData.fuzzEntries.prefix(20) {
            let m = try Updates.merge([e.v1, e.v1])
            #expect(try Updates.merge([m, m]) == m)
            #expect(try Updates.merge([m, e.v1]) == m)
            #expect(try Updates.merge([e.v1, m]) == m)
        }
    }
}
