import Testing
import TestSupport
@testable import CRDT

// Every table value of spec sections 1.1-1.6, both ways, plus the JSON text helpers.

fileprivate func h(_ s: String) -> [UInt8] { CodecTestData.bytes(s) }

fileprivate func written(_ body: (inout Lib0Writer) -> Void) -> [UInt8] {
    var w = Lib0Writer()
    body(&w)
    return w.bytes
}

fileprivate func anyBytes(_ v: YAny) -> [UInt8] { written { $0.writeAny(v) } }

fileprivate func readAny(_ b: [UInt8]) throws(DecodingError) -> YAny {
    var r = Lib0Reader(b)
    let v = try r.readAny()
    guard r.isAtEnd else { throw .trailingBytes(count: r.remaining, offset: r.offset) }
    return v
}

@Suite(.ownThread) struct Lib0Tests {
    // MARK: 1.1 var-uint

    static let varUInts: [(UInt64, String)] = [
        (0, "00"), (1, "01"), (63, "3f"), (64, "40"), (127, "7f"), (128, "80 01"), (300, "ac 02"),
        (16384, "80 80 01"), ((1 << 32) - 1, "ff ff ff ff 0f"), ((1 << 53) - 1, "ff ff ff ff ff ff ff 0f"),
    ]

    @Test(arguments: varUInts)
    func varUInt(value: UInt64, hex: String) throws {
        #expect(written { $0.writeVarUInt(value) } == h(hex))
        var r = Lib0Reader(h(hex))
        #expect(try r.readVarUInt() == value)
        #expect(r.isAtEnd)
    }

    @Test func varUIntEdges() throws {
        var r = Lib0Reader(h("80 00")) // non-minimal forms are accepted
        #expect(try r.readVarUInt() == 0)
        var big = Lib0Reader(h("80 80 80 80 80 80 80 10")) // 2^53
        #expect(throws: DecodingError.self) { try big.readVarUInt() }
        var huge = Lib0Reader(h("ff ff ff ff ff ff ff ff ff 01"))
        #expect(throws: DecodingError.self) { try huge.readVarUInt() }
        var cut = Lib0Reader(h("80 80"))
        #expect(throws: DecodingError.self) { try cut.readVarUInt() }
        var clock = Lib0Reader(h("80 80 80 80 10")) // 2^32 does not fit a clock
        #expect(throws: DecodingError.self) { try clock.readClock() }
    }

    // MARK: 1.2 var-int

    static let varInts: [(Int64, Bool, String)] = [
        (0, false, "00"), (0, true, "40"), (1, false, "01"), (-1, false, "41"), (63, false, "3f"), (-63, false, "7f"),
        (64, false, "80 01"), (-64, false, "c0 01"), (8191, false, "bf 7f"), (8192, false, "80 80 01"),
        (-8192, false, "c0 80 01"), (2_147_483_647, false, "bf ff ff ff 0f"), (-2_147_483_647, false, "ff ff ff ff 0f"),
    ]

    @Test(arguments: varInts)
    func varInt(value: Int64, negativeZero: Bool, hex: String) throws {
        #expect(written { $0.writeVarInt(value, negativeZero: negativeZero) } == h(hex))
        var r = Lib0Reader(h(hex))
        let (v, negative) = try r.readVarIntWithSign()
        #expect(v == value)
        #expect(negative == (value < 0 || negativeZero))
        #expect(r.isAtEnd)
    }

    // MARK: 1.3 fixed width

    @Test func fixedWidth() throws {
        #expect(written { $0.writeFloat32(1.5) } == h("3f c0 00 00"))
        #expect(written { $0.writeFloat64(0.1) } == h("3f b9 99 99 99 99 99 9a"))
        #expect(written { $0.writeBigInt64(-1) } == h("ff ff ff ff ff ff ff ff"))
        var r = Lib0Reader(h("3f c0 00 00 3f b9 99 99 99 99 99 9a ff ff ff ff ff ff ff ff"))
        #expect(try r.readFloat32() == 1.5)
        #expect(try r.readFloat64() == 0.1)
        #expect(try r.readBigInt64() == -1)
        #expect(throws: DecodingError.self) { try r.readFloat32() }
    }

