import Testing
import TestSupport
@testable import CRDT

/// `Updates.split`: pieces under the limit that, applied in order or shuffled, give the document
/// the whole update gives.
@Suite(.ownThread) struct UpdateSplitTests {
    /// A document of several clients with texts (astral characters included), maps, arrays,
    /// binaries and deletes, edited at random.
    private func randomState(seed: UInt64, edits: Int) throws -> [UInt8] {
        var rng = SeededRandom(seed: seed)
        let docs = (1...3).map { YDoc(clientID: ClientID($0)) }
        let alphabet = ["a", "bc", "😀", "é", "line\n", "𝄞x", "long text run ", "z"]
        for _ in 0..<edits {
            let doc = docs[rng.int(0..<docs.count)]
            let text = doc.getText("text")
            switch rng.int(0..<10) {
            case 0..<5:
                try text.insert(at: rng.int(0...text.length), rng.pick(alphabet))
            case 5..<7 where text.length > 0:
                let at = rng.int(0..<text.length)
                try text.delete(at: at, count: min(text.length - at, rng.int(1...4)))
            case 7:
                doc.getMap("meta").set("k\(rng.int(0..<5))", .integer(Int64(rng.int(0..<100))))
            case 8:
                doc.getArray("list").push([.string("item \(rng.int(0..<100))")])
            default:
                try doc.getArray("list").insertBinary(at: 0, [UInt8](repeating: UInt8(rng.int(0..<256)), count: rng.int(1...40)))
            }
            if rng.chance(0.2) {
                let other = docs[rng.int(0..<docs.count)]
                try other.applyUpdate(doc.encodeStateAsUpdate(since: other.stateVector))
            }
        }
        let all = YDoc(clientID: 99)
        for d in docs { try all.applyUpdate(d.encodeStateAsUpdate()) }
        return all.encodeStateAsUpdate()
    }

    private func expectSameDocument(_ a: YDoc, _ b: YDoc, _ context: String) throws {
        #expect(a.getText("text").string == b.getText("text").string, "\(context)")
        #expect(try a.getMap("meta").toAny() == b.getMap("meta").toAny(), "\(context)")
        #expect(try a.getArray("list").toAny() == b.getArray("list").toAny(), "\(context)")
        #expect(a.stateVector == b.stateVector, "\(context)")
        #expect(!b.hasPending, "\(context)")
    }

    @Test("pieces stay under the limit; in order or shuffled they give the whole document", arguments: [64, 200, 1000])
    func piecesRebuildTheDocument(limit: Int) throws {
        for seed in TestEnvironment.seeds(base: 4, salt: 700) {
            let whole = try randomState(seed: seed, edits: 300)
            let expected = YDoc(clientID: 50)
            try expected.applyUpdate(whole)
            let pieces = try Updates.split(whole, maxBytes: limit)
            #expect(pieces.count > 1, "seed \(seed): \(whole.count) bytes in one piece")
            for p in pieces {
                let decoded = try UpdateDecoderV1.decode(p)
                // Only an item that cannot be cut (a binary) may exceed the limit.
                let cuttable = decoded.groups.allSatisfy { g in
                    g.structs.allSatisfy { if case let .item(i) = $0 { return i.content.isSplittable } else { return true } }
                }
                if cuttable { #expect(p.count <= limit, "seed \(seed): a piece of \(p.count) bytes over \(limit)") }
                #expect(!decoded.groups.isEmpty || !decoded.deleteSet.isEmpty, "seed \(seed): an empty piece")
            }
            let inOrder = YDoc(clientID: 51)
            for p in pieces { try inOrder.applyUpdate(p) }
            try expectSameDocument(expected, inOrder, "seed \(seed), in order")

            // Shuffled, two parked pieces can each hold the other's dependency (seed 700 at 1000
            // bytes): the pending retry must integrate them together.
            var rng = SeededRandom(seed: seed)
            let shuffled = YDoc(clientID: 52)
            for p in pieces.shuffled(using: &rng) { try shuffled.applyUpdate(p) }
            try expectSameDocument(expected, shuffled, "seed \(seed), shuffled")
        }
    }

    @Test("one long string is cut between characters, never inside a surrogate pair")
    func longStringCut() throws {
        let doc = YDoc(clientID: 7)
        let text = String(repeating: "ab😀", count: 3000)
        try doc.getText("text").insert(at: 0, text)
        let whole = doc.encodeStateAsUpdate()
        let pieces = try Updates.split(whole, maxBytes: 500)
        #expect(pieces.count >= whole.count / 500)
        #expect(pieces.allSatisfy { $0.count <= 500 })
        let rebuilt = YDoc(clientID: 8)
        for p in pieces { try rebuilt.applyUpdate(p) }
        #expect(rebuilt.getText("text").string == text)
        #expect(!rebuilt.getText("text").string.contains("\u{FFFD}"))
    }

    @Test("an update under the limit is returned as it is; a large delete set is cut too")
    func smallAndDeleteHeavy() throws {
        let doc = YDoc(clientID: 3)
        let t = doc.getText("text")
        try t.insert(at: 0, String(repeating: "x", count: 4000))
        let small = doc.encodeStateAsUpdate()
        #expect(try Updates.split(small, maxBytes: small.count) == [small])
        // Every other character deleted: 2,000 ranges in the delete set.
        for i in stride(from: 3999, through: 0, by: -2) { try t.delete(at: i, count: 1) }
        let whole = doc.encodeStateAsUpdate()
        let pieces = try Updates.split(whole, maxBytes: 300)
        #expect(pieces.allSatisfy { $0.count <= 300 })
        let rebuilt = YDoc(clientID: 4)
        for p in pieces { try rebuilt.applyUpdate(p) }
        #expect(rebuilt.getText("text").string == t.string)
        #expect(!rebuilt.hasPending)
    }

    @Test("a malformed update is refused with the decoder's error")
    func malformed() {
        #expect(throws: DecodingError.self) { try Updates.split([0x05, 0x01] + [UInt8](repeating: 0xFF, count: 100), maxBytes: 64) }
    }
}
