import CRDT
import Journal
import Sync

/// What differs between the replicas built on a `ReplicaCore` beyond their peers' policies.
public struct ReplicaCoreOptions: Sendable, Equatable {
    /// Compact the journal (when its thresholds are passed) after this many appends.
    public var compactEvery: Int
    /// Refuse a peer's update (and close it: 4013) when the document's encoded size estimate
    /// plus the update would exceed this. Nil: no limit (and no estimate kept).
    public var maxDocumentBytes: Int?
    /// Note received updates that carry structs this document already held (the convergence
    /// benchmark's redundancy figure; one extra decode per update).
    public var measureRedundancy: Bool
    /// Awareness changes go back to the peer that sent them too (the y-websocket server does
    /// this; a client replica forwards them to its other peers only).
    public var awarenessEcho: Bool
    /// What the awareness states may hold (a message that would pass a limit is refused whole:
    /// strict peers are closed with `CloseCode.awarenessTooLarge`), and how long the clocks of
    /// gone clients are kept.
    public var awarenessLimits: AwarenessLimits
    /// What a change the journal refused leaves behind (see `JournalFailureMode`).
    public var journalFailure: JournalFailureMode
    /// A client id belongs to the peer that announced it until that peer removes it or closes:
    /// entries about it from any other peer are dropped (noted as `.awarenessSpoof`), as
    /// y-websocket servers track the ids each connection controls. For a server, whose peers
    /// are distinct clients; a client replica hears everyone's ids relayed by each server.
    public var exclusiveAwarenessClients: Bool

    /// Options from their parts (defaults: a client replica's).
    public init(compactEvery: Int = 64, maxDocumentBytes: Int? = nil, measureRedundancy: Bool = false,
                awarenessEcho: Bool = false, awarenessLimits: AwarenessLimits = .init(),
                journalFailure: JournalFailureMode = .keep, exclusiveAwarenessClients: Bool = false) {
        self.compactEvery = compactEvery
        self.maxDocumentBytes = maxDocumentBytes
        self.measureRedundancy = measureRedundancy
        self.awarenessEcho = awarenessEcho
        self.awarenessLimits = awarenessLimits
        self.journalFailure = journalFailure
        self.exclusiveAwarenessClients = exclusiveAwarenessClients
    }
}

/// What a `ReplicaCore` does with a change whose journal append failed (e.g. the disk is full).
public enum JournalFailureMode: Sendable, Equatable {
    /// The change stays in the document and is relayed; the next call appends it (a client:
    /// the user's own edits are not lost while the disk is full).
    case keep
    /// The document is reloaded from the journal, so it holds nothing the journal does not,
    /// and the change is relayed to no one; a peer that sent it is closed (1011) and sends it
    /// again when it reconnects (its handshake offers what we lack). A server's rooms: every
    /// peer there must see only what survives a restart. If the reload fails too, every peer
    /// is closed and `ReplicaCore.storeFailure` is set: the host must stop using the core.
    case rollBack
}

/// What `ReplicaCore.importUpdate` did with an update.
public enum ImportResult: Equatable, Sendable {
    /// The document changed; the journal holds it up to this seq.
    case changed(seq: Int64)
    /// The update changed nothing.
    case unchanged
    /// The update does not decode (the document is unchanged).
    case invalid(String)
    /// The document would grow past `ReplicaCoreOptions.maxDocumentBytes` (not applied).
    case documentTooLarge(limit: Int, wouldBe: Int)
    /// The journal append failed: with `JournalFailureMode.keep` the document keeps the change
    /// (appended by the next call), with `.rollBack` it does not (reloaded from the journal).
    case journalFailed(JournalError)
}

/// The outcome of `ReplicaCore.edit`.
public struct EditOutcome {
    /// What the edit changed as one update (nil: nothing).
    public var update: [UInt8]?
    /// The journal seq of the edit (nil: nothing changed, or `journalError`).
    public var seq: Int64?
    /// The append failed; the change is kept and appended by the next call.
    public var journalError: JournalError?
    /// What the edit's body threw (after changing the document, the change is kept).
    public var bodyError: (any Error)?
    /// What the host must do (relay the update to the peers, ...).
    public var effects: [ReplicaEffect]
}

