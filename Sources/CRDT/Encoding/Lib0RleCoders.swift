// lib0's run-length codings, as update v2 uses them for its columns (spec 8.2): `RleEncoder` of
// bytes, `UintOptRleEncoder`, `IntDiffOptRleEncoder` and the `StringEncoder` column. Written from
// the spec and lib0's documented behaviour; every reader is bounds-checked and throws.

/// lib0 `RleEncoder` over bytes: a value byte whenever the value changes, preceded by the
/// previous run's length minus one; the last run's length is not written.
struct RleByteEncoder {
    private(set) var writer = Lib0Writer(capacity: 16)
    private var current: UInt8? = nil
    private var count = 0

    mutating func write(_ v: UInt8) {
        if current == v {
            count += 1
        } else {
            if count > 0 { writer.writeVarUInt(count - 1) }
            count = 1
            writer.writeU8(v)
            current = v
        }
    }

    var bytes: [UInt8] { writer.bytes }
}

/// lib0 `UintOptRleEncoder`: a run of length 1 is `vi(v)`; a longer run `vi(-v)` (−0 for zero)
/// then `vu(length - 2)`.
struct UintOptRleEncoder {
    private var writer = Lib0Writer(capacity: 16)
    private var current: UInt64 = 0
    private var count = 0

    mutating func write(_ v: UInt64) {
        if current == v && count > 0 {
            count += 1
        } else {
            flush()
            count = 1
            current = v
        }
    }

    private mutating func flush() {
        guard count > 0 else { return }
        let magnitude = Int64(truncatingIfNeeded: current)
        if count == 1 {
            writer.writeVarInt(magnitude)
        } else {
            writer.writeVarInt(-magnitude, negativeZero: true)
            writer.writeVarUInt(count - 2)
        }
    }

    /// The column bytes (flushes the open run).
    mutating func finish() -> [UInt8] {
        flush()
        count = 0
        return writer.bytes
    }
}

/// lib0 `IntDiffOptRleEncoder`: runs of equal differences to the previous value, each as
/// `vi(2·diff + hasCount)` and, for runs longer than one, `vu(length - 2)`.
struct IntDiffOptRleEncoder {
    private var writer = Lib0Writer(capacity: 16)
    private var last: Int64 = 0
    private var diff: Int64 = 0
    private var count = 0

    mutating func write(_ v: Int64) {
        if count > 0 && diff == v &- last {
            last = v
            count += 1
        } else {
            flush()
            count = 1
            diff = v &- last
            last = v
        }
    }

    private mutating func flush() {
        guard count > 0 else { return }
        writer.writeVarInt(diff &* 2 &+ (count == 1 ? 0 : 1))
        if count > 1 { writer.writeVarUInt(count - 2) }
    }

    /// The column bytes (flushes the open run).
    mutating func finish() -> [UInt8] {
        flush()
        count = 0
        return writer.bytes
    }
}

/// lib0 `StringEncoder`: all strings as one var-string (their UTF-16 units concatenated, so a
/// surrogate pair split over two strings is written whole and a lone surrogate as U+FFFD),
/// followed by the UTF-16 length of each string as a `UintOptRleEncoder`.
struct StringColumnEncoder {
    private var units: [UInt16] = []
    private var lengths = UintOptRleEncoder()

    mutating func write<C: Collection>(units s: C) where C.Element == UInt16 {
        units.append(contentsOf: s)
        lengths.write(UInt64(s.count))
    }

    mutating func write(_ s: String) { write(units: s.utf16) }

    mutating func finish() -> [UInt8] {
        var w = Lib0Writer(capacity: units.count + 16)
        w.writeUTF16String(units)
        w.writeRaw(lengths.finish())
        return w.bytes
    }
}

// MARK: - Decoders

