/// Reads lib0 primitives from a byte buffer. Every read is bounds-checked and throws a
/// `DecodingError`; nothing here traps on hostile input.
public struct Lib0Reader {
    /// The whole input.
    public let bytes: [UInt8]
    /// Index of the next byte to read.
    public private(set) var offset: Int

    /// lib0 refuses var-uints above Number.MAX_SAFE_INTEGER.
    public static let maxSafeInteger: UInt64 = (1 << 53) - 1

    /// A reader of `bytes`, starting at `offset`.
    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Bytes left after `offset`.
    /// Nothing left to read.
    @inlinable public var remaining: Int { bytes.count - offset }
    @inlinable public var isAtEnd: Bool { offset >= bytes.count }

    /// One byte. `what` names the field in the error (`.unexpectedEnd`).
    @inline(__always)
    public mutating func readU8(_ what: String = "byte") throws(DecodingError) -> UInt8 {
        guard offset < bytes.count else { throw .unexpectedEnd(what: what, offset: offset) }
        let b = bytes[offset]
        offset += 1
        return b
    }

    /// Unsigned LEB128. Throws `.integerOverflow` above 2^53 - 1 (as lib0 does) and `.unexpectedEnd`
    /// when the input stops inside it.
    @inline(__always)
    public mutating func readVarUInt(_ what: String = "var-uint") throws(DecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            guard offset < bytes.count else { throw .unexpectedEnd(what: what, offset: offset) }
            let b = bytes[offset]
            offset += 1
            if shift < 63 { result |= UInt64(b & 0x7F) << shift }
            else if b & 0x7F != 0 { throw .integerOverflow(what: what, offset: start) }
            if b < 0x80 { break }
            shift += 7
            if shift > 70 { throw .integerOverflow(what: what, offset: start) }
        }
        guard result <= Self.maxSafeInteger else { throw .integerOverflow(what: what, offset: start) }
        return result
    }

    /// A var-uint that must fit a clock or a length (UInt32).
    @inline(__always)
    public mutating func readClock(_ what: String = "clock") throws(DecodingError) -> Clock {
        let start = offset
        let v = try readVarUInt(what)
        guard v <= UInt64(Clock.max) else { throw .integerOverflow(what: what, offset: start) }
        return Clock(v)
    }

    /// A count of elements that follow; each element takes at least `minBytesEach` bytes, so a
    /// count larger than the rest of the input is rejected before anything is allocated.
    public mutating func readCount(_ what: String, minBytesEach: Int = 1) throws(DecodingError) -> Int {
        let start = offset
        let v = try readVarUInt(what)
        guard v <= UInt64(remaining / max(minBytesEach, 1)) else {
            throw .lengthTooLarge(what: what, length: v, offset: start)
        }
        return Int(v)
    }

    /// lib0 var-int. Returns the value and whether the sign bit was set (to tell -0 from 0).
    public mutating func readVarIntWithSign(_ what: String = "var-int") throws(DecodingError) -> (value: Int64, negative: Bool) {
        let start = offset
        let first = try readU8(what)
        var magnitude = UInt64(first & 0x3F)
        let negative = first & 0x40 != 0
        var shift: UInt64 = 6
        var b = first
        while b & 0x80 != 0 {
            b = try readU8(what)
            if shift >= 63 {
                if b & 0x7F != 0 { throw .integerOverflow(what: what, offset: start) }
            } else {
                let chunk = UInt64(b & 0x7F)
                if shift > 56 && chunk >> (63 - shift) != 0 { throw .integerOverflow(what: what, offset: start) }
                magnitude |= chunk << shift
            }
            shift += 7
            if shift > 70 { throw .integerOverflow(what: what, offset: start) }
        }
        guard magnitude <= UInt64(Int64.max) else { throw .integerOverflow(what: what, offset: start) }
        let v = Int64(magnitude)
        return (negative ? -v : v, negative)
    }

    /// lib0 var-int (sign-magnitude); -0 reads as 0 (see `readVarIntWithSign`).
    public mutating func readVarInt(_ what: String = "var-int") throws(DecodingError) -> Int64 {
        try readVarIntWithSign(what).value
    }

    /// Raw bytes, bounds-checked.
    public mutating func readRaw(_ count: Int, _ what: String = "bytes") throws(DecodingError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw .lengthTooLarge(what: what, length: UInt64(max(count, 0)), offset: offset)
        }
        let slice = bytes[offset..<offset + count]
        offset += count
        return slice
    }

    /// var-uint8array.
    public mutating func readBytes(_ what: String = "byte array") throws(DecodingError) -> [UInt8] {
        let start = offset
        let n = try readVarUInt(what)
        guard n <= UInt64(remaining) else { throw .lengthTooLarge(what: what, length: n, offset: start) }
        return Array(try readRaw(Int(n), what))
    }

    /// var-string, strictly validated UTF-8 (lib0 uses a fatal TextDecoder). A BOM is kept.
    public mutating func readString(_ what: String = "string") throws(DecodingError) -> String {
        let start = offset
        let n = try readVarUInt(what)
        guard n <= UInt64(remaining) else { throw .lengthTooLarge(what: what, length: n, offset: start) }
        let count = Int(n)
        let s: String? = bytes.withUnsafeBufferPointer { buf in
            let slice = UnsafeBufferPointer(rebasing: buf[offset..<offset + count])
            return String(validating: slice, as: UTF8.self)
        }
        guard let s else { throw .invalidUTF8(offset: offset) }
        offset += count
        return s
    }

    /// var-string decoded straight to UTF-16 code units.
    public mutating func readUTF16String(_ what: String = "string") throws(DecodingError) -> [UInt16] {
        let start = offset
        let n = try readVarUInt(what)
        guard n <= UInt64(remaining) else { throw .lengthTooLarge(what: what, length: n, offset: start) }
        let count = Int(n)
        let units: [UInt16]? = bytes.withUnsafeBufferPointer { buf in
            UTF16Transcoding.utf16(fromUTF8: UnsafeBufferPointer(rebasing: buf[offset..<offset + count]))
        }
        guard let units else { throw .invalidUTF8(offset: offset) }
        offset += count
        return units
    }

    /// 4 bytes, big-endian IEEE 754.
    public mutating func readFloat32() throws(DecodingError) -> Float {
        guard remaining >= 4 else { throw .unexpectedEnd(what: "float32", offset: offset) }
        let raw = try readRaw(4, "float32")
        var bits: UInt32 = 0
        for b in raw { bits = bits << 8 | UInt32(b) }
        return Float(bitPattern: bits)
    }

    /// 8 bytes, big-endian IEEE 754.
    public mutating func readFloat64() throws(DecodingError) -> Double {
        guard remaining >= 8 else { throw .unexpectedEnd(what: "float64", offset: offset) }
        let raw = try readRaw(8, "float64")
        var bits: UInt64 = 0
        for b in raw { bits = bits << 8 | UInt64(b) }
        return Double(bitPattern: bits)
    }

    /// 8 bytes, big-endian two's complement.
    public mutating func readBigInt64() throws(DecodingError) -> Int64 {
        guard remaining >= 8 else { throw .unexpectedEnd(what: "bigint64", offset: offset) }
        let raw = try readRaw(8, "bigint64")
        var bits: UInt64 = 0
        for b in raw { bits = bits << 8 | UInt64(b) }
        return Int64(bitPattern: bits)
    }
}