/// The sans-IO heart of every replica: a journaled document, its peers' `SyncSession`s and
/// the awareness states, driven by inputs that carry the current time (`now`, seconds on any
/// monotonic origin) and answering with `ReplicaEffect`s. It never reads a clock, sleeps or
/// touches a socket, so hosts (`Replica` for clients, `Room` on the server) add only their I/O
/// and tests drive it on a fake clock.
///
/// - Every change the document makes (local edit, remote or imported update) is journaled
///   before it is relayed or acknowledged, then relayed to every peer, each session cutting it
///   to what its peer lacks (the source gets only what integrating its update released).
/// - Acknowledgements (one dialect for both sides): a peer whose policy asks for them gets our
///   state vector as a SyncStep1 once its updates are journaled; every SyncStep1 we receive
///   confirms our own units (`unsyncedChanges`).
/// - Awareness (y-protocols presence): states from peers are kept, forwarded and timed out
///   after 30 s; a peer's states are removed when it closes; our own is renewed every 15 s.
///
/// Not thread-safe: one owner (an actor) calls it.
public final class ReplicaCore {
    /// The document and its journal.
    public let store: JournaledDocument
    /// The core's options.
    public let options: ReplicaCoreOptions

    private struct Peer {
        var session: SyncSession
        let policy: PeerPolicy
        /// Awareness clients this peer announced (removed when it closes).
        var clients: Set<ClientID> = []
        var limiter: RateLimiter?
        /// When a debounced acknowledgement is due.
        var ackDue: Double?
        /// A read-only peer was told (once) that its updates are refused.
        var toldReadOnly = false
    }
    private var peers: [PeerID: Peer] = [:]
    /// Which peer announced each awareness client id (kept with `exclusiveAwarenessClients`).
    private var awarenessOwners: [ClientID: PeerID] = [:]
    private var nextPeer = 1
    /// The awareness states (ours included once `setLocalPresence` set one).
    public private(set) var awareness: Awareness
    private var nextAwarenessCheck: Double?
    private var unsynced: UnsyncedCount
    private var appendsSinceCompaction = 0
    /// Upper bound of the encoded document size (kept only with a size limit).
    private var sizeEstimate = 0
    private var effects: [ReplicaEffect] = []
    /// Set when a `.rollBack` could not reload the document: it may hold changes the journal
    /// does not, every peer was closed, and the host must stop using this core (close it).
    public private(set) var storeFailure: JournalError?

    /// Takes over an open store. The replica has no presence until `setLocalPresence`.
    public init(store: JournaledDocument, options: ReplicaCoreOptions = .init(), now: Double) {
        self.store = store
        self.options = options
        var awareness = Awareness(clientID: store.doc.clientID, now: now, limits: options.awarenessLimits)
        awareness.setLocalState(nil, now: now)
        self.awareness = awareness
        let meta = try? store.journal.meta(UnsyncedCount.metaKey)
        unsynced = UnsyncedCount(client: store.doc.clientID, metaValue: meta ?? nil)
        if options.maxDocumentBytes != nil { sizeEstimate = store.doc.encodeStateAsUpdate().count }
    }

    /// The document.
    public var doc: YDoc { store.doc }
    /// The open peers, in opening order.
    public var peerIDs: [PeerID] { peers.keys.sorted() }
    /// The policy a peer was opened with.
    public func policy(of id: PeerID) -> PeerPolicy? { peers[id]?.policy }
    /// A peer's session (its handshake state and traffic counters).
    public func session(of id: PeerID) -> SyncSession? { peers[id]?.session }

    /// The reason in the auth message a read-only peer gets when it sends updates.
    public static let readOnlyReason = "permission denied: read-only access, updates are not accepted"

    // MARK: - Peers

    /// Opens a peer: our SyncStep1 and the awareness states we know go to it.
    public func openPeer(_ policy: PeerPolicy, now: Double) -> (PeerID, [ReplicaEffect]) {
        let id = PeerID(raw: nextPeer)
        nextPeer += 1
        var peer = Peer(session: SyncSession(options: policy.session), policy: policy)
        if let r = policy.rateLimit { peer.limiter = RateLimiter(perSecond: r.perSecond, burst: r.burst) }
        let greeting = peer.session.start(store.doc, now: now)
        peers[id] = peer
        for f in greeting { send(f, to: id) }
        let present = awareness.states.keys.sorted()
        if !present.isEmpty {  // y-websocket sends awareness on connect only when someone is there
            send(awareness.awarenessMessage(clients: present), to: id)
        }
        if nextAwarenessCheck == nil { nextAwarenessCheck = now + Awareness.checkInterval }
        return (id, take())
    }

