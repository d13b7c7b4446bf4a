import CRDT

/// Traffic counters of one session (frames and bytes handed out to send / fed in).
public struct SyncStats: Sendable, Equatable {
    /// Frames handed out to send, and their bytes.
    public var framesSent = 0, bytesSent = 0
    /// Frames fed in with `receive`, and their bytes.
    public var framesReceived = 0, bytesReceived = 0
    /// Sync step 1 and step 2 messages handed out.
    public var step1Sent = 0, step2Sent = 0
    /// Update messages sent after the handshake, and local updates not sent because the peer
    /// already had them (or because our step 2 will carry them).
    public var updatesSent = 0, updatesSkipped = 0, updatesDeferred = 0
    /// Update payload bytes sent in step 2 and update messages (the document data on the wire).
    public var updateBytesSent = 0
    /// Step 2s cut to what the peer lacks beyond what we already sent (`Options.reliableDelivery`).
    public var step2Trimmed = 0
    /// All counters at zero.
    public init() {}
}

/// What one received frame asks the caller to do.
public struct SessionOutput: Sendable, Equatable {
    /// Frames to send to the peer, in order.
    public var send: [[UInt8]] = []
    /// Updates (v1) to apply to the local document, in order.
    public var apply: [[UInt8]] = []
    /// Awareness updates to apply to the local `Awareness`.
    public var awareness: [[UInt8]] = []
    /// The peer asked for every awareness state (reply with `SyncSession.awarenessFrame`).
    public var queryAwareness = false
    /// An auth message: denied (with its reason) or granted (reason nil).
    public var auth: AuthResult?
    /// The first step 2 from the peer arrived with this frame.
    public var becameSynced = false
    /// Nothing to do.
    public init() {}
}

/// The content of a y-protocols auth message.
public enum AuthResult: Sendable, Equatable {
    /// The peer refused access; `reason` is its text.
    case denied(reason: String)
    /// The peer granted access.
    case granted
}

/// A pure state machine for one peer connection (sans-IO: bytes in, bytes out; time injected).
///
/// Handshake (y-protocols): both sides send step 1 (their state vector) on `start`; each side
/// answers every step 1 with a step 2 (the diff against that vector); a side is *synced* when it
/// receives a step 2. Updates received (step 2 or update) are handed to the caller to apply.
///
/// **Never resending what the peer has.** The session keeps `PeerKnowledge`: the struct ranges
/// the peer holds (its state vector from its step 1, plus every update we send and receive, in
/// any order) and the deletes it has seen (ours sent in step 2 and updates, its own from updates
/// it sent). A local update is
///  - deferred (not sent) until the peer's step 1 arrived: our step 2 is computed from the
///    document when it does, so it carries every update made before;
///  - skipped when the peer holds all its structs and has seen all its deletes;
///  - trimmed to the part above the peer's vector when it partly overlaps (`Updates.diff`); its
///    delete set travels whole (deletes are cheap; the rule is: a delete may be resent only when
///    we cannot prove the peer has it, a struct never);
///  - sent otherwise.
/// The one redundancy we accept: a step 2 answers the vector the peer declared, so an update of
/// ours in flight while the peer sent its step 1 is in that step 2 again (a protocol race).
///
/// **Lossy transports.** The rules above assume frames we send arrive. When the transport may
/// drop frames (partitions, `InMemoryTransport` with drops) call `tick(now:)` periodically:
/// while not synced it re-sends step 1 every `handshakeRetry` seconds, and with
/// `resyncInterval` set it re-sends step 1 that often after the handshake. A step 1 from the
/// peer *resets* our knowledge of its state vector to what it declares, so anything lost is
/// sent again in the step 2. A replica that reconnects starts a new session (fresh handshake).
///
/// **Reliable transports** (`Options.reliableDelivery`): every frame we hand out arrives while
/// the connection lives, so a step 2 answering a later step 1 (a confirmation, a resync) carries
/// only what the peer lacks beyond what we already sent: no struct of an update still in flight,
/// and only the deletes it is not known to have instead of our whole delete set. The first step 2
/// of a session stays whole. `deliveryMayHaveLost()` turns this off for good.
public struct SyncSession: Sendable {
    /// How a session behaves on its transport (retries, trimming, reliable delivery, message size).
    public struct Options: Sendable, Equatable {
        /// Seconds between step 1 re-sends until the peer's step 2 arrives.
        public var handshakeRetry: Double
        /// Seconds between step 1 re-sends after the handshake (nil: never; set it on lossy links).
        public var resyncInterval: Double?
        /// Send only the part of a local update above the peer's state vector.
        public var trimKnownStructs: Bool
        /// The transport loses no frame while the connection lives (TCP, WebSocket, a lossless
        /// in-memory link). Then a step 2 answering a later step 1 leaves out what we already
        /// sent (structs and deletes); otherwise (default) every step 2 is the diff against the
        /// declared vector with our whole delete set, which is what repairs a lossy link.
        public var reliableDelivery: Bool
        /// The peer's (or transport's) largest message: a step 2 or update above it is sent as
        /// several valid updates under it (`Updates.split`; the first keeps the step 2 type).
        /// Nil: no limit.
        public var maxUpdateBytes: Int?
        /// Options for a lossy link by default; `maxUpdateBytes` is raised to at least 256.
        public init(handshakeRetry: Double = 2, resyncInterval: Double? = nil, trimKnownStructs: Bool = true,
                    reliableDelivery: Bool = false, maxUpdateBytes: Int? = nil) {
            self.handshakeRetry = handshakeRetry
            self.resyncInterval = resyncInterval
            self.trimKnownStructs = trimKnownStructs
            self.reliableDelivery = reliableDelivery
            self.maxUpdateBytes = maxUpdateBytes.map { max(256, $0) }
        }
    }

