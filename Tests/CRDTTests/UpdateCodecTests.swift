import Foundation
import Testing
@testable import CRDT
import TestSupport

/// Shared by the codec, lib0 and algebra tests: hex helpers and the spec fixtures, found from
/// `Tests/Fixtures` (`RepoData.fixturesDirectory`).
enum CodecTestData {
    static func bytes(_ hex: String) -> [UInt8] {
        let digits = hex.unicodeScalars.filter { !CharacterSet.whitespacesAndNewlines.contains($0) }
        precondition(digits.count % 2 == 0, "odd hex")
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var it = digits.makeIterator()
        while let a = it.next(), let b = it.next() {
            out.append(UInt8(String([Character(a), Character(b)]), radix: 16)!)
        }
        return out
    }

    static func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined(separator: " ") }

    static var fixturesDir: URL { RepoData.fixturesDirectory }

    /// F1...F10 (F8a/b/c) from yjs_fixtures.json, as bytes (read once; a missing or damaged
    /// file fails each test that needs it).
    static var yjsFixtures: [String: [UInt8]] { get throws { try loadedFixtures.get() } }
    private static let loadedFixtures: Result<[String: [UInt8]], RepoData.MissingFile> = Result {
        let url = fixturesDir.appendingPathComponent("yjs_fixtures.json")
        guard let obj = try JSONSerialization.jsonObject(with: RepoData.read(url)) as? [String: String] else {
            throw RepoData.MissingFile(path: url.path, reason: "not an object of hex strings")
        }
        return obj.mapValues { bytes($0) }
    }.mapError { $0 as? RepoData.MissingFile ?? RepoData.MissingFile(path: "yjs_fixtures.json", reason: "\($0)") }

    struct FuzzEntry: Sendable {
        var index: Int
        var v1: [UInt8]
        var v1gc: [UInt8]
        var sv: [UInt8]
        var text: String
    }

    /// The 60 random three-client sessions of fuzz_yjs.json.
    static var fuzzEntries: [FuzzEntry] { get throws { try loadedFuzzEntries.get() } }
    private static let loadedFuzzEntries: Result<[FuzzEntry], RepoData.MissingFile> = Result {
        let url = fixturesDir.appendingPathComponent("fuzz_yjs.json")
        guard let arr = try JSONSerialization.jsonObject(with: RepoData.read(url)) as? [[String: Any]] else {
            throw RepoData.MissingFile(path: url.path, reason: "not an array of sessions")
        }
        return try arr.enumerated().map { i, e in
            guard let v1 = e["v1"] as? String, let gc = e["v1_gc"] as? String, let sv = e["sv"] as? String,
                  let text = e["text"] as? String else {
                throw RepoData.MissingFile(path: url.path, reason: "entry \(i) lacks v1, v1_gc, sv or text")
            }
            return FuzzEntry(index: i, v1: bytes(v1), v1gc: bytes(gc), sv: bytes(sv), text: text)
        }
    }.mapError { $0 as? RepoData.MissingFile ?? RepoData.MissingFile(path: "fuzz_yjs.json", reason: "\($0)") }

    /// Every valid update we have: worked examples and fixtures.
    static var allUpdates: [[UInt8]] {
        get throws {
            let fixtures = try yjsFixtures
            return UpdateCodecTests.workedExamples.map { bytes($0.1) } + fixtures.keys.sorted().map { fixtures[$0]! }
                + (try fuzzEntries).flatMap { [$0.v1, $0.v1gc] }
        }
    }

    static func decodeError(_ b: [UInt8]) -> DecodingError? {
        do { _ = try UpdateDecoderV1.decode(b); return nil } catch { return error }
    }
}

fileprivate func h(_ s: String) -> [UInt8] { CodecTestData.bytes(s) }

fileprivate func roundTrip(_ b: [UInt8]) throws -> DecodedUpdate {
    let u = try UpdateDecoderV1.decode(b)
    #expect(UpdateEncoderV1.encode(u) == b, "re-encoding differs: \(CodecTestData.hex(b))")
    return u
}

