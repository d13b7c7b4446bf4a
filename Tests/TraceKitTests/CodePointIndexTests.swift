import Testing
import TestSupport
@testable import TraceKit

/// UTF-16 offset of code point `p` in `scalars`, the slow obvious way.
func referenceUTF16Offset(_ scalars: [Unicode.Scalar], _ p: Int) -> Int {
    scalars[0..<p].reduce(0) { $0 + ($1.value > 0xFFFF ? 2 : 1) }
}

@Suite(.ownThread) struct CodePointIndexTests {
    @Test func emptyAndBMPOnly() throws {
        var index = CodePointIndex()
        #expect(index.count == 0 && index.utf16Count == 0)
        let rOpt = index.splice(at: 0, deleting: 0, inserting: "héllo")
        let r = try #require(rOpt)
        #expect(r.utf16Position == 0 && r.utf16DeleteCount == 0)
        #expect(index.count == 5 && index.utf16Count == 5 && index.astralPositions.isEmpty)
        let r2Opt = index.splice(at: 1, deleting: 3, inserting: "a")
        let r2 = try #require(r2Opt)
        #expect(r2.utf16Position == 1 && r2.utf16DeleteCount == 3)
        #expect(index.count == 3)
    }

    @Test func astralCharactersShiftOffsets() throws {
        // "a😀b𝄞c": code points a 😀 b 𝄞 c, UTF-16 a 😀(2) b 𝄞(2) c
        var index = CodePointIndex("a😀b𝄞c")
        #expect(index.count == 5)
        #expect(index.utf16Count == 7)
        #expect(index.astralPositions == [1, 3])
        #expect(index.utf16Offset(ofCodePoint: 0) == 0)
        #expect(index.utf16Offset(ofCodePoint: 1) == 1)
        #expect(index.utf16Offset(ofCodePoint: 2) == 3)
        #expect(index.utf16Offset(ofCodePoint: 3) == 4)
        #expect(index.utf16Offset(ofCodePoint: 4) == 6)
        #expect(index.utf16Offset(ofCodePoint: 5) == 7)

        // Delete "😀b" (code points 1..<3): UTF-16 1..<4.
        let rOpt = index.splice(at: 1, deleting: 2, inserting: "")
        let r = try #require(rOpt)
        #expect(r.utf16Position == 1 && r.utf16DeleteCount == 3)
        #expect(index.astralPositions == [1])  // 𝄞 moved from 3 to 1
        // Insert "🎉x" before 𝄞: astral at 1, 𝄞 moves to 3.
        let r2Opt = index.splice(at: 1, deleting: 0, inserting: "🎉x")
        let r2 = try #require(r2Opt)
        #expect(r2.utf16Position == 1 && r2.utf16DeleteCount == 0)
        #expect(index.astralPositions == [1, 3])
        #expect(index.utf16Count == 7)  // a 🎉 x 𝄞 c
    }

    @Test func outOfRangeChangesNothing() {
        var index = CodePointIndex("ab😀")
        let before = index
        let a = index.splice(at: 4, deleting: 0, inserting: "x")
        let b = index.splice(at: 2, deleting: 2, inserting: "")
        let c = index.splice(at: -1, deleting: 0, inserting: "")
        #expect(a == nil && b == nil && c == nil)
        #expect(index == before)
    }

    @Test func combiningMarksAreSeparateCodePoints() throws {
        // "e\u{301}" is one Character but two code points; positions count code points.
        var index = CodePointIndex("e\u{301}x")
        #expect(index.count == 3)
        let rOpt = index.splice(at: 1, deleting: 1, inserting: "")
        let r = try #require(rOpt)
        #expect(r.utf16Position == 1 && r.utf16DeleteCount == 1)
    }

    /// Random splices with a mix of ASCII, BMP and astral text, checked against a scalar array.
    @Test(arguments: [1, 2, 3, 4, 5])
    func randomSplicesMatchReference(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let alphabet: [Unicode.Scalar] = ["a", "b", " ", "\n", "é", "→", "中", "😀", "𝄞", "🎉", "\u{10FFFF}"]
        var reference: [Unicode.Scalar] = []
        var units: [UInt16] = []
        var index = CodePointIndex()
        for _ in 0..<2000 {
            let pos = Int.random(in: 0...reference.count, using: &rng)
            let del = Int.random(in: 0...min(4, reference.count - pos), using: &rng)
            var ins = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...3, using: &rng) { ins.append(alphabet.randomElement(using: &rng)!) }
            let insText = String(ins)

            let rOpt = index.splice(at: pos, deleting: del, inserting: insText)
            let r = try #require(rOpt)
            let expectedPos = referenceUTF16Offset(reference, pos)
            let expectedEnd = referenceUTF16Offset(reference, pos + del)
            #expect(r.utf16Position == expectedPos)
            #expect(r.utf16DeleteCount == expectedEnd - expectedPos)

            reference.replaceSubrange(pos..<(pos + del), with: Array(ins))
            units.replaceSubrange(r.utf16Position..<(r.utf16Position + r.utf16DeleteCount), with: insText.utf16)
            #expect(index.count == reference.count)
            #expect(index.utf16Count == units.count)
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: reference)
        #expect(String(decoding: units, as: UTF16.self).unicodeScalars.elementsEqual(view))
        #expect(index.astralPositions == reference.indices.filter { reference[$0].value > 0xFFFF })
    }
}
