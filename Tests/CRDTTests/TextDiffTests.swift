import Testing
import TestSupport
@testable import CRDT

/// Length of a longest common subsequence (dynamic programming), the reference for minimality:
/// a minimal diff deletes old.count - lcs and inserts new.count - lcs symbols.
private func lcsLength(_ a: [UInt32], _ b: [UInt32]) -> Int {
    if a.isEmpty || b.isEmpty { return 0 }
    var prev = [Int](repeating: 0, count: b.count + 1)
    var cur = prev
    for i in 1...a.count {
        for j in 1...b.count {
            cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : max(prev[j], cur[j - 1])
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}

/// Hunks are sorted, non-empty, in range, and neither overlap nor touch.
private func checkShape(_ hunks: [TextDiff.Hunk], old: Int, new: Int, _ context: String) {
    var lastOld = -1, lastNew = -1
    for h in hunks {
        #expect(!(h.oldRange.isEmpty && h.newRange.isEmpty), "empty hunk \(h) \(context)")
        #expect(h.oldRange.lowerBound > lastOld && h.newRange.lowerBound > lastNew || lastOld < 0,
                "hunks overlap or touch: \(hunks) \(context)")
        #expect(h.oldRange.upperBound <= old && h.newRange.upperBound <= new, "hunk out of range \(h) \(context)")
        lastOld = h.oldRange.upperBound
        lastNew = h.newRange.upperBound
    }
}

private let alphabets: [[Unicode.Scalar]] = [
    ["a", "b"],
    ["a", "b", "c", "\n"],
    ["x", "é", "😀", "文", "\n"],
    Array("abcdefghij".unicodeScalars),
]

private func randomText(_ rng: inout SeededRandom, _ alphabet: [Unicode.Scalar], maxLength: Int) -> String {
    var s = String.UnicodeScalarView()
    for _ in 0..<rng.int(0...maxLength) { s.append(rng.pick(alphabet)) }
    return String(s)
}

/// `text` with a few random code-point edits.
private func mutated(_ text: String, _ rng: inout SeededRandom, _ alphabet: [Unicode.Scalar], edits: Int) -> String {
    var s = Array(text.unicodeScalars)
    for _ in 0..<edits {
        let pos = rng.int(0...s.count)
        if rng.chance(0.5) && pos < s.count {
            s.removeSubrange(pos..<min(s.count, pos + rng.int(1...4)))
        } else {
            s.insert(contentsOf: (0..<rng.int(1...4)).map { _ in rng.pick(alphabet) }, at: pos)
        }
    }
    var v = String.UnicodeScalarView()
    v.append(contentsOf: s)
    return String(v)
}

@Suite("TextDiff and YText.replace", .ownThread)
struct TextDiffTests {
    static let seeds = TestEnvironment.seeds(base: 40, salt: 7_000)

    @Test("random strings: the hunks turn old into new and are minimal", arguments: seeds)
    func randomMinimal(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        for round in 0..<60 {
            let alphabet = alphabets[round % alphabets.count]
            let old = randomText(&rng, alphabet, maxLength: 40)
            let new = rng.chance(0.5) ? mutated(old, &rng, alphabet, edits: rng.int(0...5)) : randomText(&rng, alphabet, maxLength: 40)
            let a = TextDiff.scalars(old), b = TextDiff.scalars(new)
            let hunks = TextDiff.hunks(from: a, to: b)
            let context = "seed \(seed) round \(round) old \(old.debugDescription) new \(new.debugDescription)"
            #expect(TextDiff.apply(hunks, to: a, insertingFrom: b) == b, "\(context)")
            checkShape(hunks, old: a.count, new: b.count, context)
            let cost = hunks.reduce(0) { $0 + $1.oldRange.count + $1.newRange.count }
            #expect(cost == a.count + b.count - 2 * lcsLength(a, b), "not minimal: \(hunks) \(context)")
        }
    }

    @Test("a budget too small for the symbol search falls back to lines and still yields the target", arguments: seeds.prefix(10))
    func budgetFallback(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let alphabet = alphabets[1]
        for budget in [0, 50, 500, 5_000] {
            let old = randomText(&rng, alphabet, maxLength: 300)
            let new = rng.chance(0.5) ? mutated(old, &rng, alphabet, edits: 20) : randomText(&rng, alphabet, maxLength: 300)
            let a = TextDiff.scalars(old), b = TextDiff.scalars(new)
            let hunks = TextDiff.hunks(from: a, to: b, budget: budget)
            let context = "seed \(seed) budget \(budget)"
            #expect(TextDiff.apply(hunks, to: a, insertingFrom: b) == b, "\(context)")
            checkShape(hunks, old: a.count, new: b.count, context)
        }
    }

    @Test("a line fallback keeps unchanged lines out of the hunks")
    func lineFallbackKeepsLines() {
        let old = (0..<200).map { "line \($0) of the old text\n" }.joined()
        var lines = (0..<200).map { "line \($0) of the old text\n" }
        lines[50] = "a changed line\n"
        lines[150] = "another changed line\n"
        let new = lines.joined()
        let hunks = TextDiff.hunks(from: TextDiff.scalars(old), to: TextDiff.scalars(new), budget: 1_000)
        #expect(TextDiff.apply(hunks, to: TextDiff.scalars(old), insertingFrom: TextDiff.scalars(new)) == TextDiff.scalars(new))
        let touched = hunks.reduce(0) { $0 + $1.oldRange.count }
        #expect(touched <= 2 * "line 150 of the old text\n".count, "\(hunks)")
    }

    @Test("large texts with a few edits are diffed exactly, fast")
    func largeFewEdits() {
        var rng = SeededRandom(seed: 99)
        let alphabet = alphabets[3] + ["\n", " "]
        let old = randomText(&rng, alphabet, maxLength: 200_000)
        let new = mutated(old, &rng, alphabet, edits: 30)
        let a = TextDiff.scalars(old), b = TextDiff.scalars(new)
        let hunks = TextDiff.hunks(from: a, to: b)
        #expect(TextDiff.apply(hunks, to: a, insertingFrom: b) == b)
        let cost = hunks.reduce(0) { $0 + $1.oldRange.count + $1.newRange.count }
        #expect(cost <= 30 * 4)
    }

    @Test("replace(with:) on a document: random targets, one transaction, same result on a peer", arguments: seeds.prefix(20))
    func replaceRandom(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let doc = YDoc(clientID: 1)
        let peer = YDoc(clientID: 2)
        var updates: [[UInt8]] = []
        doc.observeUpdate { updates.append($0.update) }
        let text = doc.getText("t")
        for round in 0..<25 {
            let alphabet = alphabets[round % alphabets.count]
            let target = rng.chance(0.6) ? mutated(text.string, &rng, alphabet, edits: rng.int(1...6)) : randomText(&rng, alphabet, maxLength: 60)
            let before = updates.count
            let changed = text.string != target
            text.replace(with: target)
            #expect(text.string == target, "seed \(seed) round \(round)")
            #expect(updates.count == before + (changed ? 1 : 0), "one transaction per replace, none when equal")
            for u in updates[before...] { try peer.applyUpdate(u) }
            #expect(peer.getText("t").string == target)
        }
    }

    @Test("replace(with:) only touches what differs")
    func replaceIsMinimal() throws {
        let doc = YDoc(clientID: 7)
        let t = doc.getText("t")
        try t.insert(at: 0, "hello world")
        let sv = doc.stateVector
        let hunks = t.replace(with: "hello brave world")
        #expect(hunks == [TextDiff.Hunk(oldRange: 6..<6, newRange: 6..<12)])
        #expect(doc.stateVector[7] == sv[7] + 6, "only the six new characters are new items")
        #expect(t.replace(with: "hello brave world") == [])
        #expect(doc.stateVector[7] == sv[7] + 6)
    }

    @Test("a concurrent edit in a region the replacement does not touch survives", arguments: seeds.prefix(20))
    func concurrentEditSurvives(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let alphabet = alphabets[seed % 2 == 0 ? 2 : 3] + [" "]
        let left = randomText(&rng, alphabet, maxLength: 40)
        var right = randomText(&rng, alphabet, maxLength: 40)
        if right.unicodeScalars.count < 2 { right += "zz" }
        let a = YDoc(clientID: 10), b = YDoc(clientID: 20)
        try a.getText("t").insert(at: 0, left + right)
        try b.applyUpdate(a.encodeStateAsUpdate())
        let base = b.stateVector

        // A rewrites the left part only.
        let newLeft = mutated(left, &rng, alphabet, edits: rng.int(1...6))
        let aSV = a.stateVector
        a.getText("t").replace(with: newLeft + right)
        // B inserts strictly inside the right part (code points), at the same time.
        let rightScalars = Array(right.unicodeScalars)
        let p = rng.int(1..<rightScalars.count)
        let inserted = "«B»"
        try b.getText("t").insert(atCodePoint: left.unicodeScalars.count + p, inserted)

        let fromA = a.encodeStateAsUpdate(since: aSV)
        let fromB = b.encodeStateAsUpdate(since: base)
        try a.applyUpdate(fromB)
        try b.applyUpdate(fromA)
        var rightAfter = String.UnicodeScalarView()
        rightAfter.append(contentsOf: rightScalars[..<p])
        rightAfter.append(contentsOf: inserted.unicodeScalars)
        rightAfter.append(contentsOf: rightScalars[p...])
        let expected = newLeft + String(rightAfter)
        #expect(a.getText("t").string == expected, "seed \(seed)")
        #expect(b.getText("t").string == expected, "seed \(seed)")
    }

    @Test("a concurrent edit between two changed regions survives")
    func concurrentEditInTheMiddle() throws {
        let a = YDoc(clientID: 1), b = YDoc(clientID: 2)
        let original = "first paragraph.\nmiddle paragraph stays.\nlast paragraph.\n"
        try a.getText("t").insert(at: 0, original)
        try b.applyUpdate(a.encodeStateAsUpdate())
        let sva = a.stateVector, svb = b.stateVector
        a.getText("t").replace(with: "FIRST paragraph!\nmiddle paragraph stays.\nlast one.\n")
        try b.getText("t").insert(atCodePoint: "first paragraph.\nmiddle ".unicodeScalars.count, "(edited by B) ")
        try a.applyUpdate(b.encodeStateAsUpdate(since: svb))
        try b.applyUpdate(a.encodeStateAsUpdate(since: sva))
        let expected = "FIRST paragraph!\nmiddle (edited by B) paragraph stays.\nlast one.\n"
        #expect(a.getText("t").string == expected)
        #expect(b.getText("t").string == expected)
    }

    @Test("code-point positions: emoji and accents, out of range changes nothing")
    func codePointPositions() throws {
        let doc = YDoc(clientID: 3)
        let t = doc.getText("t")
        try t.insert(atCodePoint: 0, "a😀b")
        #expect(t.codePointCount == 3)
        #expect(t.length == 4)
        try t.insert(atCodePoint: 2, "é")
        #expect(t.string == "a😀éb")
        #expect(t.utf16Offset(ofCodePoint: 2) == 3)
        #expect(t.utf16Offset(ofCodePoint: 5) == nil)
        try t.delete(atCodePoint: 1, count: 2)
        #expect(t.string == "ab")
        let sv = doc.stateVector
        #expect(throws: YDocError.self) { try t.insert(atCodePoint: 3, "x") }
        #expect(throws: YDocError.self) { try t.delete(atCodePoint: 1, count: 2) }
        #expect(throws: YDocError.self) { try t.delete(atCodePoint: -1, count: 1) }
        #expect(t.string == "ab")
        #expect(doc.stateVector == sv)
    }

    @Test("a surrogate pair split by a UTF-16 insert counts as two characters (U+FFFD halves)")
    func splitSurrogatePair() throws {
        let doc = YDoc(clientID: 4)
        let t = doc.getText("t")
        try t.insert(at: 0, "x😀y")
        try t.insert(at: 2, "-")  // between the two halves of the emoji
        #expect(t.codePointCount == 5)
        t.replace(with: "x😀y")
        #expect(t.string == "x😀y")
        #expect(t.length == 4)
    }

    @Test("embeds and formatting markers from a Yjs peer: an embed is one opaque character, a marker none")
    func embedsAreOpaque() throws {
        let doc = YDoc(clientID: 1)
        let t = doc.getText("t")
        try t.insert(at: 0, "ab")
        // Client 9 puts an embed and a formatting marker between "a" and "b".
        let embed = ItemStruct(id: ID(client: 9, clock: 0), origin: ID(client: 1, clock: 0), rightOrigin: ID(client: 1, clock: 1),
                               parent: nil, parentSub: nil, content: .embed(json: #"{"image":"x.png"}"#))
        let format = ItemStruct(id: ID(client: 9, clock: 1), origin: ID(client: 9, clock: 0), rightOrigin: ID(client: 1, clock: 1),
                                parent: nil, parentSub: nil, content: .format(key: "bold", json: "true"))
        try doc.applyUpdate(UpdateEncoderV1.encode(DecodedUpdate(groups: [.init(client: 9, structs: [.item(embed), .item(format)])])))
        #expect(t.string == "ab")
        #expect(t.length == 3)
        #expect(t.symbols() == [0x61, YText.opaqueSymbol, 0x62])
        #expect(t.codePointCount == 3)
        #expect(t.utf16Offset(ofCodePoint: 2) == 2)
        try t.insert(atCodePoint: 3, "c")
        #expect(t.string == "abc")
        // Replacing with plain text removes the embed (it never equals a character) and keeps the rest.
        let sv = doc.stateVector
        let hunks = t.replace(with: "abc!")
        #expect(hunks == [TextDiff.Hunk(oldRange: 1..<2, newRange: 1..<1), TextDiff.Hunk(oldRange: 4..<4, newRange: 3..<4)])
        #expect(t.string == "abc!")
        #expect(t.length == 4)
        #expect(doc.stateVector[1] == sv[1] + 1)
    }
}
