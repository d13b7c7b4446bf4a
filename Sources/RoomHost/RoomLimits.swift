/// Limits every room enforces; a connection that breaks one is closed with the matching
/// `CloseCode` and a log line, and nothing it sent in the offending message is applied.
public struct RoomLimits: Sendable, Equatable {
    /// Largest WebSocket message accepted (enforced by the socket layer: `messageTooBig`).
    public var maxFrameBytes: Int = 16 << 20
    /// Largest document: an update is refused (`documentTooLarge`) when the room's encoded
    /// size estimate plus the update would exceed it.
    public var maxDocumentBytes: Int = 64 << 20
    /// Messages per second per connection (token bucket; `rateLimited`).
    public var messagesPerSecond: Double = 200
    /// Messages one connection may send at once before the rate applies (the bucket's size).
    public var messageBurst: Double = 400
    /// Frames queued for one connection before it is closed as too slow (`tooSlow`).
    public var maxQueuedFrames: Int = 10_000
    /// Connections per room, rooms per server (new ones are refused beyond).
    public var maxConnectionsPerRoom: Int = 1_000
    /// Rooms loaded at once on the server.
    public var maxRooms: Int = 10_000

    /// The defaults shown on each property.
    public init() {}
}