fileprivate func item(_ u: DecodedUpdate, _ group: Int, _ index: Int) -> ItemStruct? {
    guard group < u.groups.count, index < u.groups[group].structs.count,
          case let .item(it) = u.groups[group].structs[index] else { return nil }
    return it
}

@Suite(.ownThread) struct UpdateCodecTests {
    /// Section 3.9, 4 and 10 of the spec, Yjs bytes (and yrs bytes where they differ).
    static let workedExamples: [(String, String)] = [
        ("E1", "01 01 01 00 04 01 04 74 65 78 74 03 61 62 63 00"),
        ("E3 update", "00 01 01 01 01 01"),
        ("E3 full", "01 03 01 00 04 01 04 74 65 78 74 01 61 81 01 00 01 84 01 01 01 63 01 01 01 01 01"),
        ("E4", "01 01 01 01 84 01 00 02 62 63 00"),
        ("E5 set", "01 01 02 00 28 01 01 6d 01 6b 01 77 01 76 00"),
        ("E5 overwrite", "01 02 02 00 21 01 01 6d 01 6b 01 a8 02 00 01 7d 2a 01 02 01 00 01"),
        ("E5 overwrite yrs", "01 02 02 00 21 01 01 6d 01 6b 01 a8 02 00 01 7c 42 28 00 00 01 02 01 00 01"),
        ("E6", "01 01 01 00 04 01 01 74 05 61 f0 9f 98 80 00"),
        ("E7", "01 02 03 00 27 01 04 72 6f 6f 74 04 6c 69 73 74 00 08 00 03 00 02 7d 01 77 01 78 00"),
        ("E7 yrs", "01 02 03 00 27 01 04 72 6f 6f 74 04 6c 69 73 74 00 08 00 03 00 02 7c 3f 80 00 00 77 01 78 00"),
        ("E8", "02 01 02 00 04 01 01 74 01 42 01 01 00 04 01 01 74 01 41 00"),
        ("E12 upd1", "01 01 01 00 04 01 04 74 65 78 74 01 61 00"),
        ("E12 upd2", "01 01 01 01 84 01 00 01 62 00"),
        ("E12 merged", "01 02 01 00 04 01 04 74 65 78 74 01 61 84 01 00 01 62 00"),
        ("M1", "01 02 01 00 04 01 04 74 65 78 74 02 61 62 44 01 00 01 63 00"),
        ("M2", "01 01 01 00 01 01 01 61 03 01 01 01 00 03"),
        ("M3", "01 01 01 00 08 01 01 61 03 7d 01 7d 02 7d 03 01 01 01 00 03"),
        ("M4", "01 02 01 00 21 01 01 6d 01 78 01 00 02 01 01 01 00 03"),
        ("S1", "01 03 01 00 04 01 04 74 65 78 74 01 61 0a 01 84 01 01 01 63 00"),
        ("F7 yrs input", "01 01 06 00 c4 05 00 05 01 01 78 00"),
        ("empty", "00 00"),
    ]

    @Test func workedExamplesRoundTrip() throws {
        for (name, hex) in Self.workedExamples {
            let b = h(hex)
            let u = try UpdateDecoderV1.decode(b)
            #expect(UpdateEncoderV1.encode(u) == b, "\(name)")
        }
    }

