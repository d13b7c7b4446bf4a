import Sync

/// Names one connection given to `connect(_:)`, or one dialled connection (kept across reconnects).
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    /// Its number (1, 2, ... in the order sessions were started).
    public let raw: Int
    /// "session 2".
    public var description: String { "session \(raw)" }
}

/// How a `Replica` treats its connections.
public struct ReplicaOptions: Sendable {
    /// After updates from a peer are journaled and a quiet `confirmationDelay`, send it our state
    /// vector (a SyncStep1: the acknowledgement of `PeerPolicy`) so that it learns what we hold:
    /// that is how a peer's "unsynced" count goes down during a session. Off: only handshakes
    /// confirm.
    public var confirmations = true
    /// The quiet time before a confirmation (a burst of updates gets one).
    public var confirmationDelay: Duration = .milliseconds(20)
    /// Compact the journal (when its thresholds are passed) after this many appends.
    public var compactEvery = 64
    /// Count received updates that carry structs we already held (`ReplicaStats.redundant...`).
    public var measureRedundancy = true
    /// Options of every `SyncSession` (set `resyncInterval` on lossy transports). The replica
    /// sets `reliableDelivery` per connection from its transport's `deliversReliably`.
    public var session = SyncSession.Options()
    /// How often each session's `tick` runs (handshake retries, periodic resync).
    public var tickInterval: Duration = .milliseconds(250)

    /// Options from their parts.
    public init(confirmations: Bool = true, confirmationDelay: Duration = .milliseconds(20),
                session: SyncSession.Options = .init(), tickInterval: Duration = .milliseconds(250)) {
        self.confirmations = confirmations
        self.confirmationDelay = confirmationDelay
        self.session = session
        self.tickInterval = tickInterval
    }
}

/// A failed dial of `Replica.connect(dial:backoff:sleep:)`; the session dials again after
/// `nextDelay` (it never gives up: `disconnect` stops it).
public struct DialFailure: Sendable, Equatable {
    /// Failures in a row since the last connection that completed its handshake.
    public var attempt: Int
    /// The wait before the next dial.
    public var nextDelay: Duration
    /// What the dial threw, as text.
    public var reason: String
}

