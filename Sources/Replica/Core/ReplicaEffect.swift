import CRDT
import Sync

/// What a `ReplicaCore` asks its host to do, in order.
public enum ReplicaEffect: Equatable {
    /// Send this frame to the peer.
    case send(PeerID, [UInt8])
    /// Close the peer's connection with this code and reason (the core has dropped the peer).
    case close(PeerID, CloseCode, reason: String)
    /// The journal holds everything up to this seq (written by the call that returned it).
    case persisted(seq: Int64)
    /// Awareness states changed (peers joined, left, timed out or changed their state).
    case presence(AwarenessChange)
    /// Something to count or log (see `ReplicaNote`); nothing to do.
    case note(ReplicaNote)
}

/// The kind of a y-protocols frame, as metrics label it.
public enum FrameKind: String, Sendable, Equatable, CaseIterable {
    case syncStep1 = "sync_step1"
    case syncStep2 = "sync_step2"
    case update
    case awareness
    case auth
    case queryAwareness = "query_awareness"
    /// A frame of no y-protocols kind.
    case other
    /// A frame that did not decode (never returned by `init(of:)`: only a decoder knows).
    case invalid

    /// The kind read from the first bytes of `frame` (nothing is decoded).
    public init(of frame: [UInt8]) {
        switch (frame.first, frame.count > 1 ? frame[1] : nil) {
        case (0, 0): self = .syncStep1
        case (0, 1): self = .syncStep2
        case (0, 2): self = .update
        case (1, _): self = .awareness
        case (2, _): self = .auth
        case (3, _): self = .queryAwareness
        default: self = .other
        }
    }
}

/// Why updates from a peer were refused.
public enum RefusalReason: String, Sendable, Equatable {
    /// The peer's policy gives it read access only.
    case readOnly = "read_only"
    /// The update would take the document over `ReplicaCoreOptions.maxDocumentBytes`.
    case documentTooLarge = "document_too_large"
    /// An awareness message would pass a limit (`AwarenessLimits` or the peer's
    /// `PeerPolicy.maxAwarenessClients`).
    case awarenessLimit = "awareness_limit"
    /// Awareness entries about client ids another peer announced (with
    /// `ReplicaCoreOptions.exclusiveAwarenessClients`): dropped, the rest of the message applied.
    case awarenessSpoof = "awareness_spoof"
}

/// Where a failure of the core's own storage happened.
public enum FailureKind: String, Sendable, Equatable {
    /// Appending to the journal failed.
    case journal
    /// Compacting the journal failed.
    case compaction
}

/// What happened inside the core, for counters and logs (hosts map these in one place:
/// `ReplicaStats.record` on clients, the room's metrics on the server).
public enum ReplicaNote: Sendable, Equatable {
    /// A frame of this kind from the peer was handled.
    case received(PeerID, FrameKind)
    /// A frame or update from the peer did not decode (skipped, or the peer closed when strict).
    case invalid(PeerID, reason: String)
    /// A local edit changed the document.
    case localEdit
    /// An update from the peer (nil: imported) changed the document and was journaled.
    case applied(PeerID?)
    /// An update changed nothing (e.g. a delete of an item already deleted).
    case unchanged(PeerID?)
    /// A received update carried a struct this document already held (measured only with
    /// `ReplicaCoreOptions.measureRedundancy`).
    case redundant(PeerID, step2: Bool)
    /// `count` updates from the peer were refused.
    case refused(PeerID, count: Int, RefusalReason)
    /// An acknowledgement (our state vector) went to the peer.
    case ackSent(PeerID)
    /// The peer refused our updates (y-protocols auth message, e.g. a read-only token).
    case denied(PeerID, reason: String)
    /// The journal or a compaction failed (the document keeps the change and the journal
    /// retries the append on the next change, or with `JournalFailureMode.rollBack` the
    /// document was reloaded from the journal).
    case failure(FailureKind, message: String)
}
