#if canImport(Glibc)
import Glibc
#endif

/// A JSON value with ordered object keys, written by hand so that output is stable and exact
/// (integers stay integers, strings are escaped per RFC 8259).
package indirect enum JSON {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    package static func int(_ n: Int) -> JSON { .int(Int64(n)) }

    /// Compact JSON, or indented down to `prettyDepth` levels of nesting (deeper values stay on one line).
    package func rendered(pretty: Bool = false, prettyDepth: Int = .max) -> String {
        var out = ""
        write(to: &out, pretty: pretty && prettyDepth > 0, indent: 0, depthLeft: prettyDepth)
        return out
    }

    private func write(to out: inout String, pretty: Bool, indent: Int, depthLeft: Int = .max) {
        let childPretty = pretty && depthLeft > 1
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(n): out += String(n)
        case let .uint(n): out += String(n)
        case let .double(d):
            if d.isFinite {
                // Swift prints the shortest text that reads back as the same Double ("1e-05", "2.5").
                out += String(d)
            } else {
                out += "null"
            }
        case let .string(s): JSON.writeString(s, to: &out)
        case let .array(items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
                item.write(to: &out, pretty: childPretty, indent: indent + 1, depthLeft: depthLeft - 1)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: indent) }
            out += "]"
        case let .object(fields):
            if fields.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
                JSON.writeString(key, to: &out)
                out += ":"
                value.write(to: &out, pretty: childPretty, indent: indent + 1, depthLeft: depthLeft - 1)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: indent) }
            out += "}"
        }
    }

    package static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x2028...0x2029).contains(scalar.value) {
                    out += "\\u" + hex4(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    package static func hex4(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}

