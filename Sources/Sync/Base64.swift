import Foundation

/// Base64, the text form Yjs apps keep updates and state vectors in (a content database's
/// `yDoc`, HTTP bodies, `ycli inspect --json`). Encoding and decoding are Foundation's; decoding
/// first checks the text, so a bad one gets a message with the offending position, and accepts
/// what writers differ in: the URL-safe alphabet, missing padding, line breaks and spaces.
package enum Base64 {
    /// Why a text is not base64.
    package struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// What is wrong and where ("unexpected '*' at offset 3").
        package let reason: String
        /// A failure for this reason.
        package init(reason: String) { self.reason = reason }
        /// "not valid base64: REASON".
        package var description: String { "not valid base64: \(reason)" }
    }

    /// Standard base64 with padding.
    package static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// The bytes of standard or URL-safe base64, padded or not; spaces and line breaks are skipped.
    package static func decode(_ text: String) throws(Failure) -> [UInt8] {
        var normal: [UInt8] = []
        normal.reserveCapacity(text.utf8.count + 3)
        var padding = 0
        for (offset, c) in text.utf8.enumerated() {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                if padding > 0 { throw Failure(reason: "data after padding at offset \(offset)") }
                normal.append(c)
            case UInt8(ascii: "-"):
                if padding > 0 { throw Failure(reason: "data after padding at offset \(offset)") }
                normal.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"):
                if padding > 0 { throw Failure(reason: "data after padding at offset \(offset)") }
                normal.append(UInt8(ascii: "/"))
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                continue
            case UInt8(ascii: "="):
                padding += 1
            default:
                let shown = c < 0x80 ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
                throw Failure(reason: "unexpected \(shown) at offset \(offset)")
            }
        }
        switch normal.count % 4 {
        case 0: if padding > 0 { throw Failure(reason: "unexpected padding") }
        case 1: throw Failure(reason: "truncated (a lone final character)")
        case 2: if padding != 0 && padding != 2 { throw Failure(reason: "wrong padding") }
        default: if padding > 1 { throw Failure(reason: "wrong padding") }
        }
        while normal.count % 4 != 0 { normal.append(UInt8(ascii: "=")) }
        // Every character was checked above: only non-zero unused bits of the last character
        // can still make Foundation refuse the text.
        guard let data = Data(base64Encoded: Data(normal)) else {
            throw Failure(reason: "the last character has bits set beyond the data")
        }
        return Array(data)
    }
}
