import CRDT
import Replica

/// A frame the room sends to one connection.
public enum OutboundFrame: Sendable, Equatable {
    case binary([UInt8])
    case text(String)
}

/// A message received from one connection (one WebSocket message).
public enum InboundMessage: Sendable, Equatable {
    case binary([UInt8])
    case text(String)
}

/// One client connection as a room sees it. Implementations queue frames and return at once:
/// a room never waits for a socket.
public protocol RoomConnection: Sendable {
    func send(_ frame: OutboundFrame)
    /// Sends a close frame with `code` and `reason`, then ends the connection.
    func close(_ code: CloseCode, reason: String)
}

/// Per-connection options chosen at connect time.
public struct JoinOptions: Sendable, Equatable {
    /// What the connection may do (`.write` by default).
    public var access: Access
    /// Durable acknowledgements: after the room journals updates that came from this
    /// connection, it sends the room's state vector (a SyncStep1). Yjs clients never opt in,
    /// so they never see it; ysync clients use it to know what is safely stored.
    public var durableAcks: Bool
    /// Shown in logs.
    public var label: String

    /// Options for one connection; by default it may write and gets no durable acknowledgements.
    public init(access: Access = .write, durableAcks: Bool = false, label: String = "") {
        self.access = access
        self.durableAcks = durableAcks
        self.label = label
    }
}
