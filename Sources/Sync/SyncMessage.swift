import CRDT

/// The y-protocols messages, byte for byte (wire spec §7). One message per transport frame.
///
/// | message           | bytes                       |
/// |-------------------|-----------------------------|
/// | sync step 1       | `00 00 vb(stateVector)`     |
/// | sync step 2       | `00 01 vb(update v1)`       |
/// | update            | `00 02 vb(update v1)`       |
/// | awareness         | `01 vb(awarenessUpdate)`    |
/// | auth denied       | `02 00 vs(reason)`          |
/// | auth granted      | `02 01` (yrs extension)     |
/// | query awareness   | `03`                        |
///
/// Payloads are kept as raw bytes (a state vector from yrs is in hash order; re-encoding it would
/// change the bytes). `decode` checks the framing only; the session decodes payloads.
public enum SyncMessage: Equatable, Sendable {
    /// Sync step 1: the sender's encoded state vector, asking for what it lacks.
    case syncStep1(stateVector: [UInt8])
    /// Sync step 2: an update v1 answering a step 1.
    case syncStep2(update: [UInt8])
    /// An update v1 sent after the handshake.
    case update([UInt8])
    /// An encoded awareness update (see `Awareness`).
    case awareness([UInt8])
    /// Access refused, with a reason for a person.
    case authDenied(reason: String)
    /// Access granted (a yrs extension).
    case authGranted
    /// A request for every awareness state the receiver knows.
    case queryAwareness

    /// The tag bytes of the wire format.
    public enum Tag {
        /// First byte: the message type.
        public static let sync: UInt8 = 0, awareness: UInt8 = 1, auth: UInt8 = 2, queryAwareness: UInt8 = 3
        /// Second byte of a sync message.
        public static let step1: UInt8 = 0, step2: UInt8 = 1, update: UInt8 = 2
        /// Second byte of an auth message.
        public static let denied: UInt8 = 0, granted: UInt8 = 1
    }

    /// Step 1 carrying an encoded state vector.
    public static func syncStep1(_ sv: StateVector) -> SyncMessage { .syncStep1(stateVector: sv.encoded()) }

    /// The message's bytes, ready to send as one frame.
    public func encoded() -> [UInt8] {
        var w = Lib0Writer(capacity: 8 + payloadCount)
        switch self {
        case let .syncStep1(sv):
            w.writeU8(Tag.sync); w.writeU8(Tag.step1); w.writeBytes(sv)
        case let .syncStep2(u):
            w.writeU8(Tag.sync); w.writeU8(Tag.step2); w.writeBytes(u)
        case let .update(u):
            w.writeU8(Tag.sync); w.writeU8(Tag.update); w.writeBytes(u)
        case let .awareness(a):
            w.writeU8(Tag.awareness); w.writeBytes(a)
        case let .authDenied(reason):
            w.writeU8(Tag.auth); w.writeU8(Tag.denied); w.writeString(reason)
        case .authGranted:
            w.writeU8(Tag.auth); w.writeU8(Tag.granted)
        case .queryAwareness:
            w.writeU8(Tag.queryAwareness)
        }
        return w.bytes
    }

    private var payloadCount: Int {
        switch self {
        case let .syncStep1(b), let .syncStep2(b), let .update(b), let .awareness(b): return b.count
        case let .authDenied(r): return r.utf8.count
        case .authGranted, .queryAwareness: return 0
        }
    }

    /// Decodes exactly one message filling the whole frame.
    public static func decode(_ frame: [UInt8]) throws(SyncError) -> SyncMessage {
        guard !frame.isEmpty else { throw .emptyFrame }
        var r = Lib0Reader(frame)
        let m = try read(from: &r)
        guard r.isAtEnd else { throw .trailingBytes(count: r.remaining, offset: r.offset) }
        return m
    }

    /// Decodes every message of a frame that holds several back to back (yrs and the y-websocket
    /// 4 client accept such frames; we always send one message per frame).
    public static func decodeAll(_ frame: [UInt8]) throws(SyncError) -> [SyncMessage] {
        guard !frame.isEmpty else { throw .emptyFrame }
        var r = Lib0Reader(frame)
        var out: [SyncMessage] = []
        while !r.isAtEnd { out.append(try read(from: &r)) }
        return out
    }

    /// Reads one message at the reader's position.
    public static func read(from r: inout Lib0Reader) throws(SyncError) -> SyncMessage {
        do {
            let type = try r.readVarUInt("message type")
            switch type {
            case UInt64(Tag.sync):
                let sub = try r.readVarUInt("sync message type")
                switch sub {
                case UInt64(Tag.step1): return .syncStep1(stateVector: try r.readBytes("state vector"))
                case UInt64(Tag.step2): return .syncStep2(update: try r.readBytes("update"))
                case UInt64(Tag.update): return .update(try r.readBytes("update"))
                default: throw SyncError.unknownSyncMessageType(sub)
                }
            case UInt64(Tag.awareness):
                return .awareness(try r.readBytes("awareness update"))
            case UInt64(Tag.auth):
                let sub = try r.readVarUInt("auth message type")
                switch sub {
                case UInt64(Tag.denied): return .authDenied(reason: try r.readString("auth reason"))
                case UInt64(Tag.granted): return .authGranted
                default: throw SyncError.unknownAuthType(sub)
                }
            case UInt64(Tag.queryAwareness):
                return .queryAwareness
            default:
                throw SyncError.unknownMessageType(type)
            }
        } catch let e as DecodingError {
            throw SyncError(e)
        } catch let e as SyncError {
            throw e
        } catch {
            throw SyncError.invalidPayload(.malformed("\(error)", offset: r.offset))
        }
    }
}
