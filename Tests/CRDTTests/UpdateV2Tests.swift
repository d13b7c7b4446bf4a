import Foundation
import Testing
@testable import CRDT
import TestSupport

// Update format v2 (spec 8): the codec against the spec's worked examples and the Yjs 13.6
// fixtures (no oracle needed), and bad input. The random sessions against real Yjs are in
// UpdateV2OracleTests.swift.

enum V2TestData {
    struct Entry: Sendable {
        var index: Int
        var v1: [UInt8]
        var v2: [UInt8]
        var text: String
    }

    /// The 60 sessions of fuzz_yjs.json with their v2 form.
    static func fuzzEntries() throws -> [Entry] {
        let url = RepoData.fixturesDirectory.appendingPathComponent("fuzz_yjs.json")
        guard let arr = try JSONSerialization.jsonObject(with: RepoData.read(url)) as? [[String: Any]] else {
            throw RepoData.MissingFile(path: url.path, reason: "not an array of sessions")
        }
        return try arr.enumerated().map { i, e in
            guard let v1 = (e["v1"] as? String).flatMap(Hex.decode), let v2 = (e["v2"] as? String).flatMap(Hex.decode),
                  let text = e["text"] as? String else {
                throw RepoData.MissingFile(path: url.path, reason: "entry \(i) lacks v1, v2 or text")
            }
            return Entry(index: i, v1: v1, v2: v2, text: text)
        }
    }

    /// Spec 8.4: F1 (rich text with formatting) in v2, 44 bytes.
    static let f1v2 = CodecTestData.bytes("""
        00 02 00 02 02 45 01 01 02 01 00 05 04 00 46 00 86
        10 0b 74 68 69 62 6f 6c 64 62 6f 6c 64 01 02 44 00
        01 01 00 00 01 03 00 78 7e 00
        """)
    /// Spec 8.4: E1 ("abc" by client 1) in v2.
    static let e1v2 = CodecTestData.bytes("00 00 01 01 00 00 01 04 0a 07 74 65 78 74 61 62 63 04 03 01 01 00 00 01 01 00 00")
}

@Suite("update v2 codec")
struct UpdateV2CodecTests {
    @Test("spec 8.4 worked examples: F1 and E1 decode, re-encode byte-identical, convert to Yjs' v1")
    func workedExamples() throws {
        let fixtures = try CodecTestData.yjsFixtures
        let f1 = try #require(fixtures["F1"])
        let d = try UpdateDecoderV2.decode(V2TestData.f1v2)
        #expect(UpdateEncoderV2.encode(d) == V2TestData.f1v2)
        #expect(UpdateEncoderV1.encode(d) == f1)
        #expect(try Updates.convertV2ToV1(V2TestData.f1v2) == f1)
        #expect(UpdateEncoderV2.encode(try UpdateDecoderV1.decode(f1)) == V2TestData.f1v2)

        let doc = YDoc(clientID: 7)
        try doc.applyUpdateV2(V2TestData.e1v2)
        #expect(doc.getText("text").string == "abc")
        #expect(doc.encodeStateAsUpdateV2() == V2TestData.e1v2)
        let local = YDoc(clientID: 1)
        var events: [[UInt8]] = []
        local.observeUpdate { events.append($0.updateV2) }
        try local.getText("text").insert(at: 0, "abc")
        #expect(events == [V2TestData.e1v2])
    }

    @Test("fuzz_yjs.json (Yjs 13.6): every v2 decodes to the v1's structs and both re-encode byte-identical")
    func fuzzFixtures() throws {
        let entries = try V2TestData.fuzzEntries()
        #expect(entries.count == 60)
        for e in entries {
            let fromV2 = try UpdateDecoderV2.decode(e.v2)
            let fromV1 = try UpdateDecoderV1.decode(e.v1)
            #expect(fromV2 == fromV1, "entry \(e.index): v1 and v2 decode differently")
            #expect(UpdateEncoderV2.encode(fromV2) == e.v2, "entry \(e.index): v2 re-encodes differently")
            #expect(UpdateEncoderV1.encode(fromV2) == e.v1, "entry \(e.index): v2 -> v1 differs from Yjs' v1")
            let doc = YDoc(clientID: 424_242, gc: false)
            try doc.applyUpdateV2(e.v2)
            #expect(doc.getText("t").string == e.text, "entry \(e.index)")
            #expect(doc.encodeStateAsUpdateV2() == e.v2, "entry \(e.index): full state v2")
            #expect(doc.encodeStateAsUpdate() == e.v1, "entry \(e.index): full state v1")
            #expect(try Updates.stateVectorV2(of: e.v2) == doc.stateVector)
        }
    }

    @Test("lib0 column codings: runs, -0 marker, diffs, surrogate pairs split over strings")
    func columns() throws {
        var u = UintOptRleEncoder()
        for v: UInt64 in [0, 0, 0, 5, 7, 7] { u.write(v) }
        #expect(u.finish() == [0x40, 0x01, 0x05, 0x47, 0x00])
        var d = IntDiffOptRleEncoder()
        for v: Int64 in [3, 4, 5, 6, 2] { d.write(v) }
        let dBytes = d.finish()
        var dr = IntDiffOptRleDecoder(dBytes, what: "t")
        #expect(try [dr.read(), dr.read(), dr.read(), dr.read(), dr.read()] == [3, 4, 5, 6, 2])
        var r = RleByteEncoder()
        for b: UInt8 in [4, 4, 9] { r.write(b) }
        var rr = RleByteDecoder(r.bytes, what: "t")
        #expect(try [rr.read(), rr.read(), rr.read(), rr.read()] == [4, 4, 9, 9])
        var s = StringColumnEncoder()
        let pair = Array("😀".utf16)
        s.write(units: [pair[0]])
        s.write(units: [pair[1], 0x61])
        let sBytes = s.finish()
        // The pair is written whole (4 UTF-8 bytes), the lengths stay 1 and 2.
        #expect(Array(sBytes.prefix(6)) == [0x05, 0xF0, 0x9F, 0x98, 0x80, 0x61])
        var sr = try StringColumnDecoder(sBytes)
        #expect(Array(try sr.readUnits()) == [pair[0]])
        #expect(Array(try sr.readUnits()) == [pair[1], 0x61])
        #expect(throws: DecodingError.self) { try sr.readUnits() }
    }
}

