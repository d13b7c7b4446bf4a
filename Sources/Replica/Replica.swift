import CRDT
import Journal
import Sync

/// Names one connection given to `connect(_:)`, or one dialled connection (kept across reconnects).
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    public let raw: Int
    public var description: String { "session \(raw)" }
}

public struct ReplicaOptions: Sendable {
    /// After receiving updates from a peer and a quiet `confirmationDelay`, send it our state
    /// vector (a SyncStep1) so that it learns what we hold: that is how a peer's "unsynced" count
    /// goes down during a session. Off: only handshakes confirm.
    public var confirmations = true
    public var confirmationDelay: Duration = .milliseconds(20)
    /// Compact the journal (when its thresholds are passed) after this many appends.
    public var compactEvery = 64
    /// Options of every `SyncSession` (set `resyncInterval` on lossy transports). The replica
    /// sets `reliableDelivery` per connection from its transport's `deliversReliably`.
    public var session = SyncSession.Options()
    /// How often each session's `tick` runs (handshake retries, periodic resync).
    public var tickInterval: Duration = .milliseconds(250)

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

/// Collects what the document emits during one operation (the doc observer cannot call into the
/// actor; the actor drains this right after each synchronous operation).
private final class EmittedUpdates {
    var updates: [[UInt8]] = []
    func take() -> [[UInt8]] {
        defer { updates.removeAll() }
        return updates
    }
}

/// A document, its journal and its sync sessions.
///
/// - Local edits (`edit`) are applied and journaled at once, connected or not, then streamed to
///   every peer whose handshake is done; the others get them in their SyncStep2.
/// - Remote updates are applied, journaled, and forwarded to the other peers, cut to what each
///   lacks (`PeerLink`).
/// - `connect(dial:backoff:sleep:)` re-dials a dropped connection with backoff; every new
///   connection starts with a fresh handshake (both SyncStep1s, both SyncStep2s: one round trip).
/// - `unsyncedChanges`: see `UnsyncedCount`.
///
/// Topology: updates are forwarded to every other peer, so peers should form a tree (a star
/// around a server is one): in a cycle, two peers can forward the same update to a third.
public actor Replica {
    private let store: JournaledDocument
    private let emitted: EmittedUpdates
    public let options: ReplicaOptions

    private struct Link {
        var session: SyncSession
        let owner: Int
        let transport: any Transport
        let outbox: AsyncStream<[UInt8]>.Continuation
        var sender: Task<Void, Never>?
        var receiver: Task<Void, Never>?
        var ticker: Task<Void, Never>?
        var generation = 0
        var confirmationScheduled = false
    }
    private var links: [Int: Link] = [:]
    private var supervisors: [Int: Task<Void, Never>] = [:]
    private var syncedWhenLost: [Int: Bool] = [:]
    private var nextID = 1
    private var unsynced: UnsyncedCount
    private var appendsSinceCompaction = 0
    public private(set) var stats = ReplicaStats()
    /// The latest failed dial of a re-dialling session: its attempt number (1 = first failure
    /// since the last good connection), the wait before the next dial, and why it failed.
    public private(set) var lastDialFailure: DialFailure?

    /// Takes over an open store (nothing else may use it afterwards).
    public init(store: sending JournaledDocument, options: ReplicaOptions = .init()) {
        let emitted = EmittedUpdates()
        store.doc.observeUpdate { [emitted] event in emitted.updates.append(event.update) }
        self.store = store
        self.emitted = emitted
        self.options = options
        let meta = try? store.journal.meta(UnsyncedCount.metaKey)
        unsynced = UnsyncedCount(client: store.doc.clientID, metaValue: meta ?? nil)
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
        _ = emitted.take()
        var failure: (any Error)?
        do {
            if try store.edit(origin: origin ?? "local", body) != nil { noteAppend() }
        } catch {
            failure = error
        }
        let updates = emitted.take()
        if !updates.isEmpty { stats.localEdits += 1 }
        let merged = broadcast(updates, source: nil)
        if let failure { throw failure }
        return merged
    }

    /// Applies an update that came from elsewhere than a session (a file, an import): journaled
    /// and streamed to every peer. Returns whether it changed the document.
    @discardableResult
    public func importUpdate(_ update: [UInt8], origin: String = "import") throws(JournalError) -> Bool {
        _ = emitted.take()
        let seq = try store.apply(update, origin: origin)
        if seq != nil { noteAppend() }
        _ = broadcast(emitted.take(), source: nil)
        return seq != nil
    }

    /// A peer's state vector learnt out of band (e.g. from a hand-over file): confirms our units.
    public func confirm(peerStateVector sv: StateVector) {
        confirmUnits(sv)
    }

    // MARK: - Sessions

    /// Runs a session over `transport` until it ends or `disconnect` is called.
    @discardableResult
    public func connect(_ transport: any Transport) -> SessionID {
        let sid = newID()
        _ = attach(transport, session: sid)
        return SessionID(raw: sid)
    }

    /// Keeps a session up: dials, runs it until it drops, waits `backoff.delay(attempt:)` (with
    /// `sleep`), dials again. The attempt count restarts after a connection that completed its
    /// handshake. Each connection starts with a fresh handshake.
    @discardableResult
    public func connect(dial: @escaping @Sendable () async throws -> any Transport,
                        backoff: Backoff = .init(), sleep: @escaping Sleeper = Sleepers.real) -> SessionID {
        let sid = newID()
        supervisors[sid] = Task {
            var attempt = 0
            while !Task.isCancelled {
                do {
                    let transport = try await dial()
                    if Task.isCancelled {
                        await transport.close()
                        break
                    }
                    let (linkID, receiver) = attach(transport, session: sid)
                    await receiver.value
                    if syncedWhenLost.removeValue(forKey: linkID) == true { attempt = 0 }
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
        for (linkID, link) in links where link.owner == id.raw { drop(linkID) }
    }

    /// Ends every session.
    public func disconnectAll() {
        for sid in Array(supervisors.keys) { supervisors.removeValue(forKey: sid)?.cancel() }
        for linkID in Array(links.keys) { drop(linkID) }
    }

    /// Sends our state vector on every connection: each peer answers with what we lack (repairs
    /// frames a lossy transport dropped) and learns what we hold.
    public func resync() {
        let sv = store.doc.encodeStateVector()
        for id in links.keys.sorted() { send(SyncMessage.syncStep1(stateVector: sv).encoded(), to: id, kind: .step1) }
    }

    /// Disconnects everything and closes the store.
    public func close() {
        disconnectAll()
        store.close()
    }

    // MARK: - State

    public var clientID: ClientID { store.doc.clientID }
    public var stateVector: StateVector { store.doc.stateVector }
    public var hasPending: Bool { store.doc.hasPending }
    /// Open connections, and those whose handshake is complete.
    public var connectionCount: Int { links.count }
    public var syncedConnectionCount: Int { links.values.filter { $0.session.isSynced }.count }
    /// Traffic counters of the open sessions.
    public var sessionStats: [SyncStats] { links.keys.sorted().map { links[$0]!.session.stats } }

    /// Own clock units no peer has confirmed yet (see `UnsyncedCount`).
    public var unsyncedChanges: Int {
        if unsynced.client != store.doc.clientID { unsynced = UnsyncedCount(client: store.doc.clientID) }
        return unsynced.count(local: store.doc.stateVector)
    }

    /// Reads the document.
    public func read<R: Sendable>(_ body: @Sendable (YDoc) throws -> R) rethrows -> R {
        try body(store.doc)
    }

    /// What a peer with state vector `sv` lacks.
    public func encodeStateAsUpdate(since sv: StateVector = StateVector()) -> [UInt8] {
        store.doc.encodeStateAsUpdate(since: sv)
    }

    public func journalStats() throws(JournalError) -> JournalStats {
        _ = try store.flush()
        return try store.journal.stats()
    }

    // MARK: - Internals

    private enum FrameKind { case step1, step2, update, other }

    private let started = ContinuousClock.now
    private var now: Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    private func newID() -> Int {
        defer { nextID += 1 }
        return nextID
    }

    private func attach(_ transport: any Transport, session owner: Int) -> (Int, Task<Void, Never>) {
        let id = newID()
        let (stream, outbox) = AsyncStream<[UInt8]>.makeStream()
        var sessionOptions = options.session
        sessionOptions.reliableDelivery = transport.deliversReliably
        links[id] = Link(session: SyncSession(options: sessionOptions), owner: owner, transport: transport, outbox: outbox)
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
                    receive(frame, link: id)
                }
            } catch {}
            drop(id)
        }
        let interval = options.tickInterval
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard links[id] != nil, !Task.isCancelled else { return }
                let frames = links[id]!.session.tick(store.doc, now: now)
                for f in frames { send(f, to: id, kind: .step1) }
            }
        }
        links[id]?.sender = sender
        links[id]?.receiver = receiver
        links[id]?.ticker = ticker
        for f in links[id]!.session.start(store.doc, now: now) { send(f, to: id, kind: .step1) }
        return (id, receiver)
    }

    private func drop(_ id: Int) {
        guard let link = links.removeValue(forKey: id) else { return }
        syncedWhenLost[id] = link.session.isSynced
        link.outbox.finish()
        link.sender?.cancel()
        link.ticker?.cancel()
        let transport = link.transport
        Task { await transport.close() }
    }

    private func send(_ frame: [UInt8], to id: Int, kind: FrameKind) {
        guard let link = links[id] else { return }
        stats.framesSent += 1
        stats.bytesSent += frame.count
        switch kind {
        case .step1: stats.step1Sent += 1
        case .step2:
            stats.step2Sent += 1
            stats.updateBytesSent += Self.payloadSize(frame)
        case .update:
            stats.updatesSent += 1
            stats.updateBytesSent += Self.payloadSize(frame)
        case .other: break
        }
        link.outbox.yield(frame)
    }

    /// The update inside a `[0][1|2][vb update]` frame.
    private static func payloadSize(_ frame: [UInt8]) -> Int {
        var n = frame.count - 2, len = 1
        while n > 1 << (7 * len) { len += 1 }
        return max(0, frame.count - 2 - len)
    }

    private func receive(_ frame: [UInt8], link id: Int) {
        guard links[id] != nil else { return }
        stats.framesReceived += 1
        stats.bytesReceived += frame.count
        // The peer's own announcement confirms our units (the session folds what we sent into
        // its view of the peer, which is no confirmation).
        let message = try? SyncMessage.decode(frame)
        if case let .syncStep1(bytes)? = message, let sv = try? StateVector(decoding: bytes) {
            confirmUnits(sv)
        }
        // A link that lost a frame since connecting (a partition): its later step 2s are whole again.
        if case .syncStep1? = message, let link = links[id], link.session.options.reliableDelivery,
           !link.session.lossSuspected, !link.transport.deliversReliably {
            links[id]!.session.deliveryMayHaveLost()
        }
        let output: SessionOutput
        do { output = try links[id]!.session.receive(frame, store.doc, now: now) } catch {
            stats.badFrames += 1
            return
        }
        for f in output.send {
            if case .syncStep2? = try? SyncMessage.decode(f) { send(f, to: id, kind: .step2) } else { send(f, to: id, kind: .other) }
        }
        var isStep2 = false
        if case .syncStep2? = message { isStep2 = true }
        for update in output.apply { applyRemote(update, from: id, isStep2: isStep2) }
    }

    private func applyRemote(_ update: [UInt8], from id: Int, isStep2: Bool) {
        // Redundant: the frame carries a struct this document already holds. (A delete of an item
        // already deleted is not counted: two peers may delete the same item concurrently.)
        if let cov = try? UpdateCoverage(update: update) {
            let sv = store.doc.stateVector
            let known = cov.structs.clients.contains { client, ranges in ranges.contains { $0.clock < sv[client] } }
            if known {
                if isStep2 { stats.redundantStep2Received += 1 } else { stats.redundantUpdatesReceived += 1 }
            }
        }
        _ = emitted.take()
        let seq: Int64?
        do { seq = try store.apply(update, origin: "remote") } catch {
            stats.badFrames += 1
            _ = emitted.take()
            return
        }
        if seq != nil {
            stats.remoteUpdatesApplied += 1
            noteAppend()
        } else {
            stats.unchangedUpdatesReceived += 1
        }
        // To every session, the source included: each sends only what its peer lacks (the
        // source knows what it sent us, so it gets only what integrating it released here).
        _ = broadcast(emitted.take(), source: id)
        if seq != nil { scheduleConfirmation(id) }
    }

    /// Streams each update the document emitted (one per transaction, in order) to every session;
    /// each cuts it to what its peer lacks. Never merged, so nothing can be lost to a merge.
    /// Returns the updates as one (nil: none).
    private func broadcast(_ updates: [[UInt8]], source: Int?) -> [UInt8]? {
        for update in updates {
            // Written by this document's own encoder a moment ago: it always decodes.
            let coverage = try! UpdateCoverage(update: update)
            for id in links.keys.sorted() {
                guard links[id] != nil else { continue }
                for f in links[id]!.session.localUpdate(update, coverage: coverage) { send(f, to: id, kind: .update) }
            }
        }
        if updates.count <= 1 { return updates.first }
        // Valid updates from our own encoder always merge (merge fails only on undecodable input).
        return try! Updates.merge(updates)
    }

    private func confirmUnits(_ sv: StateVector) {
        if unsynced.client != store.doc.clientID { unsynced = UnsyncedCount(client: store.doc.clientID) }
        if unsynced.confirm(sv) {
            try? store.journal.setMeta(UnsyncedCount.metaKey, unsynced.metaValue)
        }
    }

    /// After a quiet `confirmationDelay` following updates from peer `id`, send it our state
    /// vector (a SyncStep1; it answers with a SyncStep2 of what we lack, normally nothing).
    private func scheduleConfirmation(_ id: Int) {
        guard options.confirmations, links[id] != nil else { return }
        links[id]!.generation += 1
        if links[id]!.confirmationScheduled { return }
        links[id]!.confirmationScheduled = true
        let delay = options.confirmationDelay
        Task {
            var seen = links[id]?.generation ?? 0
            while true {
                try? await Task.sleep(for: delay)
                guard let link = links[id] else { return }
                if link.generation == seen { break }
                seen = link.generation
            }
            links[id]?.confirmationScheduled = false
            send(SyncMessage.syncStep1(stateVector: store.doc.encodeStateVector()).encoded(), to: id, kind: .step1)
        }
    }

    private func noteAppend() {
        stats.journalWrites += 1
        appendsSinceCompaction += 1
        if appendsSinceCompaction >= options.compactEvery {
            appendsSinceCompaction = 0
            try? store.compactIfNeeded()
        }
    }
}
