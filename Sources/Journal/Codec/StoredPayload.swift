/// A payload as it sits in a `journal` or `snapshots` row: the bytes (an LZ4 block or raw),
/// the raw length and the CRC-32 of the raw (uncompressed) bytes.
struct StoredPayload: Equatable, Sendable {
    /// Bit 0: the bytes are an LZ4 block. Other bits are reserved: a row with one set was
    /// written by a newer version and is not guessed at.
    var flags: Int64
    var rawLength: Int
    var crc: UInt32
    var bytes: [UInt8]

    static let lz4Flag: Int64 = 1
    static let knownFlags: Int64 = lz4Flag

    /// LZ4 never pays below this size (its minimum match and end-of-block literals eat it),
    /// so small updates skip the attempt.
    static let minCompressibleBytes = 24

    var isCompressed: Bool { flags & Self.lz4Flag != 0 }

    init(flags: Int64, rawLength: Int, crc: UInt32, bytes: [UInt8]) {
        self.flags = flags
        self.rawLength = rawLength
        self.crc = crc
        self.bytes = bytes
    }

    /// Compresses when that makes the bytes smaller, else keeps them raw.
    init(encoding raw: [UInt8]) {
        rawLength = raw.count
        crc = CRC32.checksum(raw)
        if raw.count >= Self.minCompressibleBytes, let block = LZ4Block.compress(raw) {
            flags = Self.lz4Flag
            bytes = block
        } else {
            flags = 0
            bytes = raw
        }
    }

    /// The raw bytes, after checking flags, length and checksum.
    func decoded() throws(PayloadError) -> [UInt8] {
        if flags & ~Self.knownFlags != 0 { throw .unknownFlags(flags) }
        let raw: [UInt8]
        if isCompressed {
            do { raw = try LZ4Block.decompress(bytes, rawLength: rawLength) } catch { throw .lz4(error) }
        } else {
            guard bytes.count == rawLength else { throw .lengthMismatch(stored: bytes.count, rawLength: rawLength) }
            raw = bytes
        }
        let actual = CRC32.checksum(raw)
        if actual != crc { throw .checksum(stored: crc, computed: actual) }
        return raw
    }
}

/// Why a stored payload could not be read back.
enum PayloadError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownFlags(Int64)
    case lz4(LZ4BlockError)
    case lengthMismatch(stored: Int, rawLength: Int)
    case checksum(stored: UInt32, computed: UInt32)

    var description: String {
        switch self {
        case let .unknownFlags(f): return "unknown flags 0x\(String(f, radix: 16)) (written by a newer version?)"
        case let .lz4(e): return e.description
        case let .lengthMismatch(stored, raw): return "\(stored) bytes stored uncompressed but raw length is \(raw)"
        case let .checksum(stored, computed):
            return "CRC-32 mismatch: stored \(hex32(stored)), computed \(hex32(computed))"
        }
    }
}

func hex32(_ x: UInt32) -> String {
    let s = String(x, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}