/// Reads a `RleByteEncoder` column; past the last run the last value repeats forever (as lib0),
/// an empty column throws on the first read.
struct RleByteDecoder {
    private var reader: Lib0Reader
    private var current: UInt8 = 0
    /// Reads left in the current run; -1 = the last run, repeated forever.
    private var count = 0
    private let what: String

    init(_ bytes: [UInt8], what: String) {
        reader = Lib0Reader(bytes)
        self.what = what
    }

    mutating func read() throws(DecodingError) -> UInt8 {
        if count == 0 {
            current = try reader.readU8(what)
            if reader.isAtEnd {
                count = -1
            } else {
                count = Int(try reader.readVarUInt(what)) + 1
            }
        }
        if count > 0 { count -= 1 }
        return current
    }
}

/// Reads a `UintOptRleEncoder` column; reading past its end throws.
struct UintOptRleDecoder {
    private var reader: Lib0Reader
    private var current: UInt64 = 0
    private var count = 0
    private let what: String

    init(_ bytes: [UInt8], what: String) {
        reader = Lib0Reader(bytes)
        self.what = what
    }

    /// Whether every value was read (no run left open and no bytes left).
    var isExhausted: Bool { count == 0 && reader.isAtEnd }

    mutating func read() throws(DecodingError) -> UInt64 {
        if count == 0 {
            let (value, negative) = try reader.readVarIntWithSign(what)
            current = value.magnitude
            count = 1
            if negative { count = Int(try reader.readVarUInt(what)) + 2 }
        }
        count -= 1
        return current
    }

    /// Starts reading at `offset` of `bytes` (the length part of a string column).
    init(_ bytes: [UInt8], offset: Int, what: String) {
        reader = Lib0Reader(bytes, offset: offset)
        self.what = what
    }
}

/// Reads an `IntDiffOptRleEncoder` column; reading past its end throws.
struct IntDiffOptRleDecoder {
    private var reader: Lib0Reader
    private var last: Int64 = 0
    private var diff: Int64 = 0
    private var count = 0
    private let what: String

    init(_ bytes: [UInt8], what: String) {
        reader = Lib0Reader(bytes)
        self.what = what
    }

    mutating func read() throws(DecodingError) -> Int64 {
        if count == 0 {
            let v = try reader.readVarInt(what)
            diff = v >> 1
            count = 1
            if v & 1 != 0 { count = Int(try reader.readVarUInt(what)) + 2 }
        }
        let (next, overflow) = last.addingReportingOverflow(diff)
        guard !overflow else { throw .integerOverflow(what: what, offset: reader.offset) }
        last = next
        count -= 1
        return last
    }

    /// The next value as a clock (0...UInt32.max), else `.integerOverflow`.
    mutating func readClock() throws(DecodingError) -> Clock {
        let v = try read()
        guard v >= 0, v <= Int64(Clock.max) else { throw .integerOverflow(what: what, offset: reader.offset) }
        return Clock(v)
    }
}

/// Reads a `StringColumnEncoder` column: the big string as UTF-16 units, sliced by the lengths.
struct StringColumnDecoder {
    private let units: [UInt16]
    private var position = 0
    private var lengths: UintOptRleDecoder

    init(_ bytes: [UInt8]) throws(DecodingError) {
        var r = Lib0Reader(bytes)
        units = try r.readUTF16String("string column")
        lengths = UintOptRleDecoder(bytes, offset: r.offset, what: "string column lengths")
    }

    /// UTF-16 units not yet handed out.
    var remainingUnits: Int { units.count - position }

    mutating func readUnits() throws(DecodingError) -> ArraySlice<UInt16> {
        let n = try lengths.read()
        guard n <= UInt64(units.count - position) else {
            throw .lengthTooLarge(what: "string in string column", length: n, offset: position)
        }
        let s = units[position..<position + Int(n)]
        position += Int(n)
        return s
    }

    /// The next string (a lone surrogate reads as U+FFFD).
    mutating func read() throws(DecodingError) -> String {
        String(decoding: try readUnits(), as: UTF16.self)
    }
}
