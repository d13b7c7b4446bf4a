import CRDT
import Foundation
import Journal
import Sync

/// Collects what the document emits during one operation (the observer cannot call into the
/// actor; the room drains it right after each synchronous operation).
private final class EmittedUpdates {
    var updates: [[UInt8]] = []
    func take() -> [[UInt8]] {
        defer { updates.removeAll() }
        return updates
    }
}

public enum RoomError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidUpdate(String)
    case documentTooLarge(limit: Int, wouldBe: Int)
    case readOnly
    case journal(JournalError)
    case closed

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

/// One hosted document: its journal, the connections editing it and their awareness states.
///
/// The y-websocket server behaviour (spec §7.4), with two differences that Yjs clients cannot
/// observe: each connection has a `SyncSession`, so a connection is only sent what it lacks
/// (never its own updates back), and every update is journaled before it is relayed or
/// acknowledged.
public actor Room {
    public nonisolated let name: String
    private let store: JournaledDocument
    private let emitted: EmittedUpdates
    private let config: RoomConfig
    private let counters: ServerCounters
    private let log: RoomLogger
    /// The content-store row this room writes back to (autosave), if any.
    private let contentID: String?

    private struct Member {
        var session: SyncSession
        let connection: any RoomConnection
        let options: MemberOptions
        /// Awareness clients this connection announced (removed when it leaves).
        var clients: Set<ClientID> = []
        var limiter: RateLimiter
        /// A y-partykit chunked message being received (`y-pk-batch#` start ... end).
        var batch: PartyBatch?
    }
    private var members: [MemberID: Member] = [:]
    private var nextMember = 1
    private var awareness: Awareness
    private var awarenessTimer: Task<Void, Never>?
    /// Upper bound of the encoded document size: the full state at load, plus every applied update.
    private var sizeEstimate: Int
    private var appendsSinceCompaction = 0
    private var dirtySince: Double?
    private var lastChange: Double = 0
    private var autosaveTask: Task<Void, Never>?
    private var isClosed = false
    /// When the last connection left (or the room loaded), for idle eviction.
    public private(set) var idleSince: Double?

    private let started = ContinuousClock.now
    private var now: Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    init(name: String, store: sending JournaledDocument, contentID: String?, config: RoomConfig,
         counters: ServerCounters, log: @escaping RoomLogger) {
        let emitted = EmittedUpdates()
        store.doc.observeUpdate { [emitted] event in emitted.updates.append(event.update) }
        self.name = name
        self.store = store
        self.emitted = emitted
        self.contentID = contentID
        self.config = config
        self.counters = counters
        self.log = log
        var awareness = Awareness(clientID: store.doc.clientID, now: 0)
        awareness.setLocalState(nil, now: 0)  // the server itself has no presence (y-websocket: null)
        self.awareness = awareness
        self.sizeEstimate = store.doc.encodeStateAsUpdate().count
        self.idleSince = 0
    }

    // MARK: - Connections

    /// Adds a connection: sends it our SyncStep1 and the known awareness states. Nil (and the
    /// connection closed) when the room is full or closed.
    public func join(_ connection: any RoomConnection, options: MemberOptions = .init()) -> MemberID? {
        guard !isClosed else {
            connection.close(.goingAway, reason: "room is closing")
            return nil
        }
        guard members.count < config.limits.maxConnectionsPerRoom else {
            counters.add("ysync_connections_refused_total", labels: ["reason": "room_full"])
            log(.warning, "room \(name): refused \(options.label): \(config.limits.maxConnectionsPerRoom) connections already")
            connection.close(.tryAgainLater, reason: "room is full")
            return nil
        }
        let id = MemberID(raw: nextMember)
        nextMember += 1
        // Room connections are ordered and lossless while they live (WebSocket): later step 2
        // answers need not repeat what the connection was already sent.
        // Messages to a connection stay under the server's own frame limit: a larger step 2 or
        // update goes in several valid updates (a client with the same limit can take them).
        let sessionOptions = SyncSession.Options(reliableDelivery: true, maxUpdateBytes: config.limits.maxFrameBytes)
        var member = Member(session: SyncSession(options: sessionOptions), connection: connection, options: options,
                            limiter: RateLimiter(perSecond: config.limits.messagesPerSecond, burst: config.limits.messageBurst))
        let greeting = member.session.start(store.doc, now: now)
        members[id] = member
        idleSince = nil
        counters.add("ysync_connections_total")
        for f in greeting { send(.binary(f), to: id) }
        let present = awareness.states.keys.sorted()
        if !present.isEmpty {  // y-websocket sends awareness on connect only when someone is there
            send(.binary(awareness.awarenessMessage(clients: present)), to: id)
        }
        startAwarenessTimer()
        log(.debug, "room \(name): \(id) \(options.label) joined (\(options.access.rawValue)\(options.durableAcks ? ", acks" : ""))")
        return id
    }

    /// Removes a connection (it closed): its awareness states are removed and the removal
    /// broadcast to the others.
    public func leave(_ id: MemberID) {
        guard let member = members.removeValue(forKey: id) else { return }
        let change = awareness.removeStates(Array(member.clients), now: now)
        if !change.removed.isEmpty {
            broadcast(.binary(awareness.awarenessMessage(clients: change.removed)), except: nil)
        }
        if members.isEmpty {
            idleSince = now
            awarenessTimer?.cancel()
            awarenessTimer = nil
        }
        log(.debug, "room \(name): \(id) left")
    }

    /// Handles one message from a connection. Anything wrong closes that connection only.
    public func receive(_ message: InboundMessage, from id: MemberID) {
        guard var member = members[id] else { return }
        let t = now
        guard member.limiter.allow(now: t) else {
            members[id] = member
            disconnect(id, .rateLimited, "more than \(Int(config.limits.messagesPerSecond)) messages per second")
            return
        }
        members[id] = member
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
            if members[id]?.batch != nil {
                do throws(PartyBatch.Failure) { try members[id]!.batch!.append(frame) } catch {
                    disconnect(id, .invalidPayload, "chunked message: \(error)")
                }
            } else {
                receiveFrame(frame, from: id, now: t)
            }
        }
    }

    /// y-partykit's chunking of client messages over 1 MB (spec §7.5): a start control frame,
    /// binary parts, an end control frame; the whole message is then handled as one frame.
    private func receiveBatchControl(_ text: String, from id: MemberID, now t: Double) {
        let control: PartyBatch.Control
        do throws(PartyBatch.Failure) { control = try PartyBatch.Control(parsing: text) } catch {
            disconnect(id, .invalidPayload, "chunked message: \(error)")
            return
        }
        switch control.type {
        case "start":
            guard members[id]?.batch == nil else {
                disconnect(id, .invalidPayload, "chunked message: start inside batch \(members[id]!.batch!.id)")
                return
            }
            guard control.size <= config.limits.maxFrameBytes else {
                disconnect(id, .messageTooBig, "chunked message of \(control.size) bytes (limit \(config.limits.maxFrameBytes))")
                return
            }
            members[id]?.batch = PartyBatch(control)
        case "end":
            guard let batch = members[id]?.batch else {
                disconnect(id, .invalidPayload, "chunked message: end without start")
                return
            }
            members[id]?.batch = nil
            do throws(PartyBatch.Failure) { try batch.finish(control) } catch {
                disconnect(id, .invalidPayload, "chunked message: \(error)")
                return
            }
            counters.add("ysync_chunked_messages_total")
            receiveFrame(batch.bytes, from: id, now: t)
        default:
            disconnect(id, .invalidPayload, "chunked message: unknown type \(control.type)")
        }
    }

    private func receiveFrame(_ frame: [UInt8], from id: MemberID, now t: Double) {
        guard var member = members[id] else { return }
        let output: SessionOutput
        do {
            output = try member.session.receive(frame, store.doc, now: t)
        } catch {
            counters.add("ysync_messages_received_total", labels: ["kind": "invalid"])
            disconnect(id, .invalidPayload, "bad message: \(error)")
            return
        }
        members[id] = member
        counters.add("ysync_messages_received_total", labels: ["kind": Self.kind(of: frame)])
        for f in output.send { send(.binary(f), to: id) }

        var changed = false
        if !output.apply.isEmpty {
            if member.options.access == .read {
                counters.add("ysync_updates_refused_total", labels: ["reason": "read_only"], output.apply.count)
                log(.debug, "room \(name): ignored \(output.apply.count) update(s) from read-only \(id)")
            } else {
                for update in output.apply {
                    do {
                        changed = try integrate(update, origin: "remote") || changed
                    } catch let RoomError.documentTooLarge(limit, wouldBe) {
                        counters.add("ysync_updates_refused_total", labels: ["reason": "document_too_large"])
                        disconnect(id, .documentTooLarge, "document would be \(wouldBe) bytes (limit \(limit))")
                        return
                    } catch let RoomError.invalidUpdate(reason) {
                        disconnect(id, .invalidPayload, "bad update: \(reason)")
                        return
                    } catch {
                        counters.add("ysync_errors_total", labels: ["kind": "journal"])
                        log(.error, "room \(name): could not journal an update from \(id): \(error)")
                        disconnect(id, .internalError, "could not store the update")
                        return
                    }
                }
            }
        }
        // A step 2 that changed nothing is (after the handshake) the answer to our previous ack:
        // it still has content when the client's document has deletions (a step 2 carries the
        // whole delete set), so acknowledging it would ping-pong for ever.
        let isUpdateMessage = frame.count > 1 && frame[0] == 0 && frame[1] == 2
        if !output.apply.isEmpty, changed || isUpdateMessage || output.becameSynced,
           member.options.durableAcks, member.options.access == .write, members[id] != nil {
            // Everything this connection sent so far is journaled (or was already known):
            // tell it what we hold. Only for messages with content: the client answers our
            // step 1 with a step 2, and acknowledging an empty one would never end.
            send(.binary(SyncMessage.syncStep1(stateVector: store.doc.encodeStateVector()).encoded()), to: id)
            counters.add("ysync_acks_sent_total")
        }

        for update in output.awareness {
            let entries: [Awareness.WireEntry]
            let change: AwarenessChange
            do {
                entries = try Awareness.decodeUpdate(update)
                change = try awareness.apply(update, now: t)
            } catch {
                disconnect(id, .invalidPayload, "bad awareness update: \(error)")
                return
            }
            if members[id] != nil {
                for e in entries {
                    if e.json == nil { members[id]!.clients.remove(e.client) } else { members[id]!.clients.insert(e.client) }
                }
            }
            if !change.broadcast.isEmpty {
                broadcast(.binary(awareness.awarenessMessage(clients: change.broadcast)), except: nil)
            }
        }
        if output.queryAwareness {
            send(.binary(awareness.awarenessMessage(clients: awareness.states.keys.sorted())), to: id)
        }
    }

    private static func kind(of frame: [UInt8]) -> String {
        switch (frame.first, frame.count > 1 ? frame[1] : nil) {
        case (0, 0): "sync_step1"
        case (0, 1): "sync_step2"
        case (0, 2): "update"
        case (1, _): "awareness"
        case (2, _): "auth"
        case (3, _): "query_awareness"
        default: "other"
        }
    }

    /// Closes one connection with `code`, logs why, and removes it.
    private func disconnect(_ id: MemberID, _ code: CloseCode, _ reason: String) {
        guard let member = members[id] else { return }
        counters.add("ysync_connections_closed_total", labels: ["code": String(code.rawValue)])
        log(code == .internalError ? .error : .warning, "room \(name): closing \(id) \(member.options.label): \(code): \(reason)")
        member.connection.close(code, reason: String(reason.prefix(120)))  // close reasons are limited to 123 bytes
        leave(id)
    }

    // MARK: - Document

    /// Applies and journals `update`, then relays what it changed to every connection (each
    /// gets only what it lacks). Returns whether the document changed.
    private func integrate(_ update: [UInt8], origin: String) throws(RoomError) -> Bool {
        guard !isClosed else { throw .closed }
        let wouldBe = sizeEstimate + update.count
        if wouldBe > config.limits.maxDocumentBytes {
            throw .documentTooLarge(limit: config.limits.maxDocumentBytes, wouldBe: wouldBe)
        }
        _ = emitted.take()
        let seq: Int64?
        do {
            seq = try store.apply(update, origin: origin)
        } catch {
            _ = emitted.take()
            if case let .badUpdate(reason) = error { throw .invalidUpdate("\(reason)") }
            throw .journal(error)
        }
        let updates = emitted.take()
        guard seq != nil else {
            counters.add("ysync_updates_unchanged_total")
            return false
        }
        sizeEstimate += update.count
        counters.add("ysync_updates_applied_total")
        noteAppend()
        relay(updates)
        noteChange()
        return true
    }

    /// Sends each emitted update (one per transaction, in order) to every member, cut to what it
    /// lacks. Never merged: nothing can be lost to a merge that fails.
    private func relay(_ updates: [[UInt8]]) {
        for update in updates {
            // Written by this document's own encoder a moment ago: it always decodes.
            let coverage = try! UpdateCoverage(update: update)
            for id in members.keys.sorted() {
                guard members[id] != nil else { continue }
                let frames = members[id]!.session.localUpdate(update, coverage: coverage)
                for f in frames { send(.binary(f), to: id) }
            }
        }
    }

    /// `POST .../update`: applies an update v1 as if a writer had sent it.
    @discardableResult
    public func applyUpdate(_ update: [UInt8]) throws(RoomError) -> Bool {
        do { _ = try UpdateCoverage(update: update) } catch { throw .invalidUpdate("\(error)") }
        return try integrate(update, origin: "http")
    }

    /// The document as an update v1; with `since`, only what a peer holding it lacks.
    public func state(since sv: StateVector? = nil) -> [UInt8] {
        store.doc.encodeStateAsUpdate(since: sv ?? StateVector())
    }

    public var stateVector: StateVector { store.doc.stateVector }

    /// The text of root type `name` (empty when absent).
    public func text(_ name: String) -> String {
        store.doc.getText(name).string
    }

    // MARK: - Presence and broadcast

    /// Awareness states of the connected clients (JSON text), by client id.
    public var awarenessStates: [ClientID: String] {
        awareness.states.filter { $0.key != awareness.clientID }
    }

    public var connectionCount: Int { members.count }

    /// Sends `text` as a text frame to every connection; returns how many got it.
    public func broadcastText(_ text: String) -> Int {
        let n = members.count
        broadcast(.text(text), except: nil)
        return n
    }

    private func broadcast(_ frame: OutboundFrame, except: MemberID?) {
        for id in members.keys.sorted() where id != except { send(frame, to: id) }
    }

    private func send(_ frame: OutboundFrame, to id: MemberID) {
        guard let member = members[id] else { return }
        switch frame {
        case let .binary(b): counters.add("ysync_bytes_sent_total", b.count)
        case let .text(s): counters.add("ysync_bytes_sent_total", s.utf8.count)
        }
        counters.add("ysync_messages_sent_total")
        member.connection.send(frame)
    }

    /// Drops remote awareness states not renewed for 30 s (y-protocols' timeout), as the
    /// y-websocket server's own awareness does, and tells the others.
    private func startAwarenessTimer() {
        guard awarenessTimer == nil else { return }
        awarenessTimer = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(Awareness.checkInterval))
                guard let self, !Task.isCancelled else { return }
                await self.awarenessTick()
            }
        }
    }

    private func awarenessTick() {
        let (_, timedOut) = awareness.tick(now: now)
        guard !timedOut.isEmpty else { return }
        for id in members.keys { members[id]!.clients.subtract(timedOut) }
        broadcast(.binary(awareness.awarenessMessage(clients: timedOut)), except: nil)
    }

    // MARK: - Persistence

    private func noteAppend() {
        appendsSinceCompaction += 1
        if appendsSinceCompaction >= config.compactEvery {
            appendsSinceCompaction = 0
            do { try store.compactIfNeeded() } catch {
                counters.add("ysync_errors_total", labels: ["kind": "compaction"])
                log(.error, "room \(name): compaction failed: \(error)")
            }
        }
    }

    /// Autosave to the content store: `autosaveDebounce` after the last change, and at most
    /// `autosaveMaxDelay` after the first unsaved one.
    private func noteChange() {
        guard contentID != nil, config.contentStore != nil else { return }
        let t = now
        if dirtySince == nil { dirtySince = t }
        lastChange = t
        guard autosaveTask == nil else { return }
        autosaveTask = Task { [weak self] in await self?.autosaveLoop() }
    }

    private func autosaveLoop() async {
        while let since = dirtySince, !isClosed, !Task.isCancelled {
            let due = min(lastChange + config.autosaveDebounce, since + config.autosaveMaxDelay)
            let wait = due - now
            if wait > 0 {
                try? await Task.sleep(for: .milliseconds(Int(wait * 1000) + 1))
                continue
            }
            // A failed save stays unsaved: retried after the next change, by persist() or close().
            if !saveContent() { break }
        }
        autosaveTask = nil
    }

    /// Writes `yDoc` (base64 of the full state) and `body` (the text of the body root) back to
    /// the content store. False when the write failed (the room stays unsaved).
    @discardableResult
    private func saveContent() -> Bool {
        guard let contentID, let content = config.contentStore, let since = dirtySince else { return true }
        dirtySince = nil
        let yDoc = Data(store.doc.encodeStateAsUpdate()).base64EncodedString()
        let body = store.doc.getText(config.bodyText).string
        do {
            try content.writeBack(id: contentID, yDocBase64: yDoc, body: body)
            counters.add("ysync_autosaves_total")
            log(.debug, "room \(name): saved to the content store (\(body.utf16.count) UTF-16 units)")
            return true
        } catch {
            counters.add("ysync_errors_total", labels: ["kind": "autosave"])
            log(.error, "room \(name): autosave to the content store failed: \(error)")
            dirtySince = since
            return false
        }
    }

    /// Journal figures of this room (for metrics).
    public func journalFigures() -> (rows: Int, bytes: Int, rowsSinceSnapshot: Int)? {
        guard !isClosed, let s = try? store.journal.stats() else { return nil }
        let since = Int(s.lastSeq - (s.lastSnapshotSeq ?? 0))
        return (s.rows, s.storedBytes, max(0, since))
    }

    /// Flushes the journal, compacts it when due and saves to the content store.
    public func persist() {
        guard !isClosed else { return }
        do {
            _ = try store.flush()
            try store.compactIfNeeded()
        } catch {
            counters.add("ysync_errors_total", labels: ["kind": "journal"])
            log(.error, "room \(name): persisting failed: \(error)")
        }
        saveContent()
    }

    /// Persists, closes every connection with `code` and the journal. The room is unusable after.
    public func close(_ code: CloseCode = .goingAway, reason: String = "server shutting down") {
        guard !isClosed else { return }
        persist()
        for (_, member) in members { member.connection.close(code, reason: reason) }
        members.removeAll()
        awarenessTimer?.cancel()
        autosaveTask?.cancel()
        isClosed = true
        store.close()
    }
}
