import TraceKit

#if canImport(Glibc)
import Glibc
#endif

/// A failure reported to the user: ArgumentParser prints `Error: <description>` to stderr and
/// exits with code 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A JSON value with ordered object keys, written by hand so that output is stable and exact
/// (integers stay integers, strings are escaped per RFC 8259).
indirect enum JSON {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    static func int(_ n: Int) -> JSON { .int(Int64(n)) }

    /// Compact JSON, or indented down to `prettyDepth` levels of nesting (deeper values stay on one line).
    func rendered(pretty: Bool = false, prettyDepth: Int = .max) -> String {
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

    static func writeString(_ s: String, to out: inout String) {
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

    static func hex4(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}

/// Standard output and error without Foundation (Glibc's `stdout` global is off limits in Swift 6).
enum Console {
    static func out(_ s: String) {
        var s = s
        s.withUTF8 { buf in writeAll(1, buf) }
    }

    static func err(_ s: String) {
        var s = s
        s.withUTF8 { buf in writeAll(2, buf) }
    }

    private static func writeAll(_ fd: Int32, _ buf: UnsafeBufferPointer<UInt8>) {
        guard let base = buf.baseAddress else { return }
        var done = 0
        while done < buf.count {
            let n = write(fd, base + done, buf.count - done)
            if n < 0 { if errno == EINTR { continue }; return }
            done += n
        }
    }
}

/// Reads an input operand (`-` = standard input) or fails with a clean message.
func readInput(_ path: String) throws -> [UInt8] {
    do {
        return try FileBytes.readFile(path)
    } catch {
        throw CLIError(error.description)
    }
}

/// Writes an output operand (`-` = standard output) or fails with a clean message.
func writeOutput(_ bytes: [UInt8], to path: String) throws {
    do {
        try FileBytes.write(bytes, to: path)
    } catch {
        throw CLIError("cannot write \(error.description)")
    }
}

/// A short, single-line, escaped preview of a text for tables.
func preview(_ s: String, limit: Int = 24) -> String {
    var out = ""
    var n = 0
    for scalar in s.unicodeScalars {
        if n == limit { out += "…"; break }
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F { out += "\\u{" + String(scalar.value, radix: 16) + "}" } else {
                out.unicodeScalars.append(scalar)
            }
        }
        n += 1
    }
    return out
}
