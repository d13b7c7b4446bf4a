/// Where struct encoding writes: the checked `Lib0Writer` (a few bytes, e.g. a keystroke's
/// update) or the unchecked `UnsafeSink` (bulk encoding with a size bound).
protocol ByteSink {
    mutating func u8(_ b: UInt8)
    mutating func varUInt(_ value: UInt64)
    mutating func varUInt(_ value: UInt32)
    mutating func bytes(_ b: UnsafeBufferPointer<UInt8>)
    mutating func string(_ s: String)
    mutating func utf16String(_ units: UnsafeBufferPointer<UInt16>)
}

extension Lib0Writer: ByteSink {
    @inline(__always) mutating func u8(_ b: UInt8) { writeU8(b) }
    @inline(__always) mutating func varUInt(_ value: UInt64) { writeVarUInt(value) }
    @inline(__always) mutating func varUInt(_ value: UInt32) { writeVarUInt(value) }
    mutating func bytes(_ b: UnsafeBufferPointer<UInt8>) { writeRaw(b) }
    mutating func string(_ s: String) { writeString(s) }
    mutating func utf16String(_ units: UnsafeBufferPointer<UInt16>) { writeUTF16String(units) }
}

/// Writes lib0 primitives into memory reserved in advance: no capacity or uniqueness check per
/// byte. Used for the bulk of update encoding, where the size bound is computed first.
struct UnsafeSink: ByteSink {
    private(set) var position: UnsafeMutablePointer<UInt8>
    private let end: UnsafeMutablePointer<UInt8>

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        position = buffer.baseAddress!
        end = buffer.baseAddress! + buffer.count
    }

    @inline(__always) mutating func u8(_ b: UInt8) {
        assert(position < end, "UnsafeSink bound too small")
        position.pointee = b
        position += 1
    }

    @inline(__always) mutating func varUInt(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            u8(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        u8(UInt8(v))
    }

    @inline(__always) mutating func varUInt(_ value: UInt32) { varUInt(UInt64(value)) }

    mutating func bytes(_ b: UnsafeBufferPointer<UInt8>) {
        assert(position + b.count <= end, "UnsafeSink bound too small")
        guard let base = b.baseAddress, b.count > 0 else { return }
        position.update(from: base, count: b.count)
        position += b.count
    }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            varUInt(UInt64(utf8.count))
            bytes(utf8)
        }
    }

    /// UTF-16 units as a var-string; lone surrogates become U+FFFD (JavaScript's TextEncoder).
    mutating func utf16String(_ units: UnsafeBufferPointer<UInt16>) {
        var ascii = true
        for u in units where u >= 0x80 {
            ascii = false
            break
        }
        if ascii {
            varUInt(UInt64(units.count))
            for u in units { u8(UInt8(truncatingIfNeeded: u)) }
            return
        }
        var utf8: [UInt8] = []
        utf8.reserveCapacity(units.count * 3)
        UTF16Transcoding.appendUTF8(units, to: &utf8)
        varUInt(UInt64(utf8.count))
        utf8.withUnsafeBufferPointer { bytes($0) }
    }
}

extension Lib0Writer {
    /// Reserves `bound` bytes, lets `body` write at most that many through an `UnsafeSink`,
    /// and keeps what it wrote.
    mutating func withSink(bound: Int, _ body: (inout UnsafeSink) -> Void) {
        let start = count
        appendZeros(bound)
        var written = 0
        withUnsafeMutableBytes { all in
            let region = UnsafeMutableBufferPointer(rebasing: all[start..<start + bound])
            var sink = UnsafeSink(region)
            body(&sink)
            written = sink.position - region.baseAddress!
        }
        dropLast(bound - written)
    }
}
