/// WebSocket close codes a replica closes a peer with (RFC 6455 §7.4, plus 4000-4999 private ones).
public struct CloseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The close code as sent in the WebSocket close frame.
    public let rawValue: UInt16
    /// Any close code, including ones not named here.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// A normal close.
    public static let normal = CloseCode(rawValue: 1000)
    /// Server shutdown or room eviction.
    public static let goingAway = CloseCode(rawValue: 1001)
    /// A frame that is not a y-protocols message, or whose payload does not decode.
    public static let invalidPayload = CloseCode(rawValue: 1007)
    /// Authentication or authorisation failed.
    public static let policyViolation = CloseCode(rawValue: 1008)
    /// A frame over the configured maximum frame size.
    public static let messageTooBig = CloseCode(rawValue: 1009)
    /// The replica failed on its side (e.g. the journal could not be written).
    public static let internalError = CloseCode(rawValue: 1011)
    /// The room is full, or the server is at its room limit.
    public static let tryAgainLater = CloseCode(rawValue: 1013)
    /// The connection does not read what it is sent (its outbox overflowed).
    public static let tooSlow = CloseCode(rawValue: 4008)
    /// An update would make the document larger than the configured maximum.
    public static let documentTooLarge = CloseCode(rawValue: 4013)
    /// More messages per second than allowed.
    public static let rateLimited = CloseCode(rawValue: 4029)
    /// An awareness message over a limit: too many client ids from one connection, a state too
    /// large, or the room's awareness full (4000 + HTTP 431, fields too large).
    public static let awarenessTooLarge = CloseCode(rawValue: 4031)

    /// The code and its name, e.g. "1008 policy violation" (only the number for unnamed codes).
    public var description: String {
        switch self {
        case .normal: "1000 normal"
        case .goingAway: "1001 going away"
        case .invalidPayload: "1007 invalid payload"
        case .policyViolation: "1008 policy violation"
        case .messageTooBig: "1009 message too big"
        case .internalError: "1011 internal error"
        case .tryAgainLater: "1013 try again later"
        case .tooSlow: "4008 too slow"
        case .documentTooLarge: "4013 document too large"
        case .rateLimited: "4029 rate limited"
        case .awarenessTooLarge: "4031 awareness too large"
        default: String(rawValue)
        }
    }
}
