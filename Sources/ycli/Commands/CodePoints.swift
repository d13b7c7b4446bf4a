import CLISupport
import CRDT

/// Text and positions as the store commands see them: positions and counts are Unicode
/// characters (code points), converted to Yjs' UTF-16 offsets by `YText`'s code-point API.
enum CodePoints {
    /// `bytes` as a String, or a clear error when they are not UTF-8 text.
    static func text(_ bytes: [UInt8], source: String) throws -> String {
        let s = String(decoding: bytes, as: UTF8.self)
        // Decoding replaces invalid sequences with U+FFFD: a round trip tells whether it did.
        if s.utf8.count != bytes.count || !s.utf8.elementsEqual(bytes) {
            let offset = zip(s.utf8, bytes).prefix { $0 == $1 }.count
            throw CLIError("\(source) is not UTF-8 text (invalid byte near offset \(offset)); nothing written")
        }
        return s
    }

    /// Number of code points of `s`.
    static func count(_ s: String) -> Int { s.unicodeScalars.count }

    /// Checks that `position` (and `count` characters from it) lie inside a text of `length`
    /// code points; the message says what is wrong.
    static func check(position: Int, count: Int = 0, length: Int) throws {
        if position < 0 { throw CLIError("position \(position) is negative") }
        if count < 0 { throw CLIError("count \(count) is negative") }
        if position > length {
            throw CLIError("position \(position) is past the end of the text (\(length) character\(length == 1 ? "" : "s")); nothing written")
        }
        if count > length - position {
            throw CLIError("cannot delete \(count) character\(count == 1 ? "" : "s") at \(position): the range ends past the end of the text (\(length) character\(length == 1 ? "" : "s"), \(length - position) after the position); nothing written")
        }
    }
}