    /// Closes a peer (its connection ended): the awareness states it announced are removed and
    /// the removal goes to the others. Returns whether its handshake had completed.
    @discardableResult
    public func closePeer(_ id: PeerID, now: Double) -> (wasSynced: Bool, effects: [ReplicaEffect]) {
        let wasSynced = peers[id]?.session.isSynced ?? false
        drop(id, now: now)
        return (wasSynced, take())
    }

    /// Checks a peer's message against its rate limit (call for every message, text frames and
    /// batch parts too). Over the limit, the effects close it (4029).
    public func admit(_ id: PeerID, now: Double) -> (allowed: Bool, effects: [ReplicaEffect]) {
        guard var peer = peers[id] else { return (false, []) }
        guard var limiter = peer.limiter else { return (true, []) }
        let allowed = limiter.allow(now: now)
        peer.limiter = limiter
        peers[id] = peer
        if !allowed {
            close(id, .rateLimited, "more than \(Int(limiter.perSecond)) messages per second", now: now)
        }
        return (allowed, take())
    }

    /// The transport of this peer may have lost a frame: its later step 2s are whole again.
    public func suspectLoss(_ id: PeerID) {
        guard peers[id]?.session.lossSuspected == false else { return }
        peers[id]!.session.deliveryMayHaveLost()
    }

    // MARK: - Inputs

    /// Handles one binary frame from a peer.
    public func receive(_ frame: [UInt8], from id: PeerID, now: Double) -> [ReplicaEffect] {
        guard var peer = peers[id] else { return [] }
        let kind = FrameKind(of: frame)
        // The peer's own announcement confirms our units (the session folds what we sent into
        // its view of the peer, which is no confirmation).
        if kind == .syncStep1, case let .syncStep1(bytes)? = try? SyncMessage.decode(frame),
           let sv = try? StateVector(decoding: bytes) {
            confirm(peerStateVector: sv)
        }
        let output: SessionOutput
        do { output = try peer.session.receive(frame, store.doc, now: now) } catch {
            note(.received(id, .invalid))
            badInput(from: id, "bad message: \(error)", now: now)
            return take()
        }
        peers[id] = peer
        note(.received(id, kind))
        if case let .denied(reason)? = output.auth { note(.denied(id, reason: reason)) }
        for f in output.send { send(f, to: id) }
        guard integrateAll(output, from: id, kind: kind, now: now) else { return take() }
        receiveAwareness(output, from: id, now: now)
        return take()
    }

    /// Applies the updates a frame carried (refused for read-only peers), then acknowledges
    /// them. False when the peer was closed.
    private func integrateAll(_ output: SessionOutput, from id: PeerID, kind: FrameKind, now: Double) -> Bool {
        guard !output.apply.isEmpty, let policy = peers[id]?.policy else { return true }
        if policy.access == .read {
            note(.refused(id, count: output.apply.count, .readOnly))
            // y-protocols' auth message, once: Yjs providers report it, ycli stops with it.
            if !peers[id]!.toldReadOnly {
                peers[id]!.toldReadOnly = true
                send(SyncMessage.authDenied(reason: Self.readOnlyReason).encoded(), to: id)
            }
            return true
        }
        var changed = false
        for update in output.apply {
            switch integrate(update, origin: policy.origin, from: id, isStep2: kind == .syncStep2, now: now) {
            case .changed: changed = true
            case .unchanged: break
            case let .invalid(reason):
                badInput(from: id, "bad update: \(reason)", now: now)
                if peers[id] == nil { return false }
            case let .documentTooLarge(limit, wouldBe):
                note(.refused(id, count: 1, .documentTooLarge))
                close(id, .documentTooLarge, "document would be \(wouldBe) bytes (limit \(limit))", now: now)
                return false
            case let .journalFailed(error):
                note(.failure(.journal, message: "could not journal an update from \(id): \(error)"))
                // Rolled back: the peer holds what we do not, and only a new handshake repairs that.
                if policy.closesOnBadInput || options.journalFailure == .rollBack {
                    close(id, .internalError, "could not store the update", now: now)
                    return false
                }
                return true  // not journaled: not acknowledged
            }
        }
        // A step 2 that changed nothing is (after the handshake) the answer to our previous
        // ack: it still has content when the peer's document has deletions (a step 2 carries
        // the whole delete set), so acknowledging it would ping-pong for ever.
        if changed || kind == .update || output.becameSynced, let delay = policy.acknowledgementDelay {
            if delay <= 0 {
                acknowledge(id)
            } else {
                peers[id]!.ackDue = now + delay  // debounced: a later update moves it
            }
        }
        return true
    }