    // MARK: 1.4 / 1.5 strings and byte arrays

    @Test func strings() throws {
        #expect(written { $0.writeUTF16String([0xD83D]) } == h("03 ef bf bd"))
        #expect(written { $0.writeUTF16String([0xDE00, 0x61]) } == h("04 ef bf bd 61"))
        #expect(written { $0.writeString("hé😀") } == h("07 68 c3 a9 f0 9f 98 80"))
        #expect(written { $0.writeUTF16String(Array("hé😀".utf16)) } == h("07 68 c3 a9 f0 9f 98 80"))
        var r = Lib0Reader(h("07 68 c3 a9 f0 9f 98 80"))
        #expect(try r.readString() == "hé😀")
        r = Lib0Reader(h("07 68 c3 a9 f0 9f 98 80"))
        #expect(try r.readUTF16String() == Array("hé😀".utf16))
        // A BOM is kept, as lib0 decodes with ignoreBOM.
        r = Lib0Reader(h("03 ef bb bf"))
        #expect(try r.readString() == "\u{FEFF}")
        r = Lib0Reader(h("03 ef bb bf"))
        #expect(try r.readUTF16String() == [0xFEFF])
        // Invalid UTF-8 throws (lib0's decoder is fatal): stray continuation, encoded surrogate,
        // overlong form, truncated sequence.
        for bad in ["01 80", "03 ed a0 80", "02 c0 80", "02 e2 82", "04 f4 90 80 80"] {
            var a = Lib0Reader(h(bad))
            #expect(throws: DecodingError.self) { try a.readString() }
            var b = Lib0Reader(h(bad))
            #expect(throws: DecodingError.self) { try b.readUTF16String() }
        }
        var long = Lib0Reader(h("05 61 62"))
        #expect(throws: DecodingError.self) { try long.readString() }
    }

    @Test func byteArrays() throws {
        #expect(written { $0.writeBytes([1, 2, 3]) } == h("03 01 02 03"))
        var r = Lib0Reader(h("03 01 02 03"))
        #expect(try r.readBytes() == [1, 2, 3])
        var huge = Lib0Reader(h("ff ff ff ff ff ff 3f 00"))
        #expect(throws: DecodingError.self) { try huge.readBytes() }
    }

    // MARK: 1.6 any

    static let anyValues: [(YAny, String)] = [
        (.integer(0), "7d 00"), (.integer(42), "7d 2a"), (.integer(64), "7d 80 01"), (.integer(-64), "7d c0 01"),
        (.integer(300), "7d ac 04"), (.integer(2_147_483_647), "7d bf ff ff ff 0f"),
        (.float32(2_147_483_648), "7c 4f 00 00 00"), (.float32(9_007_199_254_740_992), "7c 5a 00 00 00"),
        (.float32(.infinity), "7c 7f 80 00 00"), (.float32(1.5), "7c 3f c0 00 00"), (.float32(-1.5), "7c bf c0 00 00"),
        (.float64(1e300), "7b 7e 37 e4 3c 88 00 75 9c"), (.float64(.nan), "7b 7f f8 00 00 00 00 00 00"),
        (.bigint(5), "7a 00 00 00 00 00 00 00 05"), (.string("hé"), "77 03 68 c3 a9"),
        (.object([("a", .integer(1))]), "76 01 01 61 7d 01"),
        (.array([.integer(1), .string("x")]), "75 02 7d 01 77 01 78"), (.bytes([1, 2]), "74 02 01 02"),
        (.bool(true), "78"), (.bool(false), "79"), (.null, "7e"), (.undefined, "7f"), (.object([]), "76 00"),
        (.object([("1", .integer(4)), ("2", .integer(3)), ("b", .integer(1)), ("a", .integer(2))]),
         "76 04 01 31 7d 04 01 32 7d 03 01 62 7d 01 01 61 7d 02"),
    ]

    @Test(arguments: anyValues)
    func anyBothWays(value: YAny, hex: String) throws {
        #expect(anyBytes(value) == h(hex))
        #expect(try readAny(h(hex)) == value)
    }