@Suite("update v2 bad input")
struct UpdateV2BadInputTests {
    /// Valid v2 updates with structs of every kind the fixtures have.
    static func samples() throws -> [[UInt8]] {
        var out = [V2TestData.f1v2, V2TestData.e1v2]
        for (name, v1) in try CodecTestData.yjsFixtures.sorted(by: { $0.key < $1.key }) where name != "F1" {
            if let d = try? UpdateDecoderV1.decode(v1) { out.append(UpdateEncoderV2.encode(d)) }
        }
        out += try V2TestData.fuzzEntries().prefix(8).map(\.v2)
        return out
    }

    @Test("every truncation of a v2 update is a DecodingError and leaves the document unchanged")
    func truncated() throws {
        for u in try Self.samples() {
            let doc = YDoc(clientID: 99)
            try doc.getText("text").insert(at: 0, "keep")
            let before = doc.encodeStateAsUpdateV2()
            for n in 0..<u.count {
                #expect(throws: DecodingError.self, "prefix \(n) of \(Hex.encode(u))") {
                    try doc.applyUpdateV2(Array(u[..<n]))
                }
            }
            #expect(doc.encodeStateAsUpdateV2() == before)
            #expect(!doc.hasPending)
        }
    }

    @Test("mutated v2 updates: a typed error and no change, or a valid update; never a trap")
    func mutated() throws {
        var rng = SeededRandom(seed: 14_014)
        var errors = 0, accepted = 0
        for u in try Self.samples() {
            for _ in 0..<60 {
                var m = u
                for _ in 0..<rng.int(1...3) {
                    let i = rng.int(0..<m.count)
                    m[i] = rng.chance(0.5) ? UInt8(rng.int(0...255)) : m[i] ^ (1 << UInt8(rng.int(0...7)))
                }
                let doc = YDoc(clientID: 99)
                try doc.getText("text").insert(at: 0, "keep")
                let before = doc.encodeStateAsUpdateV2()
                do {
                    try doc.applyUpdateV2(m)
                    accepted += 1
                    // What was accepted re-encodes and decodes again.
                    _ = try UpdateDecoderV2.decode(doc.encodeStateAsUpdateV2())
                } catch is DecodingError {
                    errors += 1
                    #expect(doc.encodeStateAsUpdateV2() == before, "failed apply changed the doc: \(Hex.encode(m))")
                }
                if let d = try? UpdateDecoderV2.decode(m) {
                    // Whatever decodes re-encodes, and its encoding is stable from then on.
                    let once = UpdateEncoderV2.encode(d)
                    #expect(UpdateEncoderV2.encode(try UpdateDecoderV2.decode(once)) == once)
                }
            }
        }
        #expect(errors > 0 && accepted > 0)
    }

    @Test("huge counts and lengths are refused before allocation")
    func hugeLengths() throws {
        // One group claiming 2^40 GC structs: info column "00" (GC forever), len column one value
        // repeated 2^50 times: a few bytes that would otherwise stand for 2^40 structs.
        var w = Lib0Writer()
        w.writeVarUInt(UInt64(0))
        for col: [UInt8] in [[], [0x01], [], [], [0x00], [0x00], [], [], [0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F]] {
            w.writeBytes(col)
        }
        w.writeVarUInt(UInt64(1))
        w.writeVarUInt(UInt64(1) << 40)
        w.writeVarUInt(UInt64(0))
        w.writeVarUInt(UInt64(0))
        var e: DecodingError?
        do { _ = try UpdateDecoderV2.decode(w.bytes) } catch { e = error }
        guard case .lengthTooLarge? = e else { Issue.record("expected lengthTooLarge, got \(String(describing: e))"); return }

        // A column declared longer than the input.
        #expect(throws: DecodingError.self) { try UpdateDecoderV2.decode([0x00, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]) }
        // An Any content claiming more values than bytes remain.
        var lens = UintOptRleEncoder()
        lens.write(1 << 20)
        var strings = StringColumnEncoder()
        strings.write("t")
        var any = Lib0Writer()
        any.writeVarUInt(UInt64(0))
        for col: [UInt8] in [[], [0x01], [], [], [0x08], strings.finish(), [0x01], [], lens.finish()] { any.writeBytes(col) }
        for v: UInt64 in [1, 1, 0] { any.writeVarUInt(v) }
        any.writeRaw([0x7E, 0x00])
        var anyError: DecodingError?
        do { _ = try UpdateDecoderV2.decode(any.bytes) } catch { anyError = error }
        guard case .lengthTooLarge? = anyError else { Issue.record("Any count: \(String(describing: anyError))"); return }
        // Struct clocks past 2^32 - 1.
        var gcLen = UintOptRleEncoder()
        gcLen.write(UInt64(Clock.max))
        var big = Lib0Writer()
        big.writeVarUInt(UInt64(0))
        for col: [UInt8] in [[], [0x01], [], [], [0x00], [0x00], [], [], gcLen.finish()] { big.writeBytes(col) }
        for v: UInt64 in [1, 1, 5, 0] { big.writeVarUInt(v) }
        #expect(throws: DecodingError.self) { try UpdateDecoderV2.decode(big.bytes) }
    }
}
