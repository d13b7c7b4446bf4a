/// Everything that can go wrong when reading bytes written by someone else.
/// Decoding never traps on bad input: it throws one of these and leaves state unchanged.
public enum DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended while `what` was being read.
    case unexpectedEnd(what: String, offset: Int)
    /// A var-uint longer than 2^53-1 (lib0's limit) or a clock/length past UInt32.
    case integerOverflow(what: String, offset: Int)
    /// A string that is not valid UTF-8 (lib0 decodes with `fatal: true`).
    case invalidUTF8(offset: Int)
    /// An `any` tag outside 116...127.
    case unknownAnyTag(UInt8, offset: Int)
    /// A struct/content ref outside 0...10.
    case unknownContentRef(UInt8, offset: Int)
    /// A type ref Yjs cannot read (7, 9, 15 are yrs-only).
    case unknownTypeRef(UInt64, offset: Int)
    /// A declared count/length larger than the remaining input could possibly hold.
    case lengthTooLarge(what: String, length: UInt64, offset: Int)
    /// Nesting of `any` values deeper than we accept.
    case nestingTooDeep(offset: Int)
    /// Anything else structurally wrong, with a reason.
    case malformed(String, offset: Int)
    /// Bytes left over after a complete message/update.
    case trailingBytes(count: Int, offset: Int)

    /// One line for a person, with the byte offset.
    public var description: String {
        switch self {
        case let .unexpectedEnd(what, offset): return "unexpected end of input while reading \(what) at byte \(offset)"
        case let .integerOverflow(what, offset): return "integer too large for \(what) at byte \(offset)"
        case let .invalidUTF8(offset): return "invalid UTF-8 in string at byte \(offset)"
        case let .unknownAnyTag(tag, offset): return "unknown any-value tag \(tag) at byte \(offset)"
        case let .unknownContentRef(ref, offset): return "unknown content ref \(ref) at byte \(offset)"
        case let .unknownTypeRef(ref, offset): return "unknown type ref \(ref) at byte \(offset)"
        case let .lengthTooLarge(what, length, offset): return "\(what) of \(length) exceeds the remaining input at byte \(offset)"
        case let .nestingTooDeep(offset): return "values nested too deeply at byte \(offset)"
        case let .malformed(reason, offset): return "malformed update at byte \(offset): \(reason)"
        case let .trailingBytes(count, offset): return "\(count) unexpected trailing bytes at byte \(offset)"
        }
    }
}
