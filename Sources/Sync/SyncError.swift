import CRDT

/// Everything that can go wrong in the sync layer. Decoding hostile bytes throws one of these; it
/// never traps and never changes state.
public enum SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A frame with no bytes at all.
    case emptyFrame
    /// The frame ended while `what` was being read.
    case truncated(what: String, offset: Int)
    /// A declared length larger than what is left of the frame.
    case lengthTooLarge(what: String, length: UInt64, offset: Int)
    /// A var-uint above lib0's 2^53-1 limit.
    case integerOverflow(what: String, offset: Int)
    /// Top-level message type outside 0...3.
    case unknownMessageType(UInt64)
    /// Sync sub-type outside 0...2.
    case unknownSyncMessageType(UInt64)
    /// Auth sub-type outside 0...1.
    case unknownAuthType(UInt64)
    /// Bytes left over after one complete message (use `SyncMessage.decodeAll` for batched frames).
    case trailingBytes(count: Int, offset: Int)
    /// A string that is not UTF-8.
    case invalidUTF8(offset: Int)
    /// The payload of a well-framed message does not decode (state vector, update).
    case invalidPayload(DecodingError)
    /// An awareness entry whose state is not JSON text.
    case invalidAwarenessJSON(client: ClientID, reason: String)
    /// File hand-over: an I/O failure, or a file that is not a valid hand-over file.
    case io(path: String, reason: String)
    /// A hand-over file with a bad name, a hash that does not match, or content that does not decode.
    case badHandoverFile(path: String, reason: String)

    init(_ e: DecodingError) {
        switch e {
        case let .unexpectedEnd(what, offset): self = .truncated(what: what, offset: offset)
        case let .lengthTooLarge(what, length, offset): self = .lengthTooLarge(what: what, length: length, offset: offset)
        case let .integerOverflow(what, offset): self = .integerOverflow(what: what, offset: offset)
        case let .invalidUTF8(offset): self = .invalidUTF8(offset: offset)
        case let .trailingBytes(count, offset): self = .trailingBytes(count: count, offset: offset)
        default: self = .invalidPayload(e)
        }
    }

    /// One line for a person, with the byte offset where there is one.
    public var description: String {
        switch self {
        case .emptyFrame: return "empty frame"
        case let .truncated(what, offset): return "frame ends while reading \(what) at byte \(offset)"
        case let .lengthTooLarge(what, length, offset): return "\(what) of \(length) bytes exceeds the frame at byte \(offset)"
        case let .integerOverflow(what, offset): return "integer too large for \(what) at byte \(offset)"
        case let .unknownMessageType(t): return "unknown message type \(t)"
        case let .unknownSyncMessageType(t): return "unknown sync message type \(t)"
        case let .unknownAuthType(t): return "unknown auth message type \(t)"
        case let .trailingBytes(count, offset): return "\(count) trailing bytes after the message at byte \(offset)"
        case let .invalidUTF8(offset): return "invalid UTF-8 at byte \(offset)"
        case let .invalidPayload(e): return "invalid payload: \(e)"
        case let .invalidAwarenessJSON(client, reason): return "awareness state of client \(client) is not JSON: \(reason)"
        case let .io(path, reason): return "\(path): \(reason)"
        case let .badHandoverFile(path, reason): return "\(path): not a valid hand-over file: \(reason)"
        }
    }
}
