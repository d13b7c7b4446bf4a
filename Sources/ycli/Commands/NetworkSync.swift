import CLISupport
import ArgumentParser
import CRDT
import Foundation
import Journal
import Replica
import Sync

/// `ycli sync STORE URL [--watch]`.
struct NetworkSync {
    let store: StoreOptions
    let url: String
    let token: String?
    let waitForAck: Bool
    let timeout: Double
    let maxMessageBytes: Int
    let json: Bool
    /// The presence (awareness state, JSON) to publish while watching.
    let presence: String?
}

#if canImport(ReplicaServer)
import ReplicaServer
import RoomHost

extension NetworkSync {
    func run(watch: Bool) async throws {
        guard url.hasPrefix("ws://") || url.hasPrefix("wss://") else {
            throw CLIError("\(url) is not a WebSocket URL (ws://HOST:PORT/parties/main/ROOM)", code: .usage)
        }
        if watch { try await runWatch() } else { try await runOnce() }
    }

    /// The URL with our query parameters (durable acks, a label for the server's logs).
    private func dialURL() -> String {
        var u = url
        var params = ["label=ycli"]
        if waitForAck { params.append("ack=1") }
        u += (u.contains("?") ? "&" : "?") + params.joined(separator: "&")
        return u
    }

    // MARK: one shot

    /// Handshake, exchange, then wait for the server's acknowledgement of our step 2: a step 1
    /// that arrives after it (a server journals before it acknowledges).
    /// Every network step (connect, upgrade, handshake, acknowledgement) runs inside the one
    /// `--timeout`; the message names the step that ran out.
    private func runOnce() async throws {
        let step = SyncStep("opening the store")
        let me = self
        try await withDeadline(seconds: timeout, step: step, what: "sync with \(url)") {
            try await me.exchange(step)
        }
    }

    private func exchange(_ step: SyncStep) async throws {
        let s = try StoreSession.open(store, writing: true)
        defer { s.close() }
        let before = s.doc.stateVector
        let transport: WebSocketTransport
        step.set("connecting (TCP and the WebSocket upgrade)")
        do { transport = try await WebSocketTransport.connect(url: dialURL(), token: token) } catch let e as WebSocketTransportError {
            guard case let .connectFailed(_, reason) = e else { throw CLIError("\(e)", code: .network) }
            throw CLIError("cannot connect to \(url): \(reason)", code: Self.connectFailureStatus(reason))
        }
        step.set("waiting for the server's handshake (sync step 1 and 2)")

        // The replica core `sync --watch` and the server use: it answers the server, journals
        // what arrives and keeps the unsynced count from the server's step 1s. Strict: a message
        // that does not decode, or cannot be journaled, ends the sync (the store keeps the rest).
        let clock = HostClock()
        let core = ReplicaCore(store: s.replica, now: clock.now)
        let policy = PeerPolicy(closesOnBadInput: true, session: .init(reliableDelivery: true, maxUpdateBytes: maxMessageBytes),
                                label: url, origin: "sync \(url)")
        let (server, greeting) = core.openPeer(policy, now: clock.now)
        var run = OneShotRun(url: url, transport: transport, progress: OneShotProgress(waitForAck: waitForAck))
        var done = false
        do {
            try await run.perform(greeting)
            for try await frame in transport.frames {
                try await run.perform(core.receive(frame, from: server, now: clock.now))
                run.progress.received(frame, local: s.doc.stateVector)
                if let awaiting = run.progress.awaiting { step.set(awaiting) }
                if run.progress.takeBarrier() { try await run.perform(core.resync()) }
                let handshake = core.session(of: server)?.isSynced ?? false
                if run.progress.isDone(handshakeComplete: handshake, local: s.doc.stateVector) {
                    done = true
                    break
                }
            }
        } catch let error as CLIError {
            await transport.close()
            throw error
        } catch {
            // The connection failed: report below like a close.
        }
        let stats = core.session(of: server)?.stats
        core.closePeer(server, now: clock.now)
        await transport.close()
        guard done, let stats else {
            let close = transport.serverClose.map { Self.describeClose(code: $0.code, reason: $0.reason) } ?? ""
            throw CLIError("sync with \(url) ended while \(step.current)\(close); local changes are kept, run it again",
                           code: transport.serverClose.map { Self.closeStatus($0.code) } ?? .network)
        }
        try s.compactIfNeeded()
        let remaining = core.unsyncedChanges
        let received = s.doc.stateVector.clocks.reduce(0) { $0 + max(0, Int($1.value) - Int(before[$1.key])) }
        let acknowledged = run.progress.acknowledged
        if json {
            Console.out(JSON.object([
                ("url", .string(url)),
                ("updatesApplied", .int(run.applied)),
                ("updatesAlreadyKnown", .int(run.unchanged)),
                ("unitsReceived", .int(received)),
                ("bytesSent", .int(stats.bytesSent)),
                ("bytesReceived", .int(stats.bytesReceived)),
                ("acknowledged", .bool(acknowledged)),
                ("unsyncedChanges", .int(remaining)),
            ]).rendered(pretty: true, prettyDepth: 1) + "\n")
            return
        }
        Console.out("""
        synced with \(url)
        received \(plural(run.applied, "update")) (\(plural(received, "new unit")); \(run.unchanged) already known), sent \(stats.bytesSent) bytes, received \(stats.bytesReceived) bytes
        \(waitForAck ? "the server journaled our changes" : "not acknowledged (--no-ack)"); unsynced changes: \(remaining)

        """)
    }