    /// lib0's choice of number tag (spec 1.6), applied to JavaScript numbers.
    static let numbers: [(Double, String)] = [
        (0, "7d 00"), (42, "7d 2a"), (64, "7d 80 01"), (-64, "7d c0 01"), (300, "7d ac 04"),
        (2_147_483_647, "7d bf ff ff ff 0f"), (-2_147_483_647, "7d ff ff ff ff 0f"), (2_147_483_648, "7c 4f 00 00 00"),
        (9_007_199_254_740_992, "7c 5a 00 00 00"), (.infinity, "7c 7f 80 00 00"), (-.infinity, "7c ff 80 00 00"),
        (1.5, "7c 3f c0 00 00"), (-1.5, "7c bf c0 00 00"), (1e300, "7b 7e 37 e4 3c 88 00 75 9c"),
        (.nan, "7b 7f f8 00 00 00 00 00 00"), (0.1, "7b 3f b9 99 99 99 99 99 9a"),
    ]

    @Test(arguments: numbers)
    func lib0NumberTag(value: Double, hex: String) {
        #expect(anyBytes(YAny.fromLib0Number(value)) == h(hex))
    }

    @Test func negativeZero() throws {
        // lib0 writes -0 as `7d 40`; it reads back as integer 0 (the sign of zero is not kept).
        #expect(try readAny(h("7d 40")) == .integer(0))
        #expect(YAny.fromLib0Number(-0.0) == .integer(0))
    }

    @Test func anyErrors() throws {
        func error(_ hex: String) -> DecodingError? {
            do { _ = try readAny(h(hex)); return nil } catch { return error }
        }
        for tag in ["00", "73", "80", "ff"] {
            guard case .unknownAnyTag? = error(tag) else { Issue.record("tag \(tag) accepted"); continue }
        }
        // 64 nested arrays are fine, 65 are not.
        let ok = String(repeating: "75 01 ", count: 64) + "7e"
        #expect(error(ok) == nil)
        let deep = String(repeating: "75 01 ", count: 65) + "7e"
        guard case .nestingTooDeep? = error(deep) else { Issue.record("deep nesting accepted"); return }
        let deepObject = String(repeating: "76 01 01 6b ", count: 65) + "7e"
        guard case .nestingTooDeep? = error(deepObject) else { Issue.record("deep object accepted"); return }
        // Counts that cannot fit the remaining input fail before anything is allocated.
        guard case .lengthTooLarge? = error("75 ff ff ff ff ff ff ff 0f") else { Issue.record("huge array"); return }
        guard case .lengthTooLarge? = error("76 80 80 80 80 80 80 80 01") else { Issue.record("2^49 object"); return }
        guard case .lengthTooLarge? = error("74 ff ff ff ff ff 01") else { Issue.record("huge bytes"); return }
        guard case .lengthTooLarge? = error("77 05 61") else { Issue.record("short string"); return }
        guard case .unexpectedEnd? = error("7b 00 00") else { Issue.record("short float"); return }
        guard case .invalidUTF8? = error("77 01 ff") else { Issue.record("bad UTF-8"); return }
    }

    // MARK: JSON text

