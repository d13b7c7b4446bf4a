/// Appends lib0 primitives to a byte buffer (the encoding Yjs uses everywhere).
public struct Lib0Writer: Sendable {
    /// Everything written so far.
    public private(set) var bytes: [UInt8]

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Bytes written so far.
    @inlinable public var count: Int { bytes.count }

    /// One byte.
    @inline(__always)
    public mutating func writeU8(_ b: UInt8) { bytes.append(b) }

    /// Appends `n` zero bytes (space that `UnsafeSink` then fills), by bulk copies from a zero page.
    mutating func appendZeros(_ n: Int) {
        var left = n
        Self.zeroPage.withUnsafeBufferPointer { zeros in
            while left > 0 {
                let k = min(left, zeros.count)
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: zeros[..<k]))
                left -= k
            }
        }
    }

    private static let zeroPage = [UInt8](repeating: 0, count: 4096)

    mutating func withUnsafeMutableBytes(_ body: (UnsafeMutableBufferPointer<UInt8>) -> Void) {
        bytes.withUnsafeMutableBufferPointer { body($0) }
    }

    /// Removes the last `n` bytes.
    mutating func dropLast(_ n: Int) {
        if n > 0 { bytes.removeLast(n) }
    }

    /// Bytes as they are, without a length.
    public mutating func writeRaw<S: Sequence>(_ raw: S) where S.Element == UInt8 { bytes.append(contentsOf: raw) }

    /// Unsigned LEB128: 7 bits per byte, least significant first.
    @inline(__always)
    public mutating func writeVarUInt(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Unsigned LEB128 of a 32-bit value.
    @inline(__always)
    public mutating func writeVarUInt(_ value: UInt32) { writeVarUInt(UInt64(value)) }

    /// Unsigned LEB128 of an `Int`, which must not be negative (the conversion traps).
    @inline(__always)
    public mutating func writeVarUInt(_ value: Int) { writeVarUInt(UInt64(value)) }

    /// lib0 var-int: sign-magnitude, bit 0x40 of the first byte is the sign. `negative`
    /// lets callers write -0, which lib0's RLE codings use as a marker.
    public mutating func writeVarInt(_ value: Int64, negativeZero: Bool = false) {
        let negative = value < 0 || (value == 0 && negativeZero)
        var magnitude = value.magnitude
        var first = UInt8(magnitude & 0x3F)
        if negative { first |= 0x40 }
        magnitude >>= 6
        if magnitude > 0 { first |= 0x80 }
        bytes.append(first)
        while magnitude > 0 {
            var b = UInt8(magnitude & 0x7F)
            magnitude >>= 7
            if magnitude > 0 { b |= 0x80 }
            bytes.append(b)
        }
    }

    /// var-string: byte length then UTF-8.
    public mutating func writeString(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            writeVarUInt(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Writes UTF-16 code units as a var-string. An unpaired surrogate becomes U+FFFD,
    /// exactly as JavaScript's TextEncoder does.
    public mutating func writeUTF16String<C: Collection>(_ units: C) where C.Element == UInt16 {
        // Fast path: ASCII only, the UTF-8 length equals the UTF-16 length.
        if units.allSatisfy({ $0 < 0x80 }) {
            writeVarUInt(UInt64(units.count))
            for u in units { bytes.append(UInt8(truncatingIfNeeded: u)) }
            return
        }
        var utf8: [UInt8] = []
        utf8.reserveCapacity(units.count * 3)
        UTF16Transcoding.appendUTF8(units, to: &utf8)
        writeVarUInt(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// `writeUTF16String` for contiguous units (the document's text buffer): ASCII runs are
    /// narrowed in bulk instead of appended byte by byte.
    public mutating func writeUTF16String(_ units: UnsafeBufferPointer<UInt16>) {
        var ascii = true
        for u in units where u >= 0x80 {
            ascii = false
            break
        }
        guard ascii else {
            var utf8: [UInt8] = []
            utf8.reserveCapacity(units.count * 3)
            UTF16Transcoding.appendUTF8(units, to: &utf8)
            writeVarUInt(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
            return
        }
        let n = units.count
        writeVarUInt(UInt64(n))
        if n <= 24 {
            for u in units { bytes.append(UInt8(truncatingIfNeeded: u)) }
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n) { tmp in
            for k in 0..<n { tmp[k] = UInt8(truncatingIfNeeded: units[k]) }
            bytes.append(contentsOf: UnsafeBufferPointer(tmp))
        }
    }

    /// var-uint8array: length then the bytes.
    public mutating func writeBytes<C: Collection>(_ b: C) where C.Element == UInt8 {
        writeVarUInt(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    /// 4 bytes, big-endian IEEE 754 (lib0 `writeFloat32`).
    public mutating func writeFloat32(_ f: Float) {
        let bits = f.bitPattern.bigEndian
        withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
    }

    /// 8 bytes, big-endian IEEE 754 (lib0 `writeFloat64`).
    public mutating func writeFloat64(_ d: Double) {
        let bits = d.bitPattern.bigEndian
        withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
    }

    /// 8 bytes, big-endian two's complement (lib0 `writeBigInt64`).
    public mutating func writeBigInt64(_ i: Int64) {
        let bits = i.bigEndian
        withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
    }
}

/// UTF-16 <-> UTF-8 with the JavaScript rules (lone surrogates become U+FFFD).
public enum UTF16Transcoding {
    /// Appends UTF-16 code units to `out` as UTF-8; a lone surrogate becomes U+FFFD.
    public static func appendUTF8<C: Collection>(_ units: C, to out: inout [UInt8]) where C.Element == UInt16 {
        var it = units.makeIterator()
        var pending: UInt16? = nil
        func emit(_ scalar: UInt32, _ out: inout [UInt8]) { appendUTF8(scalar: scalar, to: &out) }
        while true {
            let u: UInt16
            if let p = pending { u = p; pending = nil } else if let n = it.next() { u = n } else { break }
            if u & 0xFC00 == 0xD800 {
                if let next = it.next() {
                    if next & 0xFC00 == 0xDC00 {
                        let scalar = 0x10000 + ((UInt32(u) - 0xD800) << 10) + (UInt32(next) - 0xDC00)
                        emit(scalar, &out)
                    } else {
                        emit(0xFFFD, &out)
                        pending = next
                    }
                } else {
                    emit(0xFFFD, &out)
                }
            } else if u & 0xFC00 == 0xDC00 {
                emit(0xFFFD, &out)
            } else {
                emit(UInt32(u), &out)
            }
        }
    }

    /// Strict UTF-8 validation, appending the UTF-16 units to `out`; returns the number of units
    /// appended, or nil (with `out` unchanged) when the bytes are not valid UTF-8.
    public static func appendUTF16(fromUTF8 bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt16]) -> Int? {
        let start = out.count
        var i = 0
        let n = bytes.count
        // ASCII runs are the common case: copy them without decoding.
        while i < n && bytes[i] < 0x80 { i += 1 }
        if i == n {
            // Widen into scratch space, then one bulk append (amortized growth).
            withUnsafeTemporaryAllocation(of: UInt16.self, capacity: n) { tmp in
                for k in 0..<n { tmp[k] = UInt16(bytes[k]) }
                out.append(contentsOf: UnsafeBufferPointer(tmp))
            }
            return n
        }
        guard let rest = utf16(fromUTF8: bytes) else { return nil }
        out.append(contentsOf: rest)
        return out.count - start
    }

    /// Strict UTF-8 validation and conversion to UTF-16 units; nil when invalid (lib0 throws).
    public static func utf16(fromUTF8 bytes: UnsafeBufferPointer<UInt8>) -> [UInt16]? {
        var out: [UInt16] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 { out.append(UInt16(b0)); i += 1; continue }
            var scalar: UInt32
            var need: Int
            var minValue: UInt32
            if b0 & 0xE0 == 0xC0 { scalar = UInt32(b0 & 0x1F); need = 1; minValue = 0x80 }
            else if b0 & 0xF0 == 0xE0 { scalar = UInt32(b0 & 0x0F); need = 2; minValue = 0x800 }
            else if b0 & 0xF8 == 0xF0 { scalar = UInt32(b0 & 0x07); need = 3; minValue = 0x10000 }
            else { return nil }
            if i + need >= n { return nil }
            for k in 1...need {
                let b = bytes[i + k]
                if b & 0xC0 != 0x80 { return nil }
                scalar = (scalar << 6) | UInt32(b & 0x3F)
            }
            if scalar < minValue || scalar > 0x10FFFF || (scalar >= 0xD800 && scalar <= 0xDFFF) { return nil }
            if scalar >= 0x10000 {
                let v = scalar - 0x10000
                out.append(UInt16(0xD800 + (v >> 10)))
                out.append(UInt16(0xDC00 + (v & 0x3FF)))
            } else {
                out.append(UInt16(scalar))
            }
            i += need + 1
        }
        return out
    }
}