    private func receiveAwareness(_ output: SessionOutput, from id: PeerID, now: Double) {
        for update in output.awareness {
            var entries: [Awareness.WireEntry]
            do { entries = try Awareness.decodeUpdate(update, maxStateBytes: awareness.limits.maxStateBytes) } catch {
                badInput(from: id, "bad awareness update: \(error)", now: now)
                if peers[id] == nil { return }
                continue
            }
            if options.exclusiveAwarenessClients {
                let count = entries.count
                entries.removeAll { e in awarenessOwners[e.client].map { $0 != id } ?? false }
                if entries.count < count { note(.refused(id, count: count - entries.count, .awarenessSpoof)) }
                if entries.isEmpty { continue }
            }
            var clients = peers[id]!.clients
            var speaksFor = clients  // what it controls and what this message is about
            for e in entries where e.client != awareness.clientID {
                speaksFor.insert(e.client)
                if e.json == nil { clients.remove(e.client) } else { clients.insert(e.client) }
            }
            let change: AwarenessChange
            do throws(AwarenessViolation) {
                // Removals count too: a null for an unknown client still leaves a tombstone.
                if let max = peers[id]!.policy.maxAwarenessClients, speaksFor.count > max {
                    throw .tooManyClients(count: speaksFor.count, limit: max)
                }
                change = try awareness.applyChecked(entries, now: now)
            } catch {
                refuseAwareness(from: id, error, now: now)
                if peers[id] == nil { return }
                continue
            }
            if options.exclusiveAwarenessClients {
                for gone in peers[id]!.clients.subtracting(clients) { awarenessOwners[gone] = nil }
                for new in clients { awarenessOwners[new] = id }
            }
            peers[id]!.clients = clients
            if !change.broadcast.isEmpty {
                broadcast(awareness.awarenessMessage(clients: change.broadcast), except: options.awarenessEcho ? nil : id)
                effects.append(.presence(change))
            }
        }
        if output.queryAwareness {
            send(awareness.awarenessMessage(clients: awareness.states.keys.sorted()), to: id)
        }
    }

    /// Runs `body` in one transaction, journals it and relays it to every peer. If `body`
    /// throws after changing the document, the change is kept, journaled and relayed. (With
    /// `JournalFailureMode.rollBack` an edit the journal refused is undone and relayed to no one.)
    public func edit(origin: String? = nil, now: Double, _ body: (YDoc) throws -> Void) -> EditOutcome {
        let (commit, bodyError) = store.commitEdit(origin: origin, body)
        if !commit.updates.isEmpty { note(.localEdit) }
        recorded(commit)
        if let error = commit.journalError, options.journalFailure == .rollBack {
            rollBack(after: error, now: now)
        } else {
            relay(commit.updates)
        }
        // One transaction emits one update; more only when the body opened transactions of its
        // own. They come from this document's encoder a moment ago, so they decode and merge.
        let update: [UInt8]? = commit.updates.count <= 1 ? commit.updates.first : try! Updates.merge(commit.updates)
        return EditOutcome(update: update, seq: commit.seq, journalError: commit.journalError, bodyError: bodyError,
                           effects: take())
    }

    /// Applies an update that came from elsewhere than a peer (a file, an HTTP request):
    /// journaled and relayed to every peer.
    public func importUpdate(_ update: [UInt8], origin: String = "import", now: Double) -> (ImportResult, [ReplicaEffect]) {
        let result = integrate(update, origin: origin, from: nil, isStep2: false, now: now)
        return (result, take())
    }

    /// Sets (nil: withdraws) our presence, a JSON text, and sends it to every peer.
    public func setLocalPresence(_ json: String?, now: Double) -> [ReplicaEffect] {
        let change = awareness.setLocalState(json, now: now)
        broadcast(awareness.awarenessMessage(clients: [awareness.clientID]), except: nil)
        effects.append(.presence(change))
        if nextAwarenessCheck == nil { nextAwarenessCheck = now + Awareness.checkInterval }
        return take()
    }

    /// Sends our state vector to every peer: each answers with what we lack (repairs what a
    /// lossy transport dropped) and learns what we hold.
    public func resync() -> [ReplicaEffect] {
        let frame = SyncMessage.syncStep1(stateVector: store.doc.encodeStateVector()).encoded()
        broadcast(frame, except: nil)
        return take()
    }

