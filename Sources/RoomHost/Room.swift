import CRDT
import Foundation
import Journal
import Replica
import Sync

/// Why a room refused a call from the HTTP API (`applyUpdate` and the like).
public enum RoomError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The update does not decode or the document refused it.
    case invalidUpdate(String)
    /// Applying it would take the document over `RoomLimits.maxDocumentBytes` (estimated sizes in bytes).
    case documentTooLarge(limit: Int, wouldBe: Int)
    /// Read-only access (no call of `Room` throws it today).
    case readOnly
    /// The room's journal could not store the change.
    case journal(JournalError)
    /// The room was closed (unloaded or the server is stopping).
    case closed

    /// One line for a person.
    public var description: String {
        switch self {
        case let .invalidUpdate(reason): "invalid update: \(reason)"
        case let .documentTooLarge(limit, wouldBe): "document would be about \(wouldBe) bytes, over the limit of \(limit)"
        case .readOnly: "read-only access"
        case let .journal(e): "journal: \(e)"
        case .closed: "room is closed"
        }
    }
}

/// One hosted document: the server host of a `ReplicaCore`, with the connections editing it.
///
/// The y-websocket server behaviour (spec §7.4), with two differences that Yjs clients cannot
/// observe: each connection has a `SyncSession`, so a connection is only sent what it lacks
/// (never its own updates back), and every update is journaled before it is relayed or
/// acknowledged. An update the journal refuses (a full disk) leaves the room as it was: the
/// core reloads the document from the journal (`JournalFailureMode.rollBack`) and relays
/// nothing of it, and its sender is closed with 1011 and offers it again when it reconnects, so
/// no client, HTTP read or new joiner ever sees what a restart would lose. The room adds to
/// the core: join checks (closed, full), y-partykit's chunked messages, autosave to the content
/// store, metrics and logs.
public actor Room {
    /// The room's name (its key in the host).
    public nonisolated let name: String
    private let core: ReplicaCore
    private let config: RoomConfig
    private let counters: ServerCounters
    /// The server's budget for unfinished chunked messages (shared by every room of the host).
    private let chunkBudget: ChunkBudget
    private let log: RoomLogger
    /// The content-store row this room writes back to (autosave), if any.
    private let contentID: String?

    private struct Connection {
        let connection: any RoomConnection
        let label: String
        /// A y-partykit chunked message being received (`y-pk-batch#` start ... end).
        var batch: PartyBatch?
        /// Awareness entries about another connection's client ids were logged for it once.
        var toldSpoof = false
    }
    private var connections: [PeerID: Connection] = [:]
    private var autosave: AutosaveSchedule
    private var timer = DeadlineTimer()
    private let clock = HostClock()
    private var isClosed = false
    /// HTTP broadcasts' frame limit and rates.
    private var broadcasts: BroadcastLimiter
    /// When the last connection left (or the room loaded), for idle eviction.
    public private(set) var idleSince: Double?

    init(name: String, store: sending JournaledDocument, contentID: String?, config: RoomConfig,
         counters: ServerCounters, chunkBudget: ChunkBudget, log: @escaping RoomLogger) {
        self.name = name
        self.chunkBudget = chunkBudget
        self.contentID = contentID
        self.config = config
        self.counters = counters
        self.log = log
        // y-websocket relays awareness to its sender too; the server itself has no presence.
        core = ReplicaCore(store: store, options: ReplicaCoreOptions(compactEvery: config.compactEvery,
                                                                     maxDocumentBytes: config.limits.maxDocumentBytes,
                                                                     awarenessEcho: true, awarenessLimits: config.limits.awareness,
                                                                     journalFailure: .rollBack, exclusiveAwarenessClients: true),
                           now: 0)
        autosave = AutosaveSchedule(debounce: config.autosaveDebounce, maxDelay: config.autosaveMaxDelay)
        broadcasts = BroadcastLimiter(limits: config.limits)
        idleSince = 0
    }

    // MARK: - Connections

    /// Adds a connection: sends it our SyncStep1 and the known awareness states. Nil (and the
    /// connection closed) when the room is full or closed.
    public func join(_ connection: any RoomConnection, options: JoinOptions = .init()) -> PeerID? {
        guard !isClosed else {
            connection.close(.goingAway, reason: "room is closing")
            return nil
        }
        guard connections.count < config.limits.maxConnectionsPerRoom else {
            counters.add("ysync_connections_refused_total", labels: ["reason": "room_full"])
            log(.warning, "room \(name): refused \(options.label): \(config.limits.maxConnectionsPerRoom) connections already")
            connection.close(.tryAgainLater, reason: "room is full")
            return nil
        }
        // Room connections are ordered and lossless while they live (WebSocket): later step 2
        // answers need not repeat what the connection was already sent, and the handshake is
        // never retried. Messages to a connection stay under the server's own frame limit: a
        // larger step 2 or update goes in several valid updates.
        let limits = config.limits
        let policy = PeerPolicy(
            access: options.access, acknowledgementDelay: options.durableAcks ? 0 : nil,
            rateLimit: .init(perSecond: limits.messagesPerSecond, burst: limits.messageBurst), closesOnBadInput: true,
            session: SyncSession.Options(handshakeRetry: .infinity, reliableDelivery: true, maxUpdateBytes: limits.maxFrameBytes),
            label: options.label, maxAwarenessClients: limits.maxAwarenessClientsPerConnection)
        let (id, greeting) = core.openPeer(policy, now: clock.now)
        connections[id] = Connection(connection: connection, label: options.label)
        idleSince = nil
        counters.add("ysync_connections_total")
        perform(greeting)
        log(.debug, "room \(name): \(id) \(options.label) joined (\(options.access.rawValue)\(options.durableAcks ? ", acks" : ""))")
        return id
    }

    /// Removes a connection (it closed): its awareness states are removed and the removal
    /// broadcast to the others.
    public func leave(_ id: PeerID) {
        guard let gone = connections.removeValue(forKey: id) else { return }
        release(gone.batch)
        let (_, effects) = core.closePeer(id, now: clock.now)
        perform(effects)
        if connections.isEmpty { idleSince = clock.now }
        log(.debug, "room \(name): \(id) left")
    }

    /// The socket layer closed this connection itself (1009: a message over the frame limit,
    /// which it refuses before the room sees it; 4008: its outbound queue overflowed): counted
    /// and logged like the room's own closes.
    public func closedBySocket(_ id: PeerID, _ code: CloseCode, reason: String) {
        disconnect(id, code, reason)
    }

    /// Handles one message from a connection. Anything wrong closes that connection only.
    public func receive(_ message: InboundMessage, from id: PeerID) {
        guard connections[id] != nil else { return }
        let t = clock.now
        let (allowed, refusal) = core.admit(id, now: t)
        guard allowed else {
            perform(refusal)
            return
        }
        switch message {
        case let .text(text):
            counters.add("ysync_bytes_received_total", text.utf8.count)
            if text.hasPrefix(PartyBatch.prefix) {
                receiveBatchControl(text, from: id, now: t)
            } else {
                // y-partykit ignores text frames it does not know; so do we.
                counters.add("ysync_messages_received_total", labels: ["kind": "text"])
            }
        case let .binary(frame):
            counters.add("ysync_bytes_received_total", frame.count)
            if connections[id]?.batch != nil {
                guard chunkBudget.take(frame.count) else {
                    counters.add("ysync_chunked_refused_total", labels: ["limit": "server_bytes"])
                    disconnect(id, .tryAgainLater, "chunked message: the server holds \(chunkBudget.bytesHeld) bytes of unfinished chunked messages, this part of \(frame.count) would pass its budget of \(chunkBudget.limit) (--max-chunked-bytes-total)")
                    return
                }
                do throws(PartyBatch.Failure) { try connections[id]!.batch!.append(frame) } catch {
                    chunkBudget.give(frame.count)  // not appended
                    disconnect(id, .invalidPayload, "chunked message: \(error)")
                }
            } else {
                perform(core.receive(frame, from: id, now: t))
            }
        }
    }

    /// y-partykit's chunking of client messages over 1 MB (spec §7.5): a start control frame,
    /// binary parts, an end control frame; the whole message is then handled as one frame.
    private func receiveBatchControl(_ text: String, from id: PeerID, now t: Double) {
        let control: PartyBatch.Control
        do throws(PartyBatch.Failure) { control = try PartyBatch.Control(parsing: text) } catch {
            disconnect(id, .invalidPayload, "chunked message: \(error)")
            return
        }
        switch control.type {
        case "start":
            guard connections[id]?.batch == nil else {
                disconnect(id, .invalidPayload, "chunked message: start inside batch \(connections[id]!.batch!.id)")
                return
            }
            guard control.size <= config.limits.maxFrameBytes else {
                disconnect(id, .messageTooBig, "chunked message of \(control.size) bytes (limit \(config.limits.maxFrameBytes))")
                return
            }
            connections[id]?.batch = PartyBatch(control)
        case "end":
            guard let batch = connections[id]?.batch else {
                disconnect(id, .invalidPayload, "chunked message: end without start")
                return
            }
            connections[id]?.batch = nil
            release(batch)
            do throws(PartyBatch.Failure) { try batch.finish(control) } catch {
                disconnect(id, .invalidPayload, "chunked message: \(error)")
                return
            }
            counters.add("ysync_chunked_messages_total")
            perform(core.receive(batch.bytes, from: id, now: t))
        default:
            disconnect(id, .invalidPayload, "chunked message: unknown type \(control.type)")
        }
    }

    /// Gives a dropped (or finished) chunked message's bytes back to the server's budget.
    private func release(_ batch: PartyBatch?) {
        if let batch { chunkBudget.give(batch.bytes.count) }
    }

    /// Closes one connection with `code` (the room's own decision), logs why, and removes it.
    private func disconnect(_ id: PeerID, _ code: CloseCode, _ reason: String) {
        guard connections[id] != nil else { return }
        let (_, effects) = core.closePeer(id, now: clock.now)
        closed(id, code, reason)
        perform(effects)
    }

    /// A connection the core dropped (or `disconnect` did): count, log, close the socket.
    private func closed(_ id: PeerID, _ code: CloseCode, _ reason: String) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        release(connection.batch)
        counters.add("ysync_connections_closed_total", labels: ["code": String(code.rawValue)])
        log(code == .internalError ? .error : .warning, "room \(name): closing \(id) \(connection.label): \(code): \(reason)")
        connection.connection.close(code, reason: String(reason.prefix(120)))  // close reasons are limited to 123 bytes
        if connections.isEmpty { idleSince = clock.now }
        log(.debug, "room \(name): \(id) left")
    }

    /// Carries out what the core asked for, then re-arms the timer.
    private func perform(_ effects: [ReplicaEffect]) {
        for effect in effects {
            switch effect {
            case let .send(id, frame): send(.binary(frame), to: id)
            case let .close(id, code, reason): closed(id, code, reason)
            case .persisted: noteChange()
            case .presence: break
            case let .note(note): count(note)
            }
        }
        if let failure = core.storeFailure, !isClosed { fail(failure) }
        arm()
    }

    /// The core could not reload its document after a failed write: it may hold what the
    /// journal does not. The room closes without persisting (that change is dropped), so the
    /// host unloads it and the next use loads it from the journal again.
    private func fail(_ error: JournalError) {
        log(.error, "room \(name): closed: the document could not be reloaded from its journal: \(error)")
        for id in connections.keys.sorted() { closed(id, .internalError, "the room could not be reloaded") }
        timer.cancel()
        isClosed = true
        core.store.close()
    }

    /// The one place the core's notes become metrics and log lines.
    private func count(_ note: ReplicaNote) {
        switch note {
        case let .received(_, kind):
            counters.add("ysync_messages_received_total", labels: ["kind": kind.rawValue])
        case .invalid, .localEdit, .redundant:
            break  // invalid input closes the connection: the close is counted and logged
        case .applied: counters.add("ysync_updates_applied_total")
        case .unchanged: counters.add("ysync_updates_unchanged_total")
        case let .refused(id, count, .awarenessSpoof):
            counters.add("ysync_awareness_spoofed_total", count)
            // Once per connection: a client that keeps trying would fill the log.
            if connections[id]?.toldSpoof == false {
                connections[id]?.toldSpoof = true
                log(.warning, "room \(name): dropped awareness entries from \(id) \(connections[id]!.label) about client ids another connection announced (\(count) in this message; further ones are counted, not logged)")
            }
        case .refused(_, _, .awarenessLimit):
            counters.add("ysync_awareness_refused_total")  // the close that follows is logged
        case let .refused(id, count, reason):
            counters.add("ysync_updates_refused_total", labels: ["reason": reason.rawValue], count)
            if reason == .readOnly { log(.debug, "room \(name): ignored \(count) update(s) from read-only \(id)") }
        case .ackSent: counters.add("ysync_acks_sent_total")
        case let .denied(id, reason):
            log(.debug, "room \(name): \(id) sent an auth denial (\(reason))")  // clients have no say over a room
        case let .failure(kind, message):
            counters.add("ysync_errors_total", labels: ["kind": kind.rawValue])
            log(.error, "room \(name): \(message)")
        }
    }

    /// The next wake-up: the core's deadline (awareness checks) or the autosave.
    private func arm() {
        guard !isClosed else { return }
        let deadlines = [core.nextDeadline, autosave.due].compactMap { $0 }
        guard let deadline = deadlines.min() else { return }
        let now = clock.now
        timer.arm(at: max(deadline, now), now: now) { [weak self] in await self?.wake() }
    }

    private func wake() {
        timer.fired()
        guard !isClosed else { return }
        let now = clock.now
        if let due = autosave.due, due <= now { saveContent() }
        perform(core.tick(now: now))
    }

    // MARK: - Document

    /// `POST .../update`: applies an update v1 as if a writer had sent it.
    @discardableResult
    public func applyUpdate(_ update: [UInt8]) throws(RoomError) -> Bool {
        guard !isClosed else { throw .closed }
        do { _ = try UpdateCoverage(update: update) } catch { throw .invalidUpdate("\(error)") }
        let (result, effects) = core.importUpdate(update, origin: "http", now: clock.now)
        perform(effects)
        switch result {
        case .changed: return true
        case .unchanged: return false
        case let .invalid(reason): throw .invalidUpdate(reason)
        case let .documentTooLarge(limit, wouldBe): throw .documentTooLarge(limit: limit, wouldBe: wouldBe)
        case let .journalFailed(error): throw .journal(error)
        }
    }

    /// The document as an update v1; with `since`, only what a peer holding it lacks.
    public func state(since sv: StateVector? = nil) -> [UInt8] {
        core.doc.encodeStateAsUpdate(since: sv ?? StateVector())
    }

    /// The document's state vector.
    public var stateVector: StateVector { core.doc.stateVector }

    /// The text of root type `name` (empty when absent).
    public func text(_ name: String) -> String {
        core.doc.getText(name).string
    }

    // MARK: - Presence and broadcast

    /// Awareness states of the connected clients (JSON text), by client id.
    public var awarenessStates: [ClientID: String] {
        core.awareness.states.filter { $0.key != core.awareness.clientID }
    }

    /// Open connections.
    public var connectionCount: Int { connections.count }

    /// Checks an HTTP broadcast of `bytes` against the frame limit and the room's broadcast
    /// rates (taking its tokens); throws why it may not go (counted in
    /// `ysync_broadcasts_refused_total`). Call before `broadcastText`.
    public func admitBroadcast(bytes: Int) throws(BroadcastRefusal) {
        guard let refusal = broadcasts.admit(bytes: bytes, now: clock.now) else { return }
        counters.add("ysync_broadcasts_refused_total", labels: ["reason": refusal.metricReason])
        throw refusal
    }

    /// Sends `text` as a text frame to every connection; returns how many got it.
    public func broadcastText(_ text: String) -> Int {
        for id in connections.keys.sorted() { send(.text(text), to: id) }
        return connections.count
    }

    private func send(_ frame: OutboundFrame, to id: PeerID) {
        guard let connection = connections[id] else { return }
        switch frame {
        case let .binary(b): counters.add("ysync_bytes_sent_total", b.count)
        case let .text(s): counters.add("ysync_bytes_sent_total", s.utf8.count)
        }
        counters.add("ysync_messages_sent_total")
        connection.connection.send(frame)
    }

    // MARK: - Persistence

    /// The document changed: schedule the autosave (rooms with a content-store row only).
    private func noteChange() {
        guard contentID != nil, config.contentStore != nil else { return }
        autosave.changed(now: clock.now)
    }

    /// Writes `yDoc` (base64 of the full state) and `body` (the text of the body root) back to
    /// the content store. A failed write stays unsaved: retried after the next change, by
    /// `persist()` or `close()`.
    private func saveContent() {
        guard let contentID, let content = config.contentStore, let since = autosave.begin() else { return }
        let yDoc = Base64.encode(core.doc.encodeStateAsUpdate())
        let body = core.doc.getText(config.bodyText).string
        do {
            try content.writeBack(id: contentID, yDocBase64: yDoc, body: body)
            counters.add("ysync_autosaves_total")
            log(.debug, "room \(name): saved to the content store (\(body.utf16.count) UTF-16 units)")
        } catch {
            counters.add("ysync_errors_total", labels: ["kind": "autosave"])
            log(.error, "room \(name): autosave to the content store failed: \(error)")
            autosave.failed(since: since)
        }
    }

    /// Journal figures of this room (for metrics).
    public func journalFigures() -> (rows: Int, bytes: Int, rowsSinceSnapshot: Int)? {
        guard !isClosed, let s = try? core.store.journal.stats() else { return nil }
        let since = Int(s.lastSeq - (s.lastSnapshotSeq ?? 0))
        return (s.rows, s.storedBytes, max(0, since))
    }

    /// Flushes the journal, compacts it when due and saves to the content store.
    public func persist() {
        guard !isClosed else { return }
        do throws(JournalError) { try core.persist() } catch {
            counters.add("ysync_errors_total", labels: ["kind": "journal"])
            log(.error, "room \(name): persisting failed: \(error)")
        }
        saveContent()
    }

    /// Persists, closes every connection with `code` and the journal. The room is unusable after.
    public func close(_ code: CloseCode = .goingAway, reason: String = "server shutting down") {
        guard !isClosed else { return }
        persist()
        for (_, connection) in connections {
            release(connection.batch)
            connection.connection.close(code, reason: reason)
        }
        connections.removeAll()
        timer.cancel()
        isClosed = true
        core.store.close()
    }
}