    /// " (the server closed the connection: 1009 message too big, REASON; what to do)".
    static func describeClose(code: Int, reason: String?) -> String {
        let meaning = CloseCode(rawValue: UInt16(clamping: code)).description
        let given = reason.flatMap { $0.isEmpty ? nil : ", " + $0 } ?? ""
        let hint = switch code {
        case 1009: "; send smaller messages with --max-message-bytes"
        case 1008: "; check the token (--token or $YSYNC_TOKEN)"
        case 1013, 4029: "; try again later"
        default: ""
        }
        return " (the server closed the connection: \(meaning)\(given)\(hint))"
    }

    /// The exit status of a failed connect: a refused WebSocket upgrade (a missing or bad token,
    /// a wrong path: retrying will not help) is a refusal, unless the server's status says "try
    /// later" (5xx, 429); anything else (a refused TCP connection, DNS) is the network's. `reason`
    /// is `WebSocketTransport`'s phrase: "the server refused the WebSocket upgrade: 401
    /// Unauthorized: ..." when the server said why, "... upgrade (check the path ...)" when not.
    static func connectFailureStatus(_ reason: String) -> ExitStatus {
        guard let range = reason.range(of: "the server refused the WebSocket upgrade") else { return .network }
        let status = reason[range.upperBound...].drop { $0 == ":" || $0 == " " }.prefix(3)
        return status.hasPrefix("5") || status == "429" ? .network : .refused
    }

    /// The exit status when the server closed the connection with `code`: 1008 (policy: the
    /// token) is a refusal, 1009 (message too big) a failure to fix with --max-message-bytes,
    /// anything else (going away, try again later) the network's.
    static func closeStatus(_ code: Int) -> ExitStatus {
        switch code {
        case 1008: .refused
        case 1009: .failure
        default: .network
        }
    }

    // MARK: watch

