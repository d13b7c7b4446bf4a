import CLZ4

/// Why an LZ4 block could not be read back.
enum LZ4BlockError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(storedBytes: Int, rawLength: Int)
    case lengthMismatch(expected: Int, got: Int)
    case badRawLength(Int)

    var description: String {
        switch self {
        case let .malformed(stored, raw): return "LZ4 block of \(stored) bytes does not decompress to \(raw) bytes"
        case let .lengthMismatch(expected, got): return "LZ4 block decompressed to \(got) bytes, expected \(expected)"
        case let .badRawLength(n): return "raw length \(n) out of range"
        }
    }
}

/// LZ4 block format (no frame): the raw length is stored next to the block, as LZ4 blocks do
/// not carry it.
enum LZ4Block {
    /// LZ4's own limit for one block.
    static let maxInputSize = Int(LZ4_MAX_INPUT_SIZE)

    /// The compressed block, or nil when compression would not make it smaller (or the input
    /// is too large for one block): the caller then stores the bytes raw.
    static func compress(_ raw: [UInt8]) -> [UInt8]? {
        guard !raw.isEmpty, raw.count <= maxInputSize else { return nil }
        // Anything at least as long as the input is useless: ask for at most count - 1 bytes,
        // and LZ4 gives up (returns 0) as soon as it cannot fit.
        let capacity = raw.count - 1
        guard capacity > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: capacity)
        let n = raw.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    dst.withMemoryRebound(to: CChar.self) { d in
                        LZ4_compress_default(s.baseAddress, d.baseAddress, Int32(s.count), Int32(d.count))
                    }
                }
            }
        }
        guard n > 0 else { return nil }
        out.removeSubrange(Int(n)...)
        return out
    }

    /// Decompresses a block whose raw length is known; fails (never traps) on a damaged block.
    static func decompress(_ block: [UInt8], rawLength: Int) throws(LZ4BlockError) -> [UInt8] {
        guard rawLength >= 0, rawLength <= maxInputSize else { throw .badRawLength(rawLength) }
        if rawLength == 0 {
            guard block.isEmpty else { throw .lengthMismatch(expected: 0, got: block.count) }
            return []
        }
        guard !block.isEmpty, block.count <= maxInputSize else {
            throw .malformed(storedBytes: block.count, rawLength: rawLength)
        }
        var out = [UInt8](repeating: 0, count: rawLength)
        let n = block.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    dst.withMemoryRebound(to: CChar.self) { d in
                        LZ4_decompress_safe(s.baseAddress, d.baseAddress, Int32(s.count), Int32(d.count))
                    }
                }
            }
        }
        if n < 0 { throw .malformed(storedBytes: block.count, rawLength: rawLength) }
        if Int(n) != rawLength { throw .lengthMismatch(expected: rawLength, got: Int(n)) }
        return out
    }
}
