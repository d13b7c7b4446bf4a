import CRDT
import Journal
import Sync

/// A document, its journal and its sync sessions: the client host of a `ReplicaCore`.
///
/// - Local edits (`edit`) are applied and journaled at once, connected or not, then streamed to
///   every peer whose handshake is done; the others get them in their SyncStep2.
/// - Remote updates are applied, journaled, and forwarded to the other peers, cut to what each
///   lacks.
/// - `connect(dial:backoff:sleep:)` re-dials a dropped connection with backoff; every new
///   connection starts with a fresh handshake (both SyncStep1s, both SyncStep2s: one round trip).
/// - `unsyncedChanges`: see `UnsyncedCount`.
/// - Presence: `setPresence` publishes ours (y-protocols awareness), `presence` and
///   `presenceChanges` show the others'.
///
/// The replica adds the I/O to the core: one sender and one receiver task per connection, the
/// dialling supervisors, and one timer for the core's deadlines and the sessions' ticks.
///
/// Topology: updates are forwarded to every other peer, so peers should form a tree (a star
/// around a server is one): in a cycle, two peers can forward the same update to a third.
public actor Replica {
    private let core: ReplicaCore
    /// The options the replica was made with.
    public let options: ReplicaOptions

    private struct Link {
        let owner: Int
        let transport: any Transport
        let outbox: AsyncStream<[UInt8]>.Continuation
        var sender: Task<Void, Never>?
        var receiver: Task<Void, Never>?
    }
    private var links: [PeerID: Link] = [:]
    private var supervisors: [Int: Task<Void, Never>] = [:]
    private var syncedWhenLost: [PeerID: Bool] = [:]
    private var nextSession = 1
    private let clock = HostClock()
    private var timer = DeadlineTimer()
    private var lastSessionTick: Double = 0
    private let presenceContinuation: AsyncStream<AwarenessChange>.Continuation
    /// Counters of every session so far.
    public private(set) var stats = ReplicaStats()
    /// The latest failed dial of a re-dialling session: its attempt number (1 = first failure
    /// since the last good connection), the wait before the next dial, and why it failed.
    public private(set) var lastDialFailure: DialFailure?
    /// Every change of the awareness states (ours and the peers'), in order; the newest 256
    /// are kept while nobody reads.
    public nonisolated let presenceChanges: AsyncStream<AwarenessChange>

    /// Takes over an open store (nothing else may use it afterwards).
    public init(store: sending JournaledDocument, options: ReplicaOptions = .init()) {
        self.options = options
        core = ReplicaCore(store: store, options: ReplicaCoreOptions(compactEvery: options.compactEvery,
                                                                     measureRedundancy: options.measureRedundancy),
                           now: 0)
        (presenceChanges, presenceContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
    }

    /// Opens (or creates) the store at `path`.
    public init(path: String, create: Bool = false, clientID: ClientID? = nil,
                journal: JournalOptions = .init(), options: ReplicaOptions = .init()) throws(JournalError) {
        let store = try JournaledDocument.open(path: path, create: create, clientID: clientID, options: journal)
        self.init(store: store, options: options)
    }

    // MARK: - Local changes

    /// Runs `body` in one transaction, journals it and streams it to the connected peers. Returns
    /// the update (nil: nothing changed). If `body` throws after changing the document, the change
    /// is kept, journaled and sent, then the error rethrown.
    @discardableResult
    public func edit(origin: String? = nil, _ body: @Sendable (YDoc) throws -> Void) throws -> [UInt8]? {
        let outcome = core.edit(origin: origin ?? "local", now: clock.now, body)
        perform(outcome.effects)
        if let error = outcome.journalError { throw error }
        if let error = outcome.bodyError { throw error }
        return outcome.update
    }

    /// Applies an update that came from elsewhere than a session (a file, an import): journaled
    /// and streamed to every peer. Returns whether it changed the document.
    @discardableResult
    public func importUpdate(_ update: [UInt8], origin: String = "import") throws(JournalError) -> Bool {
        let (result, effects) = core.importUpdate(update, origin: origin, now: clock.now)
        perform(effects)
        switch result {
        case .changed: return true
        case .unchanged: return false
        case let .invalid(reason): throw .badUpdate(.malformed(reason, offset: 0))
        case let .journalFailed(error): throw error
        case .documentTooLarge: return false  // no size limit on a client replica
        }
    }

    /// A peer's state vector learnt out of band (e.g. from a hand-over file): confirms our units.
    public func confirm(peerStateVector sv: StateVector) {
        core.confirm(peerStateVector: sv)
    }

    // MARK: - Presence

    /// Publishes our presence (a JSON text, e.g. `{"user":{"name":"ada"}}`) to every peer, or
    /// withdraws it (nil). Throws when `json` is not JSON.
    public func setPresence(_ json: String?) throws(DecodingError) {
        if let json { _ = try YAny.parseJSON(json) }
        perform(core.setLocalPresence(json, now: clock.now))
    }

    /// The presence states of the others (JSON texts by client id), as the peers last told us.
    public var presence: [ClientID: String] {
        core.awareness.states.filter { $0.key != core.awareness.clientID }
    }

    /// Our own presence (nil: none published).
    public var localPresence: String? { core.awareness.localState }

    // MARK: - Sessions

    /// Runs a session over `transport` until it ends or `disconnect` is called.
    @discardableResult
    public func connect(_ transport: any Transport) -> SessionID {
        let sid = newSession()
        _ = attach(transport, session: sid)
        return SessionID(raw: sid)
    }

    /// Keeps a session up: dials, runs it until it drops, waits `backoff.delay(attempt:)` (with
    /// `sleep`), dials again. The attempt count restarts after a connection that completed its
    /// handshake. Each connection starts with a fresh handshake.
    @discardableResult
    public func connect(dial: @escaping @Sendable () async throws -> any Transport,
                        backoff: Backoff = .init(), sleep: @escaping Sleeper = Sleepers.real) -> SessionID {
        let sid = newSession()
        supervisors[sid] = Task {
            var attempt = 0
            while !Task.isCancelled {
                do {
                    let transport = try await dial()
                    if Task.isCancelled {
                        await transport.close()
                        break
                    }
                    let (peer, receiver) = attach(transport, session: sid)
                    await receiver.value
                    if syncedWhenLost.removeValue(forKey: peer) == true { attempt = 0 }
                } catch {
                    stats.dialFailures += 1
                    lastDialFailure = DialFailure(attempt: attempt + 1, nextDelay: backoff.delay(attempt: attempt),
                                                  reason: "\(error)")
                }
                if Task.isCancelled { break }
                do { try await sleep(backoff.delay(attempt: attempt)) } catch { break }
                attempt += 1
            }
        }
        return SessionID(raw: sid)
    }

    /// Ends a session (and stops re-dialling it).
    public func disconnect(_ id: SessionID) {
        supervisors.removeValue(forKey: id.raw)?.cancel()
        for (peer, link) in links where link.owner == id.raw { drop(peer) }
    }

    /// Ends every session.
    public func disconnectAll() {
        for sid in Array(supervisors.keys) { supervisors.removeValue(forKey: sid)?.cancel() }
        for peer in Array(links.keys) { drop(peer) }
    }

    /// Sends our state vector on every connection: each peer answers with what we lack (repairs
    /// frames a lossy transport dropped) and learns what we hold.
    public func resync() {
        perform(core.resync())
    }

    /// Disconnects everything and closes the store.
    public func close() {
        disconnectAll()
        timer.cancel()
        presenceContinuation.finish()
        core.store.close()
    }

    // MARK: - State

    /// The document's client id.
    public var clientID: ClientID { core.doc.clientID }
    /// The document's state vector.
    public var stateVector: StateVector { core.doc.stateVector }
    /// Whether updates wait for missing dependencies.
    public var hasPending: Bool { core.doc.hasPending }
    /// Open connections.
    public var connectionCount: Int { links.count }
    /// Open connections whose handshake is complete.
    public var syncedConnectionCount: Int { core.peerIDs.filter { core.session(of: $0)?.isSynced == true }.count }
    /// Traffic counters of the open sessions.
    public var sessionStats: [SyncStats] { core.peerIDs.compactMap { core.session(of: $0)?.stats } }

    /// Own clock units no peer has confirmed yet (see `UnsyncedCount`).
    public var unsyncedChanges: Int { core.unsyncedChanges }

    /// Reads the document.
    public func read<R: Sendable>(_ body: @Sendable (YDoc) throws -> R) rethrows -> R {
        try body(core.doc)
    }

    /// What a peer with state vector `sv` lacks.
    public func encodeStateAsUpdate(since sv: StateVector = StateVector()) -> [UInt8] {
        core.doc.encodeStateAsUpdate(since: sv)
    }

    /// The journal's figures (after appending what is pending).
    public func journalStats() throws(JournalError) -> JournalStats {
        _ = try core.store.flush()
        return try core.store.journal.stats()
    }

    // MARK: - Internals

    private func newSession() -> Int {
        defer { nextSession += 1 }
        return nextSession
    }

    private func policy(for transport: any Transport) -> PeerPolicy {
        var session = options.session
        session.reliableDelivery = transport.deliversReliably
        let d = options.confirmationDelay.components
        let delay = Double(d.seconds) + Double(d.attoseconds) * 1e-18
        return PeerPolicy(acknowledgementDelay: options.confirmations ? delay : nil, session: session)
    }

    private func attach(_ transport: any Transport, session owner: Int) -> (PeerID, Task<Void, Never>) {
        let (id, greeting) = core.openPeer(policy(for: transport), now: clock.now)
        let (stream, outbox) = AsyncStream<[UInt8]>.makeStream()
        links[id] = Link(owner: owner, transport: transport, outbox: outbox)
        stats.connections += 1
        let sender = Task {
            for await frame in stream {
                do { try await transport.send(frame) } catch {
                    drop(id)
                    break
                }
            }
        }
        let receiver = Task {
            do {
                for try await frame in transport.frames {
                    if links[id] == nil { break }
                    receive(frame, from: id)
                }
            } catch {}
            drop(id)
        }
        links[id]?.sender = sender
        links[id]?.receiver = receiver
        perform(greeting)
        return (id, receiver)
    }

    private func drop(_ id: PeerID) {
        guard let link = links.removeValue(forKey: id) else { return }
        let (wasSynced, effects) = core.closePeer(id, now: clock.now)
        syncedWhenLost[id] = wasSynced
        link.outbox.finish()
        link.sender?.cancel()
        let transport = link.transport
        Task { await transport.close() }
        perform(effects)
    }

    private func receive(_ frame: [UInt8], from id: PeerID) {
        guard let link = links[id] else { return }
        stats.framesReceived += 1
        stats.bytesReceived += frame.count
        // A link that may have lost a frame since connecting (a partition): later step 2s are whole.
        if !link.transport.deliversReliably { core.suspectLoss(id) }
        perform(core.receive(frame, from: id, now: clock.now))
    }

    /// Carries out what the core asked for, then re-arms the timer.
    private func perform(_ effects: [ReplicaEffect]) {
        for effect in effects {
            switch effect {
            case let .send(id, frame):
                guard let link = links[id] else { continue }
                stats.recordSent(frame)
                link.outbox.yield(frame)
            case let .close(id, _, _):
                drop(id)
            case .persisted:
                stats.journalWrites += 1
            case let .presence(change):
                presenceContinuation.yield(change)
            case let .note(note):
                stats.record(note)
            }
        }
        arm()
    }

    /// The next wake-up: the core's deadline, or the sessions' tick while connected.
    private func arm() {
        let now = clock.now
        var deadline = core.nextDeadline
        if !links.isEmpty {
            let t = options.tickInterval.components
            let next = lastSessionTick + Double(t.seconds) + Double(t.attoseconds) * 1e-18
            deadline = min(deadline ?? next, next)
        }
        guard let deadline else { return }
        timer.arm(at: max(deadline, now), now: now) { [weak self] in await self?.wake() }
    }

    private func wake() {
        timer.fired()
        let now = clock.now
        if !links.isEmpty { lastSessionTick = now }
        perform(core.tick(now: now))
    }
}