    /// A `Replica` with a re-dialling session; events printed as JSON lines.
    private func runWatch() async throws {
        try checkStoreFile(store.store)
        // The journal's writer lock, held while watching: other writers fail, naming this process.
        let path = store.store
        let opened = try journalCall(path) { () throws(JournalError) in try JournaledDocument.open(path: path) }
        let textName = store.textName ?? ((try? opened.journal.meta(StoreMeta.rootText)) ?? nil) ?? StoreMeta.defaultRootText
        let replica = Replica(store: opened)
        if let presence { try await replica.setPresence(presence) }
        let url = dialURL(), token = token, shown = self.url
        replica.connectWatching(url: url, token: token)
        emit([("event", .string("watching")), ("url", .string(shown))])
        var last = (connected: 0, synced: 0, applied: 0)
        var lastPresence: [ClientID: String] = [:]
        var failuresShown = 0
        while true {
            try await Task.sleep(for: .milliseconds(100))
            // The server is down or refusing: say so, with the wait before the next dial (the
            // session never gives up; Ctrl-C ends it).
            let failures = await replica.stats.dialFailures
            if failures > failuresShown, let failure = await replica.lastDialFailure {
                failuresShown = failures
                let seconds = Double(failure.nextDelay.components.seconds) + Double(failure.nextDelay.components.attoseconds) * 1e-18
                emit([("event", .string("retrying")), ("attempt", .int(failure.attempt)),
                      ("inSeconds", .double((seconds * 1000).rounded() / 1000)), ("reason", .string(failure.reason))])
            }
            let connected = await replica.connectionCount
            let synced = await replica.syncedConnectionCount
            let applied = await replica.stats.remoteUpdatesApplied
            if connected > last.connected { emit([("event", .string("connected"))]) }
            if connected < last.connected { emit([("event", .string("disconnected"))]) }
            if synced > last.synced { emit([("event", .string("synced")), ("unsyncedChanges", .int(await replica.unsyncedChanges))]) }
            if applied > last.applied {
                let text = await replica.read { doc in doc.getText(textName).string }
                emit([("event", .string("update")), ("updates", .int(applied - last.applied)), ("text", .string(text))])
            }
            let others = await replica.presence
            if others != lastPresence {
                lastPresence = others
                // Awareness states were checked as JSON when they arrived.
                let states = others.sorted { $0.key < $1.key }.map { (String($0.key), (try? JSON.parseJSON($0.value)) ?? .string($0.value)) }
                emit([("event", .string("presence")), ("states", .object(states))])
            }
            for message in BroadcastInbox.shared.drain() {
                emit([("event", .string("broadcast")), ("message", (try? JSON.parseJSON(message)) ?? .string(message))])
            }
            last = (connected, synced, applied)
        }
    }

    /// One event as a JSON line, keys sorted.
    private func emit(_ fields: [(String, JSON)]) {
        Console.out(JSON.object(fields.sorted { $0.0 < $1.0 }).jsonText + "\n")
    }
}

/// The one-shot sync's side of the core's effects: frames go to the server, notes are counted,
/// and a close or a refusal ends the sync with what caused it.
private struct OneShotRun {
    let url: String
    let transport: WebSocketTransport
    var progress: OneShotProgress
    /// Updates from the server that changed the store / changed nothing.
    private(set) var applied = 0
    private(set) var unchanged = 0
    /// Why the journal refused an update (the close that follows names no more than "could not store").
    private var journalFailure: String?

    init(url: String, transport: WebSocketTransport, progress: OneShotProgress) {
        self.url = url
        self.transport = transport
        self.progress = progress
    }

    mutating func perform(_ effects: [ReplicaEffect]) async throws {
        for effect in effects {
            switch effect {
            case let .send(_, frame):
                try await transport.send(frame)
                progress.sent(frame)
            case let .close(_, _, reason):
                throw CLIError(journalFailure.map { "\($0); local changes are kept" } ?? "the server sent a \(reason)")
            case let .note(.denied(_, reason)):
                // y-protocols' auth message: a read-only token, our changes refused. Waiting longer
                // would only run out the timeout.
                throw CLIError("the server refused our changes (\(reason)): the token only allows reading \(url); local changes are kept",
                               code: .refused)
            case .note(.applied): applied += 1
            case .note(.unchanged): unchanged += 1
            case let .note(.failure(.journal, message)): journalFailure = message
            case .note, .persisted, .presence: break
            }
        }
    }
}

/// Text frames (server broadcasts) received by the watch connection, drained by the printer.
final class BroadcastInbox: @unchecked Sendable {
    static let shared = BroadcastInbox()
    private let lock = NSLock()
    private var messages: [String] = []

    func add(_ text: String) {
        lock.lock()
        messages.append(text)
        lock.unlock()
    }

    func drain() -> [String] {
        lock.lock()
        defer { lock.unlock() }
        let m = messages
        messages.removeAll()
        return m
    }
}

extension Replica {
    /// Keeps a WebSocket session to `url` up (reconnecting with backoff); text frames go to
    /// `BroadcastInbox.shared`.
    nonisolated func connectWatching(url: String, token: String?) {
        Task {
            await self.connect(dial: {
                let transport = try await WebSocketTransport.connect(url: url, token: token)
                Task {
                    for await text in transport.texts { BroadcastInbox.shared.add(text) }
                }
                return transport
            })
        }
    }
}
#else
extension NetworkSync {
    func run(watch: Bool) async throws {
        throw CLIError("this ycli was built without the server and its WebSocket client (YSYNC_CORE_ONLY=1)")
    }
}
#endif
