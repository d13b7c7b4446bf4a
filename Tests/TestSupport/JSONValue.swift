/// A minimal JSON value with its own parser and printer (no Foundation bridging, so numbers and
/// booleans stay distinct on Linux). Used for the pycrdt bridge protocol and for content comparison.
public indirect enum JSONValue: Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    // MARK: accessors

    public subscript(key: String) -> JSONValue? {
        if case let .object(o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? { if case let .string(s) = self { return s }; return nil }
    public var doubleValue: Double? { if case let .number(d) = self { return d }; return nil }
    public var intValue: Int? {
        if case let .number(d) = self, d == d.rounded(), abs(d) <= 9_007_199_254_740_992 { return Int(d) }
        return nil
    }
    public var boolValue: Bool? { if case let .bool(b) = self { return b }; return nil }
    public var arrayValue: [JSONValue]? { if case let .array(a) = self { return a }; return nil }
    public var objectValue: [String: JSONValue]? { if case let .object(o) = self { return o }; return nil }

    // MARK: printing

    /// Compact JSON, keys sorted, every non-ASCII character escaped as \uXXXX (so the bytes on the
    /// pipe are ASCII whatever the locale of the peer process).
    public var description: String {
        var out = ""
        write(to: &out)
        return out
    }

    public func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .number(d):
            if d.isNaN || d.isInfinite {
                out += "null"
            } else if d == d.rounded(), abs(d) <= 9_007_199_254_740_992 {
                out += String(Int64(d))
            } else {
                out += "\(d)"
            }
        case let .string(s): JSONValue.writeString(s, to: &out)
        case let .array(a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(to: &out)
            }
            out += "]"
        case let .object(o):
            out += "{"
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(k, to: &out)
                out += ":"
                o[k]!.write(to: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, to out: inout String) {
        let hexDigits = Array("0123456789abcdef")
        out += "\""
        for u in s.utf16 {
            switch u {
            case 0x22: out += "\\\""
            case 0x5c: out += "\\\\"
            case 0x0a: out += "\\n"
            case 0x0d: out += "\\r"
            case 0x09: out += "\\t"
            case 0x20...0x7e: out.unicodeScalars.append(Unicode.Scalar(UInt8(u)))
            default:
                out += "\\u"
                for shift in stride(from: 12, through: 0, by: -4) {
                    out.append(hexDigits[Int((u >> UInt16(shift)) & 0xf)])
                }
            }
        }
        out += "\""
    }

    // MARK: parsing

    public struct ParseError: Error, CustomStringConvertible {
        public let message: String
        public let offset: Int
        public var description: String { "JSON parse error at byte \(offset): \(message)" }
    }

    public static func parse(_ text: String) throws -> JSONValue {
        try parse(Array(text.utf8))
    }

    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var p = Parser(bytes: bytes)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == bytes.count else { throw ParseError(message: "trailing characters", offset: p.i) }
        return v
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ m: String) -> ParseError { ParseError(message: m, offset: i) }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0a || bytes[i] == 0x0d || bytes[i] == 0x09 { i += 1 }
        }

        mutating func literal(_ word: String, _ v: JSONValue) throws -> JSONValue {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw fail("bad literal") }
            i += w.count
            return v
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < 512 else { throw fail("nesting too deep") }
            guard i < bytes.count else { throw fail("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                i += 1
                var a: [JSONValue] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                while true {
                    skipSpace()
                    a.append(try value(depth: depth + 1))
                    skipSpace()
                    guard i < bytes.count else { throw fail("unterminated array") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                    throw fail("expected , or ]")
                }
            case UInt8(ascii: "{"):
                i += 1
                var o: [String: JSONValue] = [:]
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected key") }
                    let k = try string()
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected :") }
                    i += 1
                    skipSpace()
                    o[k] = try value(depth: depth + 1)
                    skipSpace()
                    guard i < bytes.count else { throw fail("unterminated object") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
                    throw fail("expected , or }")
                }
            default:
                return try number()
            }
        }

        mutating func number() throws -> JSONValue {
            let start = i
            while i < bytes.count {
                let c = bytes[i]
                if (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
                    || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                    i += 1
                } else {
                    break
                }
            }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            if text == "-Infinity" || text == "Infinity" || text == "NaN" { throw fail("non-finite number") }
            guard !text.isEmpty, let d = Double(text) else { throw fail("bad number '\(text)'") }
            return .number(d)
        }

        mutating func hex4() throws -> UInt16 {
            guard i + 4 <= bytes.count else { throw fail("short \\u escape") }
            var v: UInt16 = 0
            for _ in 0..<4 {
                let c = bytes[i]
                let d: UInt16
                switch c {
                case 0x30...0x39: d = UInt16(c - 0x30)
                case 0x61...0x66: d = UInt16(c - 0x61 + 10)
                case 0x41...0x46: d = UInt16(c - 0x41 + 10)
                default: throw fail("bad \\u escape")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        mutating func string() throws -> String {
            i += 1  // opening quote
            var units: [UInt16] = []
            var raw: [UInt8] = []
            func flushRaw() {
                if !raw.isEmpty {
                    units.append(contentsOf: String(decoding: raw, as: UTF8.self).utf16)
                    raw.removeAll(keepingCapacity: true)
                }
            }
            while true {
                guard i < bytes.count else { throw fail("unterminated string") }
                let c = bytes[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    break
                }
                if c == UInt8(ascii: "\\") {
                    flushRaw()
                    i += 1
                    guard i < bytes.count else { throw fail("bad escape") }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""): units.append(0x22)
                    case UInt8(ascii: "\\"): units.append(0x5c)
                    case UInt8(ascii: "/"): units.append(0x2f)
                    case UInt8(ascii: "b"): units.append(0x08)
                    case UInt8(ascii: "f"): units.append(0x0c)
                    case UInt8(ascii: "n"): units.append(0x0a)
                    case UInt8(ascii: "r"): units.append(0x0d)
                    case UInt8(ascii: "t"): units.append(0x09)
                    case UInt8(ascii: "u"): units.append(try hex4())
                    default: throw fail("bad escape")
                    }
                } else {
                    raw.append(c)
                    i += 1
                }
            }
            flushRaw()
            return String(decoding: units, as: UTF16.self)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, b in b }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
    public init(_ i: Int) { self = .number(Double(i)) }
    public init(_ u: UInt64) { self = .number(Double(u)) }
    public init(_ s: String) { self = .string(s) }

    /// A description of the first place where `self` (expected) and `other` (actual) differ.
    public func firstDifference(from other: JSONValue, path: String = "$") -> String? {
        switch (self, other) {
        case let (.object(a), .object(b)):
            let ka = Set(a.keys), kb = Set(b.keys)
            if ka != kb {
                return "\(path): keys differ: only expected \(ka.subtracting(kb).sorted()), only actual \(kb.subtracting(ka).sorted())"
            }
            for k in ka.sorted() {
                if let d = a[k]!.firstDifference(from: b[k]!, path: "\(path).\(k)") { return d }
            }
            return nil
        case let (.array(a), .array(b)):
            for (i, (x, y)) in zip(a, b).enumerated() {
                if let d = x.firstDifference(from: y, path: "\(path)[\(i)]") { return d }
            }
            if a.count != b.count { return "\(path): array length expected \(a.count), actual \(b.count)" }
            return nil
        case let (.string(a), .string(b)):
            if a == b { return nil }
            let ua = Array(a.utf16), ub = Array(b.utf16)
            let common = zip(ua, ub).prefix { $0 == $1 }.count
            func around(_ u: [UInt16]) -> String {
                let lo = max(0, common - 10), hi = min(u.count, common + 30)
                return String(decoding: u[lo..<hi], as: UTF16.self).debugDescription
            }
            return "\(path): strings differ at UTF-16 offset \(common) (lengths \(ua.count) vs \(ub.count)): expected …\(around(ua))…, actual …\(around(ub))…"
        default:
            return self == other ? nil : "\(path): expected \(self), actual \(other)"
        }
    }
}