    static let jsonTexts: [(YAny, String)] = [
        (.object([("image", .string("x.png"))]), #"{"image":"x.png"}"#),
        (.object([("user", .object([("name", .string("A"))]))]), #"{"user":{"name":"A"}}"#),
        (.null, "null"), (.undefined, "null"), (.bool(true), "true"), (.bool(false), "false"),
        (.integer(-42), "-42"), (.bigint(12), "12"),
        (.float64(1.5), "1.5"), (.float64(0.1), "0.1"), (.float64(-0.0), "0"), (.float64(1e21), "1e+21"),
        (.float64(1e20), "100000000000000000000"), (.float64(1.2345678901234568e20), "123456789012345680000"),
        (.float64(1e-7), "1e-7"), (.float64(0.000001), "0.000001"), (.float64(1.5e-10), "1.5e-10"),
        (.float64(123.456), "123.456"), (.float64(.leastNonzeroMagnitude), "5e-324"),
        (.float64(1.7976931348623157e308), "1.7976931348623157e+308"), (.float64(9_007_199_254_740_992), "9007199254740992"),
        (.float64(-2.5e25), "-2.5e+25"), (.float64(.nan), "null"), (.float64(.infinity), "null"),
        (.float32(1.1), "1.100000023841858"), (.float32(2_147_483_648), "2147483648"),
        (.string("a\"b\\c\n\t\u{1}\u{1f}/é😀"), #""a\"b\\c\n\t\u0001\u001f/é😀""#),
        (.array([.integer(1), .undefined, .null, .string("x")]), #"[1,null,null,"x"]"#),
        (.object([("a", .undefined), ("b", .integer(2))]), #"{"b":2}"#),
        (.bytes([1, 2]), #"{"0":1,"1":2}"#), (.bytes([]), "{}"), (.array([]), "[]"),
    ]

    @Test(arguments: jsonTexts)
    func jsonText(value: YAny, text: String) {
        #expect(value.jsonText == text)
    }

    @Test func legacyJSONText() {
        #expect(YAny.undefined.legacyJSONText == "undefined")
        #expect(YAny.string("x").legacyJSONText == #""x""#)
    }

    static let parsed: [(String, YAny)] = [
        ("42", .integer(42)), (" -7 ", .integer(-7)), ("-0", .integer(0)), ("2147483648", .float32(2_147_483_648)),
        ("0.1", .float64(0.1)), ("1.5", .float32(1.5)), ("1e400", .float32(.infinity)), ("1E2", .integer(100)),
        ("true", .bool(true)), ("null", .null), (#""a\u00e9\ud83d\ude00\n\/""#, .string("aé😀\n/")),
        (#""\ud83d""#, .string("\u{FFFD}")), (#""\ude00x""#, .string("\u{FFFD}x")),
        (#"[1, "x" ,{}]"#, .array([.integer(1), .string("x"), .object([])])),
        (#"{"b":1,"a":2,"2":3,"1":4}"#, .object([("1", .integer(4)), ("2", .integer(3)), ("b", .integer(1)), ("a", .integer(2))])),
        (#"{"a":1,"b":2,"a":3}"#, .object([("a", .integer(3)), ("b", .integer(2))])),
        (#"{"01":1,"4294967295":2,"4294967294":3}"#,
         .object([("4294967294", .integer(3)), ("01", .integer(1)), ("4294967295", .integer(2))])),
    ]

    @Test(arguments: parsed)
    func parseJSON(text: String, value: YAny) throws {
        #expect(try YAny.parseJSON(text) == value)
    }

    @Test func parseJSONKeyOrderGivesYjsBytes() throws {
        // Yjs writes {b:1,a:2,"2":3,"1":4} with the index keys first (spec 1.6).
        let v = try YAny.parseJSON(#"{"b":1,"a":2,"2":3,"1":4}"#)
        #expect(anyBytes(v) == h("76 04 01 31 7d 04 01 32 7d 03 01 62 7d 01 01 61 7d 02"))
    }

    @Test func parseJSONRejects() throws {
        let bad = ["", " ", "{", "[1,]", "[1 2]", "01", "1.", ".5", "+1", "-", "1e", "tru", "nul", "NaN", "Infinity",
                   "undefined", "'x'", #""a"#, "\"\u{1}\"", #""\x""#, #""\u12""#, #"{"a"}"#, #"{a:1}"#, "{\"a\":1,}",
                   "1 2", "[]]", "\u{FEFF}1"]
        for text in bad {
            #expect(throws: DecodingError.self, "\(text)") { try YAny.parseJSON(text) }
        }
        #expect(try YAny.parseJSON("undefined", allowUndefined: true) == .undefined)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: DecodingError.self) { try YAny.parseJSON(deep) }
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try YAny.parseJSON(ok)
    }

    @Test func jsonRoundTrip() throws {
        let texts = [#"{"image":"x.png"}"#, "true", "null", #"{"a":[1,2.5,{"b":null}],"c":"\u0001"}"#, "1e+21",
                     "-1.5e-7", "123456789"]
        for t in texts {
            #expect(try YAny.parseJSON(t).jsonText == t)
        }
    }
}
