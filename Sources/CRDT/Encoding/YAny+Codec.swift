// lib0 `any` values on the wire (spec 1.6) and their JSON text form (v1 Embed/Format content,
// legacy ContentJSON, awareness states).

extension YAny {
    /// Deepest nesting of arrays/objects accepted when reading `any` values or JSON text. lib0
    /// has no limit, but values are recursive enums here: reading, comparing and freeing them
    /// recurses, so hostile input must not be able to nest deeply enough to exhaust a stack.
    public static let maxNestingDepth = 64

    /// The value lib0 would write for a JavaScript number (its tag choice, spec 1.6): an integer
    /// with |n| <= 2^31-1 becomes a var-int, a value that survives float32 becomes float32, the
    /// rest float64. `-0.0` becomes `.integer(0)`: lib0 writes `7d 40` for it, which this model
    /// cannot tell from `7d 00`.
    public static func fromLib0Number(_ d: Double) -> YAny {
        if d.isFinite, d.rounded(.towardZero) == d, d.magnitude <= 2_147_483_647 {
            return .integer(Int64(d))
        }
        let f = Float(d)
        if Double(f) == d { return .float32(f) } // false for NaN, as in lib0
        return .float64(d)
    }

    /// The number as JavaScript sees it, for the numeric cases.
    public var numberValue: Double? {
        switch self {
        case let .integer(i): return Double(i)
        case let .float32(f): return Double(f)
        case let .float64(d): return d
        case let .bigint(i): return Double(i)
        default: return nil
        }
    }
}

// MARK: - Binary encoding

extension Lib0Writer {
    /// lib0 `writeAny`. Numbers keep the case they are stored in (so decoded values re-encode to
    /// the same bytes); use `YAny.fromLib0Number` to pick the case the way lib0 does.
    public mutating func writeAny(_ v: YAny) {
        switch v {
        case .undefined: writeU8(127)
        case .null: writeU8(126)
        case let .integer(i):
            writeU8(125)
            writeVarInt(i)
        case let .float32(f):
            writeU8(124)
            writeFloat32(f)
        case let .float64(d):
            writeU8(123)
            writeFloat64(d)
        case let .bigint(i):
            writeU8(122)
            writeBigInt64(i)
        case let .bool(b): writeU8(b ? 120 : 121)
        case let .string(s):
            writeU8(119)
            writeString(s)
        case let .object(pairs):
            writeU8(118)
            writeVarUInt(pairs.count)
            for (k, value) in pairs {
                writeString(k)
                writeAny(value)
            }
        case let .array(items):
            writeU8(117)
            writeVarUInt(items.count)
            for item in items { writeAny(item) }
        case let .bytes(b):
            writeU8(116)
            writeBytes(b)
        }
    }
}

extension Lib0Reader {
    /// lib0 `readAny`. Objects keep their wire key order. `7d 40` (integer -0) reads as `.integer(0)`.
    public mutating func readAny() throws(DecodingError) -> YAny {
        try readAny(depth: 0)
    }

    mutating func readAny(depth: Int) throws(DecodingError) -> YAny {
        let start = offset
        let tag = try readU8("any tag")
        switch tag {
        case 127: return .undefined
        case 126: return .null
        case 125: return .integer(try readVarInt("any integer"))
        case 124: return .float32(try readFloat32())
        case 123: return .float64(try readFloat64())
        case 122: return .bigint(try readBigInt64())
        case 121: return .bool(false)
        case 120: return .bool(true)
        case 119: return .string(try readString("any string"))
        case 118:
            guard depth < YAny.maxNestingDepth else { throw .nestingTooDeep(offset: start) }
            // Each entry takes at least two bytes (key length, value tag).
            let n = try readCount("any object size", minBytesEach: 2)
            var pairs: [(String, YAny)] = []
            pairs.reserveCapacity(n)
            for _ in 0..<n {
                let key = try readString("any object key")
                let value = try readAny(depth: depth + 1)
                pairs.append((key, value))
            }
            return .object(pairs)
        case 117:
            guard depth < YAny.maxNestingDepth else { throw .nestingTooDeep(offset: start) }
            let n = try readCount("any array size", minBytesEach: 1)
            var items: [YAny] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try readAny(depth: depth + 1)) }
            return .array(items)
        case 116: return .bytes(try readBytes("any bytes"))
        default: throw .unknownAnyTag(tag, offset: start)
        }
    }
}