    /// The options the session was made with.
    public let options: Options
    /// Traffic counters since `init`.
    public private(set) var stats = SyncStats()
    /// What the peer is known to hold; nil until its step 1 arrived.
    public private(set) var peer: PeerKnowledge?
    /// The peer answered our step 1 (we hold everything it had then).
    public private(set) var isSynced = false
    /// `start` was called (our step 1 went out).
    public private(set) var isStarted = false
    /// The peer denied us access (auth message); the session sends nothing more.
    public private(set) var isDenied = false
    private var lastStep1: Double = -.infinity
    /// Set by `deliveryMayHaveLost()`: from then on every step 2 is whole (as on a lossy link).
    public private(set) var lossSuspected = false

    /// A session not started yet; call `start` when the connection opens.
    public init(options: Options = Options()) {
        self.options = options
    }

    /// The state vector the peer is known to have (its step 1 plus what was exchanged since); nil before its step 1.
    public var peerStateVector: StateVector? { peer?.stateVector }

    // MARK: sending

    /// Opens the session: the step 1 to send.
    public mutating func start(_ doc: some SyncDocument, now: Double = 0) -> [[UInt8]] {
        isStarted = true
        return [step1(doc, now: now)]
    }

    private mutating func step1(_ doc: some SyncDocument, now: Double) -> [UInt8] {
        lastStep1 = now
        stats.step1Sent += 1
        return count(SyncMessage.syncStep1(doc.stateVector).encoded())
    }

    private mutating func count(_ frame: [UInt8]) -> [UInt8] {
        stats.framesSent += 1
        stats.bytesSent += frame.count
        return frame
    }

    /// Frames carrying a local update (possibly none: see the type's documentation). Pass the
    /// coverage when you already have it (one decode for many sessions).
    public mutating func localUpdate(_ update: [UInt8], coverage: UpdateCoverage? = nil) -> [[UInt8]] {
        guard !isDenied else { return [] }
        guard var known = peer else {
            stats.updatesDeferred += 1
            return []
        }
        let cov: UpdateCoverage
        if let coverage { cov = coverage } else {
            guard let c = try? UpdateCoverage(update: update) else { return [] }  // not an update: nothing to send
            cov = c
        }
        if cov.isEmpty || known.covers(cov) {
            stats.updatesSkipped += 1
            return []
        }
        var payload = update
        if options.trimKnownStructs, known.overlapsStructs(cov),
           let trimmed = try? Updates.diff(update, against: known.stateVector) {
            payload = trimmed
        }
        known.learn(cov)
        peer = known
        stats.updatesSent += 1
        stats.updateBytesSent += payload.count
        return pieces(of: payload).map { count(SyncMessage.update($0).encoded()) }
    }

    /// `payload` cut under `maxUpdateBytes` (room for the message header left), or whole.
    private func pieces(of payload: [UInt8]) -> [[UInt8]] {
        guard let limit = options.maxUpdateBytes, payload.count > limit - 16 else { return [payload] }
        // Our own encoding: it decodes (a failure would be a bug; then it goes whole).
        return (try? Updates.split(payload, maxBytes: limit - 16)) ?? [payload]
    }

