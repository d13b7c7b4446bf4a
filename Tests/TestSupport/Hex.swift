/// Hex <-> bytes, for fixtures and for messages to/from the pycrdt bridge.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lower-case hex, no separators.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lower-case hex with a space between bytes (the spec's notation), for failure messages.
    public static func spaced<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        bytes.map { b in String(decoding: [digits[Int(b >> 4)], digits[Int(b & 0x0f)]], as: UTF8.self) }
            .joined(separator: " ")
    }

    /// Parses hex; whitespace between digits is ignored. Nil on any other character or an odd count.
    public static func decode(_ text: String) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count / 2)
        var high: UInt8? = nil
        for c in text.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"): continue
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return high == nil ? out : nil
    }
}

extension Array where Element == UInt8 {
    /// `[UInt8](hex: "01 02 ff")`; traps on malformed input (for literals in tests).
    public init(hex: String) {
        guard let bytes = Hex.decode(hex) else { preconditionFailure("malformed hex literal: \(hex)") }
        self = bytes
    }

    public var hex: String { Hex.encode(self) }
}

/// A short description of where two byte strings first differ, for failure messages.
public func describeByteDifference(expected: [UInt8], actual: [UInt8]) -> String {
    if expected == actual { return "identical (\(expected.count) bytes)" }
    let common = zip(expected, actual).prefix { $0 == $1 }.count
    func window(_ b: [UInt8]) -> String {
        let lo = Swift.max(0, common - 8)
        let hi = Swift.min(b.count, common + 24)
        return (lo > 0 ? "… " : "") + Hex.spaced(b[lo..<hi]) + (hi < b.count ? " …" : "")
    }
    var s = "first difference at byte \(common) (expected \(expected.count) bytes, actual \(actual.count) bytes)\n"
    s += "  expected: \(window(expected))\n"
    s += "  actual:   \(window(actual))"
    if expected.count <= 400 && actual.count <= 400 {
        s += "\n  expected full: \(Hex.spaced(expected))\n  actual full:   \(Hex.spaced(actual))"
    }
    return s
}
