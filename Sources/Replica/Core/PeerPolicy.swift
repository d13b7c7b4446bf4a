import Sync

/// Names one peer of a `ReplicaCore`: a connection, from the moment it is opened until it closes
/// (a client that reconnects is a new peer).
public struct PeerID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The number the core gave it (1, 2, ... in opening order).
    public let raw: Int
    /// Wraps a number (tests name peers by it).
    public init(raw: Int) { self.raw = raw }
    /// Opening order.
    public static func < (a: PeerID, b: PeerID) -> Bool { a.raw < b.raw }
    /// "peer3".
    public var description: String { "peer\(raw)" }
}

/// What a peer may do with the document.
public enum Access: String, Sendable, Equatable, Codable {
    /// Receives everything; its updates are refused (y-partykit's `readOnly`).
    case read
    /// Receives everything and its updates are applied.
    case write
}

/// How a `ReplicaCore` treats one peer, chosen when the peer is opened.
///
/// The server opens WebSocket clients with `.server(...)` (strict: bad input closes the
/// connection; acknowledgements at once when the client asks); a client replica opens its
/// links with `.client(...)` (lenient: a bad frame is counted and skipped, as y-protocols does;
/// acknowledgements after a short quiet delay, so a burst of updates gets one).
public struct PeerPolicy: Sendable, Equatable {
    /// A token bucket on the messages a peer may send (see `RateLimiter`).
    public struct RateLimit: Sendable, Equatable {
        /// Tokens refilled per second.
        public var perSecond: Double
        /// Largest number of tokens (messages in a burst).
        public var burst: Double
        /// A limit of `perSecond` with bursts of `burst`.
        public init(perSecond: Double, burst: Double) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    /// Read-only peers' updates are refused (counted, never applied).
    public var access: Access
    /// Acknowledgements: after updates from this peer are journaled, send it our state vector
    /// (a SyncStep1; it tells the peer what we durably hold, which is what its unsynced count
    /// consumes). 0 sends it at once; a positive delay waits for that many quiet seconds (a
    /// burst gets one). Nil: never (Yjs peers do not expect them).
    public var acknowledgementDelay: Double?
    /// Messages the peer may send (checked by `ReplicaCore.admit`); nil: unlimited.
    public var rateLimit: RateLimit?
    /// A frame or update that does not decode closes the peer (1007) instead of being counted
    /// and skipped.
    public var closesOnBadInput: Bool
    /// Options of the peer's `SyncSession` (reliable delivery, largest message, retries).
    public var session: SyncSession.Options
    /// Shown in logs.
    public var label: String
    /// The origin journaled with the updates this peer sends (what history shows them as).
    public var origin: String
    /// Awareness client ids the peer may control at once (and mention in one message); a
    /// message beyond is refused whole. Nil: no limit (a client's link to a server, which
    /// relays a whole room).
    public var maxAwarenessClients: Int?

    /// A policy from its parts.
    public init(access: Access = .write, acknowledgementDelay: Double? = nil, rateLimit: RateLimit? = nil,
                closesOnBadInput: Bool = false, session: SyncSession.Options = .init(), label: String = "",
                origin: String = "remote", maxAwarenessClients: Int? = nil) {
        self.access = access
        self.acknowledgementDelay = acknowledgementDelay
        self.rateLimit = rateLimit
        self.closesOnBadInput = closesOnBadInput
        self.session = session
        self.label = label
        self.origin = origin
        self.maxAwarenessClients = maxAwarenessClients
    }
}