    /// An awareness frame (counted as sent).
    public mutating func awarenessFrame(_ awarenessUpdate: [UInt8]) -> [UInt8] {
        count(SyncMessage.awareness(awarenessUpdate).encoded())
    }

    /// The transport may have lost a frame (e.g. a partitioned link): stop trusting that what we
    /// sent arrived, so later step 2s repair it. Irreversible for this session.
    public mutating func deliveryMayHaveLost() {
        lossSuspected = true
    }

    /// Periodic duty (see the type's documentation on lossy transports): step 1 re-sends.
    public mutating func tick(_ doc: some SyncDocument, now: Double) -> [[UInt8]] {
        guard isStarted, !isDenied else { return [] }
        if !isSynced {
            if now - lastStep1 >= options.handshakeRetry { return [step1(doc, now: now)] }
        } else if let every = options.resyncInterval, now - lastStep1 >= every {
            return [step1(doc, now: now)]
        }
        return []
    }

    /// Whether the peer surely gets every frame we hand out (reliable transport, no loss
    /// suspected) and a step 1 was answered already (the first answer is always whole: a fresh
    /// connection starts from scratch).
    private var trustsDelivery: Bool { options.reliableDelivery && !lossSuspected && peer != nil }

    /// The step 2 payload answering a step 1 that declares `sv`; updates `peer`. Lossy (default):
    /// the diff against `sv` with our whole delete set, and our view of the peer reset to `sv`
    /// (what we sent may be lost). Trusted delivery: what we sent arrives, so the diff is against
    /// `sv` plus what we know the peer holds, and only deletes it is not known to have travel.
    private mutating func answer(_ sv: StateVector, _ doc: some SyncDocument) throws(SyncError) -> [UInt8] {
        let trusted = trustsDelivery
        var known = PeerKnowledge(stateVector: sv, deletes: peer?.deletes ?? DeleteSet())
        if trusted, let p = peer {
            known = p
            known.learn(stateVector: sv)
        }
        let since = trusted ? known.stateVector : sv
        let full = doc.encodeStateAsUpdate(since: since)
        let decoded: DecodedUpdate
        do { decoded = try UpdateDecoderV1.decode(full) } catch { throw .invalidPayload(error) }
        let cov = UpdateCoverage(decoded)
        var payload = full
        if trusted, !cov.deletes.isEmpty, !known.deletes.isEmpty {
            let missing = cov.deletes.subtracting(known.deletes)
            if missing != cov.deletes {
                payload = DeleteTrimming.replacingDeleteSet(of: full, decoded: decoded, with: missing)
            }
        }
        if trusted, payload.count < full.count || since != sv { stats.step2Trimmed += 1 }
        known.learn(cov)
        peer = known
        return payload
    }

    // MARK: receiving

    /// Feeds one received frame. Throws on a malformed frame or payload, leaving the session
    /// unchanged (y-protocols logs such errors and keeps the connection; the caller decides).
    public mutating func receive(_ frame: [UInt8], _ doc: some SyncDocument, now: Double = 0) throws(SyncError) -> SessionOutput {
        let message = try SyncMessage.decode(frame)
        var out = SessionOutput()
        var next = self
        next.stats.framesReceived += 1
        next.stats.bytesReceived += frame.count
        switch message {
        case let .syncStep1(svBytes):
            let sv: StateVector
            do { sv = try StateVector(decoding: svBytes) } catch { throw .invalidPayload(error) }
            let diff = try next.answer(sv, doc)
            if !next.isDenied {
                next.stats.step2Sent += 1
                next.stats.updateBytesSent += diff.count
                // Over the limit: the first piece is the step 2, the rest follow as updates.
                let parts = next.pieces(of: diff)
                out.send.append(next.count(SyncMessage.syncStep2(update: parts[0]).encoded()))
                for part in parts.dropFirst() { out.send.append(next.count(SyncMessage.update(part).encoded())) }
            }
        case let .syncStep2(update), let .update(update):
            let cov = try UpdateCoverage(update: update)
            if var known = next.peer {
                known.learn(cov)
                next.peer = known
            }
            if !cov.isEmpty { out.apply.append(update) }
            if case .syncStep2 = message, !next.isSynced {
                next.isSynced = true
                out.becameSynced = true
            }
        case let .awareness(a):
            out.awareness.append(a)
        case .queryAwareness:
            out.queryAwareness = true
        case let .authDenied(reason):
            next.isDenied = true
            out.auth = .denied(reason: reason)
        case .authGranted:
            out.auth = .granted
        }
        self = next
        return out
    }
}
