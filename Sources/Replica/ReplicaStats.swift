import Sync

/// Counters of one replica (all sessions), for tests and the convergence benchmark.
public struct ReplicaStats: Sendable, Equatable {
    /// Frames handed to transports.
    public var framesSent = 0
    /// Bytes of those frames.
    public var bytesSent = 0
    /// SyncStep1 frames sent (handshakes, resyncs and acknowledgements).
    public var step1Sent = 0
    /// SyncStep2 frames sent.
    public var step2Sent = 0
    /// Update frames sent.
    public var updatesSent = 0
    /// Bytes of the update payloads in SyncStep2 and Update frames sent.
    public var updateBytesSent = 0
    /// Frames received from peers.
    public var framesReceived = 0
    /// Bytes of those frames.
    public var bytesReceived = 0
    /// Received SyncStep2 / Update frames carrying a struct this replica already held.
    public var redundantStep2Received = 0
    /// Received Update frames carrying a struct this replica already held.
    public var redundantUpdatesReceived = 0
    /// Received updates that changed nothing (e.g. a delete of an item already deleted).
    public var unchangedUpdatesReceived = 0
    /// Received frames that did not decode or apply (ignored, like y-protocols does).
    public var badFrames = 0
    /// Remote updates the document took but the journal could not append (retried with the
    /// next change; not acknowledged meanwhile).
    public var journalFailures = 0
    /// Acknowledgements (our state vector after updates from a peer) sent.
    public var acknowledgementsSent = 0
    /// Auth messages in which a peer refused our updates (a read-only token on the server).
    public var deniedByPeers = 0
    /// Local edits and remote updates that changed the document.
    public var localEdits = 0
    /// Updates from peers that changed the document.
    public var remoteUpdatesApplied = 0
    /// Journal rows appended (one per changing edit or apply).
    public var journalWrites = 0
    /// Connections opened (dialled or given), and dial failures.
    public var connections = 0
    /// Dials that failed (each is retried after the backoff).
    public var dialFailures = 0

    /// All counters at zero.
    public init() {}

    /// The counters of `a` and `b` added field by field (totals over several replicas).
    public static func + (a: ReplicaStats, b: ReplicaStats) -> ReplicaStats {
        var r = ReplicaStats()
        r.framesSent = a.framesSent + b.framesSent
        r.bytesSent = a.bytesSent + b.bytesSent
        r.step1Sent = a.step1Sent + b.step1Sent
        r.step2Sent = a.step2Sent + b.step2Sent
        r.updatesSent = a.updatesSent + b.updatesSent
        r.updateBytesSent = a.updateBytesSent + b.updateBytesSent
        r.framesReceived = a.framesReceived + b.framesReceived
        r.bytesReceived = a.bytesReceived + b.bytesReceived
        r.redundantStep2Received = a.redundantStep2Received + b.redundantStep2Received
        r.redundantUpdatesReceived = a.redundantUpdatesReceived + b.redundantUpdatesReceived
        r.unchangedUpdatesReceived = a.unchangedUpdatesReceived + b.unchangedUpdatesReceived
        r.badFrames = a.badFrames + b.badFrames
        r.journalFailures = a.journalFailures + b.journalFailures
        r.acknowledgementsSent = a.acknowledgementsSent + b.acknowledgementsSent
        r.deniedByPeers = a.deniedByPeers + b.deniedByPeers
        r.localEdits = a.localEdits + b.localEdits
        r.remoteUpdatesApplied = a.remoteUpdatesApplied + b.remoteUpdatesApplied
        r.journalWrites = a.journalWrites + b.journalWrites
        r.connections = a.connections + b.connections
        r.dialFailures = a.dialFailures + b.dialFailures
        return r
    }
}

extension ReplicaStats {
    /// Counts what the core noted (the one place a client replica maps notes to counters).
    public mutating func record(_ note: ReplicaNote) {
        switch note {
        case .received: break  // counted by the host as the frame arrives
        case .invalid: badFrames += 1
        case .localEdit: localEdits += 1
        case let .applied(peer): if peer != nil { remoteUpdatesApplied += 1 }
        case let .unchanged(peer): if peer != nil { unchangedUpdatesReceived += 1 }
        case let .redundant(_, step2):
            if step2 { redundantStep2Received += 1 } else { redundantUpdatesReceived += 1 }
        case let .refused(_, count, _): badFrames += count
        case .ackSent: acknowledgementsSent += 1
        case .denied: deniedByPeers += 1
        case let .failure(kind, _): if kind == .journal { journalFailures += 1 }
        }
    }

    /// Counts a frame handed to a transport.
    public mutating func recordSent(_ frame: [UInt8]) {
        framesSent += 1
        bytesSent += frame.count
        switch FrameKind(of: frame) {
        case .syncStep1: step1Sent += 1
        case .syncStep2:
            step2Sent += 1
            updateBytesSent += Self.payloadSize(frame)
        case .update:
            updatesSent += 1
            updateBytesSent += Self.payloadSize(frame)
        default: break
        }
    }

    /// The update inside a `[0][1|2][vb update]` frame.
    private static func payloadSize(_ frame: [UInt8]) -> Int {
        var n = frame.count - 2, len = 1
        while n > 1 << (7 * len) { len += 1 }
        n = frame.count - 2 - len
        return max(0, n)
    }
}
