import Sync

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
    /// Bytes queued for one connection before it is closed as too slow (`tooSlow`). Nil: the
    /// largest document plus one frame, since a client joining a full room is sent the whole
    /// document at once and must be able to read it (see `queuedBytesLimit`).
    public var maxQueuedBytes: Int?
    /// Bytes queued for all connections of the server together. Beyond it, a connection that
    /// holds more than its share (this divided by the connections with a queue) is closed as
    /// too slow: non-readers cannot take the server's memory, a reader's few frames stay.
    public var maxQueuedBytesTotal: Int = 512 << 20
    /// HTTP broadcasts (`POST /parties/<party>/ROOM`) per second per room (token bucket; over it
    /// the request is answered 429 and nothing is sent).
    public var broadcastsPerSecond: Double = 20
    /// Broadcasts one room may take at once before `broadcastsPerSecond` applies.
    public var broadcastBurst: Double = 40
    /// Bytes of HTTP broadcasts per second per room (each is queued once per connection, so
    /// this is what one caller can push into a room's queues; the seed's broadcasts are small
    /// JSON notices). The bucket holds twice this, and at least `maxFrameBytes`, so the largest
    /// broadcast can pass after a quiet spell.
    public var broadcastBytesPerSecond: Int = 1 << 20
    /// Bytes of unfinished y-partykit chunked messages held by all connections of the server
    /// together (each one is bounded by `maxFrameBytes`); a part that would pass it closes its
    /// connection with `tryAgainLater` (1013).
    public var maxChunkedBytesTotal: Int = 128 << 20
    /// Connections per room, rooms per server (new ones are refused beyond).
    public var maxConnectionsPerRoom: Int = 1_000
    /// Rooms loaded at once on the server.
    public var maxRooms: Int = 10_000
    /// Awareness client ids one connection may control (y-protocols clients announce one,
    /// sometimes a few); more closes it (`awarenessTooLarge`).
    public var maxAwarenessClientsPerConnection: Int = 8
    /// Bytes of one awareness state (apps send a few hundred: name, colour, cursor).
    public var maxAwarenessStateBytes: Int = 32 << 10
    /// Awareness states in one room (each connection has one or a few).
    public var maxAwarenessStates: Int = 2_000
    /// Bytes of all awareness states of one room together.
    public var maxAwarenessBytes: Int = 4 << 20

    /// The defaults shown on each property.
    public init() {}

    /// `maxQueuedBytes`, or its default: `maxDocumentBytes + maxFrameBytes`.
    public var queuedBytesLimit: Int { maxQueuedBytes ?? maxDocumentBytes + maxFrameBytes }

    /// The awareness limits of one room (clocks of gone clients: twice the states, 2 minutes).
    public var awareness: AwarenessLimits {
        var a = AwarenessLimits()
        a.maxStates = maxAwarenessStates
        a.maxTotalBytes = maxAwarenessBytes
        a.maxStateBytes = maxAwarenessStateBytes
        a.maxTombstones = 2 * maxAwarenessStates
        return a
    }
}