    @Test func missingFixtureIsOneTestsFailureNamingThePath() {
        let url = RepoData.fixturesDirectory.appendingPathComponent("no-such-fixture.json")
        #expect { try RepoData.read(url) } throws: { error in
            "\(error)".contains(url.path) && "\(error)".contains("no such file")
        }
    }

    @Test func yjsFixturesRoundTrip() throws {
        #expect(try CodecTestData.yjsFixtures.count == 12)
        for (name, b) in try CodecTestData.yjsFixtures {
            let u = try UpdateDecoderV1.decode(b)
            #expect(UpdateEncoderV1.encode(u) == b, "\(name)")
        }
    }

    @Test func fuzzFixturesRoundTrip() throws {
        #expect(try CodecTestData.fuzzEntries.count == 60)
        for e in try CodecTestData.fuzzEntries {
            for b in [e.v1, e.v1gc] {
                let u = try UpdateDecoderV1.decode(b)
                #expect(UpdateEncoderV1.encode(u) == b, "entry \(e.index)")
                // A full state starts every client at 0 with no holes: its state vector is the doc's.
                #expect(Updates.stateVector(of: u) == (try StateVector(decoding: e.sv)), "entry \(e.index)")
            }
        }
    }

    // MARK: decoded structure of the worked examples

    @Test func e1Structure() throws {
        let u = try roundTrip(h("01 01 01 00 04 01 04 74 65 78 74 03 61 62 63 00"))
        #expect(u.groups.count == 1 && u.groups[0].client == 1)
        let it = try #require(item(u, 0, 0))
        #expect(it.id == ID(client: 1, clock: 0))
        #expect(it.origin == nil && it.rightOrigin == nil)
        #expect(it.parent == .root("text"))
        #expect(it.parentSub == nil && !it.hasParentSub)
        #expect(it.content == .string(Array("abc".utf16)))
        #expect(u.deleteSet.isEmpty)
    }

    @Test func e3FullState() throws {
        let u = try roundTrip(h("01 03 01 00 04 01 04 74 65 78 74 01 61 81 01 00 01 84 01 01 01 63 01 01 01 01 01"))
        let s = u.groups[0].structs
        #expect(s.map(\.id.clock) == [0, 1, 2])
        let deleted = try #require(item(u, 0, 1))
        #expect(deleted.origin == ID(client: 1, clock: 0) && deleted.content == .deleted(length: 1) && deleted.parent == nil)
        #expect(u.deleteSet.clients == [1: [ClockRange(clock: 1, length: 1)]])
    }

    @Test func keyBitRule() throws {
        // E5: `28` has the key on the wire; `a8` has the key bit but an origin, so no key follows.
        let u = try roundTrip(h("01 02 02 00 21 01 01 6d 01 6b 01 a8 02 00 01 7d 2a 01 02 01 00 01"))
        let first = try #require(item(u, 0, 0))
        #expect(first.parent == .root("m") && first.parentSub == "k" && first.content == .deleted(length: 1))
        let second = try #require(item(u, 0, 1))
        #expect(second.origin == ID(client: 2, clock: 0))
        #expect(second.parentSub == nil && second.hasParentSub && second.parent == nil)
        #expect(second.content == .any([.integer(42)]))
    }

    @Test func contentKinds() throws {
        let f = try CodecTestData.yjsFixtures
        let f1 = try roundTrip(f["F1"]!)
        #expect(item(f1, 0, 1)?.content == .format(key: "bold", json: "true"))
        #expect(item(f1, 0, 2)?.content == .format(key: "bold", json: "null"))
        #expect(item(f1, 0, 1)?.rightOrigin == ID(client: 5, clock: 0))
        #expect(item(try roundTrip(f["F2"]!), 0, 0)?.content == .embed(json: #"{"image":"x.png"}"#))
        #expect(item(try roundTrip(f["F3"]!), 0, 0)?.content == .binary([1, 2, 3]))
        let f4 = try roundTrip(f["F4"]!)
        #expect(item(f4, 0, 0)?.content == .type(.xmlElement("p")))
        #expect(item(f4, 0, 1)?.parentSub == "class")
        #expect(item(f4, 0, 1)?.parent == .item(ID(client: 5, clock: 0)))
        #expect(item(try roundTrip(f["F5"]!), 0, 0)?.content == .type(.xmlHook("hk")))
        #expect(item(try roundTrip(f["F6"]!), 0, 0)?.content == .doc(guid: "g1", options: .object([])))
        let f7 = try roundTrip(f["F7"]!)
        #expect(item(f7, 0, 0)?.content == .string([0xFFFD]))
        #expect(item(f7, 0, 1)?.content == .string([0xFFFD]))
        #expect(item(try roundTrip(f["F9"]!), 0, 0)?.content == .json([#""x""#]))
        let f10 = try roundTrip(f["F10"]!)
        #expect(f10.groups.map(\.client) == [30, 20, 10])
    }

    // MARK: state vectors and delete sets

    @Test func stateVectors() throws {
        #expect(try StateVector(decoding: h("01 01 03")) == StateVector([1: 3]))
        #expect(StateVector([1: 3]).encoded() == h("01 01 03"))
        #expect(StateVector().encoded() == h("00"))
        #expect(try StateVector(decoding: h("00")) == StateVector())
        // yrs writes hash order; we write descending.
        let yrs = try StateVector(decoding: h("05 e8 07 02 01 02 02 02 03 02 4d 02"))
        #expect(yrs == StateVector([1000: 2, 1: 2, 2: 2, 3: 2, 77: 2]))
        #expect(yrs.encoded() == h("05 e8 07 02 4d 02 03 02 02 02 01 02"))
        #expect(throws: DecodingError.self) { try StateVector(decoding: h("01 01")) }
        #expect(throws: DecodingError.self) { try StateVector(decoding: h("ff ff ff ff 0f 01 01")) }
        #expect(throws: DecodingError.self) { try StateVector(decoding: h("01 01 80 80 80 80 10")) }
        // A client listed twice keeps its last clock.
        #expect(try StateVector(decoding: h("02 01 03 01 05")) == StateVector([1: 5]))
    }

    @Test func deleteSetOrder() throws {
        // yrs lists delete-set clients ascending; Yjs (and we) write them descending.
        let u = try UpdateDecoderV1.decode(h("00 02 01 01 00 01 02 02 00 01 05 02"))
        #expect(u.deleteSet.clients == [1: [ClockRange(clock: 0, length: 1)],
                                        2: [ClockRange(clock: 0, length: 1), ClockRange(clock: 5, length: 2)]])
        #expect(UpdateEncoderV1.encode(u) == h("00 02 02 02 00 01 05 02 01 01 00 01"))
        // A client with no ranges is dropped; a client listed twice gets its ranges appended.
        let v = try UpdateDecoderV1.decode(h("00 03 07 00 01 01 00 01 01 01 04 01"))
        #expect(v.deleteSet.clients == [1: [ClockRange(clock: 0, length: 1), ClockRange(clock: 4, length: 1)]])
        var r = Lib0Reader(h("01 01 01 01 01"))
        #expect(try DeleteSet.decode(from: &r).clients == [1: [ClockRange(clock: 1, length: 1)]])
        #expect(DeleteSet([1: [ClockRange(clock: 1, length: 1)]]).encodedV1() == h("01 01 01 01 01"))
    }

    // MARK: reader decisions

    @Test func duplicateGroupsKeepTheLast() throws {
        // Client 1 twice ("a" at 0, then "b" at 5), client 2 in between: the second group for
        // client 1 wins and takes the first group's place.
        let b = h("03 01 01 00 04 01 01 74 01 61  01 02 00 04 01 01 74 01 42  01 01 05 04 01 01 74 01 62  00")
        let u = try UpdateDecoderV1.decode(b)
        #expect(u.groups.map(\.client) == [1, 2])
        #expect(u.groups[0].structs.first?.id == ID(client: 1, clock: 5))
        #expect(item(u, 0, 0)?.content == .string([0x62]))
    }

    @Test func emptyGroupsAreDropped() throws {
        let u = try UpdateDecoderV1.decode(h("02 00 05 07 01 01 00 04 01 01 74 01 61 00"))
        #expect(u.groups.map(\.client) == [1])
        #expect(UpdateEncoderV1.encode(u) == h("01 01 01 00 04 01 01 74 01 61 00"))
    }

    @Test func trailingBytesAreIgnored() throws {
        let u = try UpdateDecoderV1.decode(h("01 01 01 00 04 01 04 74 65 78 74 03 61 62 63 00 ff ff"))
        #expect(UpdateEncoderV1.encode(u) == h("01 01 01 00 04 01 04 74 65 78 74 03 61 62 63 00"))
    }

    @Test func gcAndSkipStructs() throws {
        let u = try roundTrip(h("01 03 04 02 00 03 0a 02 84 04 06 01 61 00"))
        #expect(u.groups[0].structs == [
            .gc(id: ID(client: 4, clock: 2), length: 3), .skip(id: ID(client: 4, clock: 5), length: 2),
            .item(ItemStruct(id: ID(client: 4, clock: 7), origin: ID(client: 4, clock: 6), rightOrigin: nil,
                             parent: nil, parentSub: nil, content: .string([0x61]))),
        ])
        // Refs are `info & 0x1F`, as Yjs' applyUpdate reads them.
        let odd = try UpdateDecoderV1.decode(h("01 02 04 00 80 03 8a 01 00"))
        #expect(odd.groups[0].structs == [.gc(id: ID(client: 4, clock: 0), length: 3), .skip(id: ID(client: 4, clock: 3), length: 1)])
    }

    @Test func largeClientIDs() throws {
        // yrs uses 53-bit client ids.
        let b = h("01 01 ff ff ff ff ff ff ff 0f 00 04 01 01 74 01 61 01 ff ff ff ff ff ff ff 0f 01 00 01")
        let u = try roundTrip(b)
        #expect(u.groups[0].client == (1 << 53) - 1)
        #expect(u.deleteSet.clients[(1 << 53) - 1] == [ClockRange(clock: 0, length: 1)])
    }

    // MARK: offset writing and slicing

    @Test func offsetWriting() throws {
        // E4: E1's item written from clock 1.
        let e1 = try UpdateDecoderV1.decode(h("01 01 01 00 04 01 04 74 65 78 74 03 61 62 63 00"))
        let s = e1.groups[0].structs[0]
        var w = Lib0Writer()
        w.writeVarUInt(UInt64(1)); w.writeVarUInt(UInt64(1)); w.writeVarUInt(UInt64(1)); w.writeVarUInt(UInt64(1))
        UpdateEncoderV1.writeStruct(s, offset: 1, into: &w)
        UpdateEncoderV1.writeDeleteSet(DeleteSet(), into: &w)
        #expect(w.bytes == h("01 01 01 01 84 01 00 02 62 63 00"))
        // The same through slicing.
        let sliced = s.sliced(from: 1)
        #expect(UpdateEncoderV1.encode(DecodedUpdate(groups: [.init(client: 1, structs: [sliced])])) == h("01 01 01 01 84 01 00 02 62 63 00"))
        // GC, Skip, Deleted, Any and JSON cut too; a map key stays as the key bit.
        var g = Lib0Writer()
        UpdateEncoderV1.writeStruct(.gc(id: ID(client: 1, clock: 0), length: 5), offset: 2, into: &g)
        UpdateEncoderV1.writeStruct(.skip(id: ID(client: 1, clock: 5), length: 5), offset: 4, into: &g)
        #expect(g.bytes == h("00 03 0a 01"))
        let keyed = ItemStruct(id: ID(client: 2, clock: 0), origin: nil, rightOrigin: nil, parent: .root("m"),
                               parentSub: "k", content: .any([.integer(1), .integer(2)]))
        var k = Lib0Writer()
        UpdateEncoderV1.writeStruct(.item(keyed), offset: 1, into: &k)
        #expect(k.bytes == h("a8 02 00 01 7d 02"))
        #expect(YContent.deleted(length: 4).sliced(from: 1) == .deleted(length: 3))
        #expect(YContent.json(["1", "2", "3"]).sliced(from: 2) == .json(["3"]))
    }

    @Test func surrogatePairs() throws {
        // A cut inside a surrogate pair: written U+FFFD (TextEncoder), sliced as Yjs' splice.
        let emoji: [UInt16] = Array("😀b".utf16)
        var w = Lib0Writer()
        UpdateEncoderV1.writeItemContent(.string(emoji), offset: 1, into: &w)
        #expect(w.bytes == h("04 ef bf bd 62"))
        #expect(YContent.string(emoji).sliced(from: 1) == .string([0xFFFD, 0x62]))
        let (l, r) = YContent.string(emoji).split(at: 1)
        #expect(l == .string([0xFFFD]) && r == .string([0xFFFD, 0x62]))
        let (l2, r2) = YContent.string(Array("ab".utf16)).split(at: 1)
        #expect(l2 == .string([0x61]) && r2 == .string([0x62]))
        let (a, b) = YContent.any([.null, .bool(true), .undefined]).split(at: 2)
        #expect(a == .any([.null, .bool(true)]) && b == .any([.undefined]))
    }

    // MARK: bad input

    static func kind(_ e: DecodingError?) -> String {
        switch e {
        case nil: return "none"
        case .unexpectedEnd?: return "unexpectedEnd"
        case .integerOverflow?: return "integerOverflow"
        case .invalidUTF8?: return "invalidUTF8"
        case .unknownAnyTag?: return "unknownAnyTag"
        case .unknownContentRef?: return "unknownContentRef"
        case .unknownTypeRef?: return "unknownTypeRef"
        case .lengthTooLarge?: return "lengthTooLarge"
        case .nestingTooDeep?: return "nestingTooDeep"
        case .malformed?: return "malformed"
        case .trailingBytes?: return "trailingBytes"
        }
    }

    @Test func truncatedPrefixesThrow() throws {
        for b in try CodecTestData.allUpdates {
            for n in 0..<b.count {
                #expect(CodecTestData.decodeError(Array(b[0..<n])) != nil, "prefix \(n) of \(CodecTestData.hex(b))")
            }
        }
    }

    @Test func unknownRefs() {
        let tag = Self.kind
        // Type refs 7, 9, 15 (yrs-only) and beyond.
        for ref in ["07", "09", "0f", "80 01"] {
            #expect(tag(CodecTestData.decodeError(h("01 01 01 00 07 01 01 74 \(ref) 00"))) == "unknownTypeRef")
        }
        // Content refs 11...31.
        for ref in [0x0b, 0x0c, 0x10, 0x1f] {
            let b: [UInt8] = [1, 1, 1, 0, UInt8(ref), 1, 1, 0x74, 0, 0]
            #expect(tag(CodecTestData.decodeError(b)) == "unknownContentRef")
        }
        #expect(tag(CodecTestData.decodeError(h("01 01 01 00 08 01 01 74 01 70 00"))) == "unknownAnyTag")
    }

    @Test func hugeLengths() {
        let tag = Self.kind
        let cases: [(String, String)] = [
            ("80 80 80 80 80 80 01 00", "lengthTooLarge"),               // 2^42 groups
            ("01 80 80 80 80 80 80 01 01 00", "lengthTooLarge"),         // 2^42 structs
            ("01 01 01 00 04 01 01 74 80 80 80 80 80 80 01 00", "lengthTooLarge"), // string of 2^42 bytes
            ("01 01 01 00 08 01 01 74 ff ff ff ff ff ff 3f 00", "lengthTooLarge"), // Any count
            ("01 01 01 00 02 01 01 74 ff ff ff ff ff ff 3f 00", "lengthTooLarge"), // JSON count
            ("01 01 01 00 03 01 01 74 ff ff ff ff ff ff 3f 00", "lengthTooLarge"), // binary
            ("00 ff ff ff ff ff ff 3f", "lengthTooLarge"),                // delete set clients
            ("00 01 01 ff ff ff ff ff ff 3f", "lengthTooLarge"),          // delete set ranges
            ("01 01 01 00 08 01 01 74 01 75 ff ff ff ff ff ff 3f", "lengthTooLarge"), // nested any array
            ("80 80 80 80 80 80 80 80 01", "integerOverflow"),             // past 2^53
            ("01 01 01 80 80 80 80 10 00", "integerOverflow"),            // group clock 2^32
            ("01 01 01 ff ff ff ff 0f 00 02 00", "integerOverflow"),       // GC ending past 2^32-1
            ("01 01 01 fe ff ff ff 0f 04 01 01 74 02 61 62 00", "integerOverflow"), // string ending past 2^32-1
            ("00 01 01 01 ff ff ff ff 0f 01", "integerOverflow"),          // delete range past 2^32-1
            ("01 01 01 00 01 01 01 74 80 80 80 80 10 00", "integerOverflow"), // Deleted length 2^32
        ]
        for (hex, expected) in cases {
            #expect(tag(CodecTestData.decodeError(h(hex))) == expected, "\(hex)")
        }
        // The largest clock that fits is fine.
        #expect(CodecTestData.decodeError(h("01 01 01 fe ff ff ff 0f 00 01 00")) == nil)
    }

    @Test func deepNestingAndBadText() {
        let tag = Self.kind
        let deep = "01 01 01 00 08 01 01 74 01 " + String(repeating: "75 01 ", count: 100) + "7e 00"
        #expect(tag(CodecTestData.decodeError(h(deep))) == "nestingTooDeep")
        let deepDoc = "01 01 01 00 09 01 01 74 01 67 " + String(repeating: "76 01 01 6b ", count: 100) + "7e 00"
        #expect(tag(CodecTestData.decodeError(h(deepDoc))) == "nestingTooDeep")
        // Invalid UTF-8 in a root name, a string, a key.
        #expect(tag(CodecTestData.decodeError(h("01 01 01 00 04 01 01 ff 01 61 00"))) == "invalidUTF8")
        #expect(tag(CodecTestData.decodeError(h("01 01 01 00 04 01 01 74 02 c3 28 00"))) == "invalidUTF8")
        // Embed, Format and legacy JSON must be JSON text ("undefined" only in legacy JSON).
        #expect(tag(CodecTestData.decodeError(h("01 01 01 00 05 01 01 74 01 7b 00"))) == "malformed")
        #expect(tag(CodecTestData.decodeError(h("01 01 01 00 06 01 01 74 01 62 01 7b 00"))) == "malformed")
        let undefinedEmbed = "01 01 01 00 05 01 01 74 09 " + "undefined".utf8.map { String(format: "%02x", $0) }.joined(separator: " ") + " 00"
        #expect(tag(CodecTestData.decodeError(h(undefinedEmbed))) == "malformed")
        let undefinedJSON = "01 01 01 00 02 01 01 74 01 09 " + "undefined".utf8.map { String(format: "%02x", $0) }.joined(separator: " ") + " 00"
        #expect(CodecTestData.decodeError(h(undefinedJSON)) == nil)
        #expect(tag(CodecTestData.decodeError(h("01 01 01 00 02 01 01 74 01 01 78 00"))) == "malformed")
        let deepEmbed = "01 01 01 00 05 01 01 74 c8 01 " + String(repeating: "5b ", count: 100) + String(repeating: "5d ", count: 100) + "00"
        #expect(tag(CodecTestData.decodeError(h(deepEmbed))) == "nestingTooDeep")
    }

    @Test func randomGarbageNeverCrashes() {
        var rng = SeededRandom(seed: 0x5EED)
        var decoded = 0
        for _ in 0..<3000 {
            let n = rng.int(0..<64)
            var b: [UInt8] = []
            for _ in 0..<n { b.append(UInt8(truncatingIfNeeded: rng.next())) }
            // Small leading counts make it further into the decoder.
            if n > 2 && rng.int(0..<2) == 0 { b[0] = UInt8(rng.int(0..<3)); b[1] = UInt8(rng.int(0..<4)) }
            if let u = try? UpdateDecoderV1.decode(b) {
                decoded += 1
                let e = UpdateEncoderV1.encode(u)
                #expect((try? UpdateDecoderV1.decode(e)) == u)
            }
            _ = try? StateVector(decoding: b)
        }
        #expect(decoded < 3000)
    }

    @Test func mutatedFixturesNeverCrash() throws {
        var rng = SeededRandom(seed: 42)
        let inputs = try CodecTestData.allUpdates
        for _ in 0..<4000 {
            var b = inputs[rng.int(0..<inputs.count)]
            guard !b.isEmpty else { continue }
            for _ in 0...rng.int(0..<3) {
                let i = rng.int(0..<b.count)
                switch rng.int(0..<4) {
                case 0: b[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b[i] ^= UInt8(1 << rng.int(0..<8))
                case 2: b.remove(at: i)
                default: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                }
                if b.isEmpty { break }
            }
            if let u = try? UpdateDecoderV1.decode(b) {
                let e = UpdateEncoderV1.encode(u)
                let back = try? UpdateDecoderV1.decode(e)
                #expect(back == u)
                #expect(back.map(UpdateEncoderV1.encode) == e)
            }
        }
    }
}