// MARK: - JSON text

extension YAny {
    /// `JSON.stringify`-like text: no whitespace, keys in stored order, `undefined` object entries
    /// omitted and `undefined` array elements written as `null`, NaN/Infinity as `null`, numbers
    /// formatted like JavaScript's `Number.prototype.toString`, `Uint8Array` as `{"0":1,...}`.
    /// Differences from JavaScript: a top-level `undefined` gives `null` (JSON.stringify returns
    /// no string at all) and a bigint gives its digits (JSON.stringify throws).
    public var jsonText: String {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        JSONText.append(self, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The text Yjs writes for one element of legacy ContentJSON (ref 2): `undefined` for
    /// undefined, otherwise `jsonText`.
    public var legacyJSONText: String {
        if case .undefined = self { return "undefined" }
        return jsonText
    }

    /// Parses JSON text the way `JSON.parse` would, then maps numbers as lib0 would re-encode
    /// them (`fromLib0Number`). Object keys follow JavaScript property order (array-index keys
    /// ascending first, then insertion order; a duplicate key keeps its first position and its
    /// last value), which is the order Yjs would write them back in.
    /// - Parameters:
    ///   - text: the JSON text.
    ///   - allowUndefined: accept the bare text `undefined` (legacy ContentJSON elements).
    public static func parseJSON(_ text: String, allowUndefined: Bool = false) throws(DecodingError) -> YAny {
        var text = text
        // String.withUTF8 is not typed-throws: carry the error out in a Result.
        let result = text.withUTF8 { (buf: UnsafeBufferPointer<UInt8>) -> Result<YAny, DecodingError> in
            var p = JSONText.Parser(buf)
            do throws(DecodingError) {
                return .success(try p.parseDocument(allowUndefined: allowUndefined))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

enum JSONText {
    static func append(_ v: YAny, to out: inout [UInt8]) {
        switch v {
        case .undefined, .null: out.append(contentsOf: "null".utf8)
        case let .bool(b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case let .integer(i): out.append(contentsOf: String(i).utf8)
        case let .bigint(i): out.append(contentsOf: String(i).utf8)
        case let .float32(f): appendNumber(Double(f), to: &out)
        case let .float64(d): appendNumber(d, to: &out)
        case let .string(s): appendString(s, to: &out)
        case let .bytes(b):
            out.append(UInt8(ascii: "{"))
            for (i, byte) in b.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: String(i).utf8)
                out.append(contentsOf: "\":".utf8)
                out.append(contentsOf: String(byte).utf8)
            }
            out.append(UInt8(ascii: "}"))
        case let .array(items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                append(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(pairs):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (k, value) in pairs {
                if case .undefined = value { continue }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                appendString(k, to: &out)
                out.append(UInt8(ascii: ":"))
                append(value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// JSON.stringify string quoting (lowercase \u00xx for other control characters).
    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0..<0x20:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hexDigits[Int(b >> 4)], hexDigits[Int(b & 0xF)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// ECMAScript Number::toString for finite values; `null` otherwise (as JSON.stringify).
    static func appendNumber(_ d: Double, to out: inout [UInt8]) {
        guard d.isFinite else { out.append(contentsOf: "null".utf8); return }
        if d == 0 { out.append(UInt8(ascii: "0")); return }
        // Swift's description gives the shortest round-tripping digits (the same digits
        // JavaScript picks); only the layout differs, so re-layout them.
        let desc = Array(d.magnitude.description.utf8)
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var pointPos = 0 // digits before the decimal point in the mantissa
        var seenPoint = false
        var exponent = 0
        var i = 0
        while i < desc.count {
            let c = desc[i]
            if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                var j = i + 1
                var negative = false
                if j < desc.count, desc[j] == UInt8(ascii: "-") { negative = true; j += 1 }
                else if j < desc.count, desc[j] == UInt8(ascii: "+") { j += 1 }
                var e = 0
                while j < desc.count { e = e * 10 + Int(desc[j] &- 0x30); j += 1 }
                exponent = negative ? -e : e
                break
            }
            if c == UInt8(ascii: ".") { seenPoint = true }
            else {
                digits.append(c)
                if !seenPoint { pointPos += 1 }
            }
            i += 1
        }
        // Strip leading zeros (moving the point) and trailing zeros.
        var lead = 0
        while lead < digits.count - 1, digits[lead] == 0x30 { lead += 1 }
        digits.removeFirst(lead)
        pointPos -= lead
        while digits.count > 1, digits.last == 0x30 { digits.removeLast() }
        let k = digits.count
        let n = pointPos + exponent // value = 0.d1d2...dk × 10^n
        if d < 0 { out.append(UInt8(ascii: "-")) }
        if k <= n && n <= 21 {
            out.append(contentsOf: digits)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: n - k))
        } else if 0 < n && n <= 21 {
            out.append(contentsOf: digits[0..<n])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[n...])
        } else if -6 < n && n <= 0 {
            out.append(contentsOf: "0.".utf8)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -n))
            out.append(contentsOf: digits)
        } else {
            let e = n - 1
            out.append(digits[0])
            if k > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            out.append(UInt8(ascii: "e"))
            out.append(UInt8(ascii: e < 0 ? "-" : "+"))
            out.append(contentsOf: String(e.magnitude).utf8)
        }
    }

    /// A strict JSON (RFC 8259) parser over UTF-8 bytes, recursive with a depth limit.
    struct Parser {
        let b: UnsafeBufferPointer<UInt8>
        var i = 0

        init(_ b: UnsafeBufferPointer<UInt8>) { self.b = b }

        func fail(_ why: String) -> DecodingError { .malformed("invalid JSON text: \(why)", offset: i) }

        mutating func skipWhitespace() {
            while i < b.count {
                switch b[i] {
                case 0x20, 0x09, 0x0A, 0x0D: i += 1
                default: return
                }
            }
        }

        mutating func parseDocument(allowUndefined: Bool) throws(DecodingError) -> YAny {
            skipWhitespace()
            let value: YAny
            if allowUndefined, matches("undefined") {
                i += 9
                value = .undefined
            } else {
                value = try parseValue(depth: 0)
            }
            skipWhitespace()
            guard i == b.count else { throw fail("unexpected text after the value") }
            return value
        }

        func matches(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard b.count - i >= n else { return false }
            let w = word.utf8Start
            for k in 0..<n where b[i + k] != w[k] { return false }
            return true
        }

        mutating func parseValue(depth: Int) throws(DecodingError) -> YAny {
            guard i < b.count else { throw fail("unexpected end") }
            switch b[i] {
            case UInt8(ascii: "{"):
                guard depth < YAny.maxNestingDepth else { throw .nestingTooDeep(offset: i) }
                i += 1
                var pairs: [(String, YAny)] = []
                skipWhitespace()
                if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
                while true {
                    skipWhitespace()
                    guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                    let key = try parseString()
                    skipWhitespace()
                    guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    i += 1
                    skipWhitespace()
                    let value = try parseValue(depth: depth + 1)
                    pairs.append((key, value))
                    skipWhitespace()
                    guard i < b.count else { throw fail("unexpected end in object") }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    if b[i] == UInt8(ascii: "}") { i += 1; break }
                    throw fail("expected ',' or '}'")
                }
                return .object(JSONText.javaScriptOrder(pairs))
            case UInt8(ascii: "["):
                guard depth < YAny.maxNestingDepth else { throw .nestingTooDeep(offset: i) }
                i += 1
                var items: [YAny] = []
                skipWhitespace()
                if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                while true {
                    skipWhitespace()
                    items.append(try parseValue(depth: depth + 1))
                    skipWhitespace()
                    guard i < b.count else { throw fail("unexpected end in array") }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    if b[i] == UInt8(ascii: "]") { i += 1; break }
                    throw fail("expected ',' or ']'")
                }
                return .array(items)
            case UInt8(ascii: "\""):
                return .string(try parseString())
            case UInt8(ascii: "t"):
                guard matches("true") else { throw fail("unknown literal") }
                i += 4
                return .bool(true)
            case UInt8(ascii: "f"):
                guard matches("false") else { throw fail("unknown literal") }
                i += 5
                return .bool(false)
            case UInt8(ascii: "n"):
                guard matches("null") else { throw fail("unknown literal") }
                i += 4
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try parseNumber()
            default:
                throw fail("unexpected character")
            }
        }

        mutating func parseNumber() throws(DecodingError) -> YAny {
            let start = i
            func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
            if b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, isDigit(b[i]) else { throw fail("bad number") }
            if b[i] == 0x30 { i += 1 } else { while i < b.count, isDigit(b[i]) { i += 1 } }
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                guard i < b.count, isDigit(b[i]) else { throw fail("bad number fraction") }
                while i < b.count, isDigit(b[i]) { i += 1 }
            }
            if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                i += 1
                if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard i < b.count, isDigit(b[i]) else { throw fail("bad number exponent") }
                while i < b.count, isDigit(b[i]) { i += 1 }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
            // The grammar above is a subset of what Double(String) accepts; it rounds correctly
            // (and overflows to ±infinity) as JSON.parse does.
            guard let d = Double(text) else { throw fail("bad number") }
            return YAny.fromLib0Number(d)
        }

        mutating func parseString() throws(DecodingError) -> String {
            i += 1 // opening quote
            let start = i
            // Fast path: no escapes.
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    let s = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
                    i += 1
                    return s
                }
                if c == UInt8(ascii: "\\") { break }
                if c < 0x20 { throw fail("control character in string") }
                i += 1
            }
            var out: [UInt8] = Array(b[start..<i])
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if c < 0x20 { throw fail("control character in string") }
                if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
                i += 1
                guard i < b.count else { break }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    let unit = try parseHex4()
                    var scalar = UInt32(unit)
                    if unit & 0xFC00 == 0xD800 {
                        // A high surrogate pairs with an immediately following \uDC00-\uDFFF.
                        if b.count - i >= 6, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                            let save = i
                            i += 2
                            let low = try parseHex4()
                            if low & 0xFC00 == 0xDC00 {
                                scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                            } else {
                                i = save
                                scalar = 0xFFFD
                            }
                        } else {
                            scalar = 0xFFFD
                        }
                    } else if unit & 0xFC00 == 0xDC00 {
                        // A lone surrogate cannot live in a Swift String; TextEncoder would
                        // write U+FFFD for it anyway.
                        scalar = 0xFFFD
                    }
                    UTF16Transcoding.appendUTF8(scalar: scalar, to: &out)
                default:
                    throw fail("bad escape")
                }
            }
            throw fail("unterminated string")
        }

        mutating func parseHex4() throws(DecodingError) -> UInt16 {
            guard b.count - i >= 4 else { throw fail("bad \\u escape") }
            var v: UInt16 = 0
            for _ in 0..<4 {
                let c = b[i]
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x41...0x46: d = c - 0x41 + 10
                case 0x61...0x66: d = c - 0x61 + 10
                default: throw fail("bad \\u escape")
                }
                v = v << 4 | UInt16(d)
                i += 1
            }
            return v
        }
    }

    /// Whether `key` is a canonical array index ("0", "1", ... up to 2^32-2), which JavaScript
    /// orders before all other keys.
    static func arrayIndex(_ key: String) -> UInt32? {
        let u = key.utf8
        guard let first = u.first, u.count <= 10 else { return nil }
        if first == 0x30 { return u.count == 1 ? 0 : nil }
        var v: UInt64 = 0
        for c in u {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + UInt64(c - 0x30)
        }
        return v <= 4_294_967_294 ? UInt32(v) : nil
    }

    /// The order of `Object.keys` of an object built by JSON.parse from these pairs.
    static func javaScriptOrder(_ pairs: [(String, YAny)]) -> [(String, YAny)] {
        guard pairs.count > 1 else { return pairs }
        var result: [(String, YAny)] = []
        result.reserveCapacity(pairs.count)
        var position: [String: Int] = [:]
        var hasIndex = false
        for (k, v) in pairs {
            if let p = position[k] {
                result[p].1 = v
            } else {
                position[k] = result.count
                result.append((k, v))
                if !hasIndex, arrayIndex(k) != nil { hasIndex = true }
            }
        }
        guard hasIndex else { return result }
        var indexed: [(UInt32, (String, YAny))] = []
        var named: [(String, YAny)] = []
        for pair in result {
            if let n = arrayIndex(pair.0) { indexed.append((n, pair)) } else { named.append(pair) }
        }
        indexed.sort { $0.0 < $1.0 }
        return indexed.map { $0.1 } + named
    }
}

extension UTF16Transcoding {
    /// Appends one Unicode scalar value as UTF-8.
    static func appendUTF8(scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80: out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (scalar >> 6)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (scalar >> 12)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (scalar >> 18)))
            out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }
}
