import CLISupport

#if canImport(Glibc)
import Glibc
#endif

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