    /// Periodic duties due at `now`: handshake retries and resyncs of the sessions, debounced
    /// acknowledgements, awareness renewal and timeouts.
    public func tick(now: Double) -> [ReplicaEffect] {
        for id in peers.keys.sorted() {
            guard peers[id] != nil else { continue }
            for f in peers[id]!.session.tick(store.doc, now: now) { send(f, to: id) }
            if let due = peers[id]!.ackDue, due <= now {
                peers[id]!.ackDue = nil
                acknowledge(id)
            }
        }
        if let check = nextAwarenessCheck, check <= now { awarenessTick(now: now) }
        return take()
    }

    /// When `tick` next has something to do (acknowledgements, awareness), nil: nothing
    /// scheduled. Session retries are not included: hosts on lossy transports tick regularly.
    public var nextDeadline: Double? {
        let acks = peers.values.compactMap(\.ackDue).min()
        switch (acks, nextAwarenessCheck) {
        case let (a?, b?): return min(a, b)
        case let (a, b): return a ?? b
        }
    }

    // MARK: - Unsynced changes

    /// A peer's state vector learnt out of band (e.g. a hand-over file): confirms our units.
    public func confirm(peerStateVector sv: StateVector) {
        if unsynced.client != store.doc.clientID { unsynced = UnsyncedCount(client: store.doc.clientID) }
        if unsynced.confirm(sv) {
            try? store.journal.setMeta(UnsyncedCount.metaKey, unsynced.metaValue)
        }
    }

    /// Own clock units no peer has confirmed yet (see `UnsyncedCount`).
    public var unsyncedChanges: Int {
        if unsynced.client != store.doc.clientID { unsynced = UnsyncedCount(client: store.doc.clientID) }
        return unsynced.count(local: store.doc.stateVector)
    }

    /// Flushes the journal and compacts it when its thresholds are passed.
    public func persist() throws(JournalError) {
        _ = try store.flush()
        try store.compactIfNeeded()
    }

    // MARK: - Internals

    private func take() -> [ReplicaEffect] {
        defer { effects.removeAll() }
        return effects
    }

    private func note(_ n: ReplicaNote) { effects.append(.note(n)) }

    private func send(_ frame: [UInt8], to id: PeerID) {
        guard peers[id] != nil else { return }
        effects.append(.send(id, frame))
    }

    private func broadcast(_ frame: [UInt8], except: PeerID?) {
        for id in peers.keys.sorted() where id != except { send(frame, to: id) }
    }

    private func acknowledge(_ id: PeerID) {
        send(SyncMessage.syncStep1(stateVector: store.doc.encodeStateVector()).encoded(), to: id)
        note(.ackSent(id))
    }

    /// An awareness message over a limit (nothing of it applied): strict peers are closed
    /// (`awarenessTooLarge`), others skip it.
    private func refuseAwareness(from id: PeerID, _ violation: AwarenessViolation, now: Double) {
        note(.refused(id, count: 1, .awarenessLimit))
        if peers[id]?.policy.closesOnBadInput == true {
            close(id, .awarenessTooLarge, "\(violation)", now: now)
        } else {
            note(.invalid(id, reason: "\(violation)"))
        }
    }

    /// Input from a peer that does not decode: strict peers are closed (1007), others skip it.
    private func badInput(from id: PeerID, _ reason: String, now: Double) {
        note(.invalid(id, reason: reason))
        if peers[id]?.policy.closesOnBadInput == true { close(id, .invalidPayload, reason, now: now) }
    }

    private func close(_ id: PeerID, _ code: CloseCode, _ reason: String, now: Double) {
        guard peers[id] != nil else { return }
        effects.append(.close(id, code, reason: reason))
        drop(id, now: now)
    }

    private func drop(_ id: PeerID, now: Double) {
        guard let peer = peers.removeValue(forKey: id) else { return }
        for client in peer.clients where awarenessOwners[client] == id { awarenessOwners[client] = nil }
        let change = awareness.removeStates(peer.clients.sorted(), now: now)
        if !change.removed.isEmpty {
            broadcast(awareness.awarenessMessage(clients: change.removed), except: nil)
            effects.append(.presence(change))
        }
        if awarenessIsIdle { nextAwarenessCheck = nil }
    }

    /// Nothing for the awareness check to do: no peers, no presence of ours, and no clocks of
    /// gone clients left to forget (only ours).
    private var awarenessIsIdle: Bool {
        peers.isEmpty && awareness.localState == nil && awareness.entries.count <= 1
    }

    private func awarenessTick(now: Double) {
        nextAwarenessCheck = now + Awareness.checkInterval
        let (renewed, timedOut) = awareness.tick(now: now)
        if !renewed.broadcast.isEmpty { broadcast(awareness.awarenessMessage(clients: renewed.broadcast), except: nil) }
        if !timedOut.isEmpty {
            for id in peers.keys { peers[id]!.clients.subtract(timedOut) }
            broadcast(awareness.awarenessMessage(clients: timedOut), except: nil)
            var change = AwarenessChange()
            change.removed = timedOut
            effects.append(.presence(change))
        }
        if awarenessIsIdle { nextAwarenessCheck = nil }
    }

    /// Applies and journals `update`, then relays what it changed to every peer.
    private func integrate(_ update: [UInt8], origin: String, from source: PeerID?, isStep2: Bool, now: Double) -> ImportResult {
        if let limit = options.maxDocumentBytes, sizeEstimate + update.count > limit {
            return .documentTooLarge(limit: limit, wouldBe: sizeEstimate + update.count)
        }
        if options.measureRedundancy, let source, holdsStruct(of: update) { note(.redundant(source, step2: isStep2)) }
        let commit: JournaledDocument.Commit
        do { commit = try store.commitApply(update, origin: origin) } catch {
            if case let .badUpdate(reason) = error { return .invalid("\(reason)") }
            return .invalid("\(error)")
        }
        if let error = commit.journalError, options.journalFailure == .rollBack {
            rollBack(after: error, now: now)
            return .journalFailed(error)
        }
        if commit.changed { sizeEstimate += update.count }
        recorded(commit)
        relay(commit.updates)
        if let error = commit.journalError { return .journalFailed(error) }
        guard let seq = commit.seq else {
            note(.unchanged(source))
            return .unchanged
        }
        note(.applied(source))
        return .changed(seq: seq)
    }

    /// `JournalFailureMode.rollBack`: the append failed, so the document goes back to what the
    /// journal holds. Nothing of the refused change was relayed, and the peers' sessions only
    /// know what was relayed, so for every peer but the sender the room is exactly as it was
    /// (the sender is closed by the caller). Reloading costs a load of the document, on
    /// failures only; applying only after the journal accepted would need the document's view
    /// of what an update changes before applying it, which Yjs documents do not give.
    private func rollBack(after error: JournalError, now: Double) {
        do throws(JournalError) {
            try store.reload()
        } catch let reloadError {
            storeFailure = reloadError
            note(.failure(.journal, message: "could not reload the document from its journal after \(error): \(reloadError)"))
            for id in peers.keys.sorted() {
                close(id, .internalError, "the document could not be reloaded from its journal", now: now)
            }
        }
    }

    /// The update carries a struct this document already holds. (A delete of an item already
    /// deleted does not count: two peers may delete the same item concurrently.)
    private func holdsStruct(of update: [UInt8]) -> Bool {
        guard let cov = try? UpdateCoverage(update: update) else { return false }
        let sv = store.doc.stateVector
        return cov.structs.clients.contains { client, ranges in ranges.contains { $0.clock < sv[client] } }
    }

    /// After a commit: the persisted effect, and compaction every `compactEvery` appends.
    private func recorded(_ commit: JournaledDocument.Commit) {
        guard let seq = commit.seq else { return }
        effects.append(.persisted(seq: seq))
        appendsSinceCompaction += 1
        guard appendsSinceCompaction >= options.compactEvery else { return }
        appendsSinceCompaction = 0
        do { try store.compactIfNeeded() } catch {
            note(.failure(.compaction, message: "compaction failed: \(error)"))
        }
    }

    /// Sends each emitted update (one per transaction, in order) to every peer, cut to what it
    /// lacks. Never merged: nothing can be lost to a merge.
    private func relay(_ updates: [[UInt8]]) {
        for update in updates {
            // Written by this document's own encoder a moment ago: it always decodes.
            let coverage = try! UpdateCoverage(update: update)
            for id in peers.keys.sorted() {
                guard peers[id] != nil else { continue }
                for f in peers[id]!.session.localUpdate(update, coverage: coverage) { send(f, to: id) }
            }
        }
    }
}

@available(*, unavailable)
extension ReplicaCore: Sendable {}
