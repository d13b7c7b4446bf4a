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
            throw CLIError("\(url) is not a WebSocket URL (ws://HOST:PORT/parties/main/ROOM)")
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
            guard case let .connectFailed(_, reason) = e else { throw CLIError("\(e)") }
            throw CLIError("cannot connect to \(url): \(reason)")
        }
        step.set("waiting for the server's handshake (sync step 1 and 2)")

        var session = SyncSession(options: .init(reliableDelivery: true, maxUpdateBytes: maxMessageBytes))
        var sentStep2 = false, sentContent = false, acknowledged = false
        // Without acknowledgements: a step 1 sent after our step 2 and its answer (a server
        // handles a connection's messages in order) show the server has processed our step 2.
        // Every step 1 gets one step 2, in order: ours at the start, then the barrier.
        var barrierSent = false, barrierAnswered = false, step2Received = 0
        var serverSV: StateVector?
        // The server's greeting (its first step 1): we are done receiving once we hold all it
        // held then (its step 2 may come in several pieces).
        var greetingSV: StateVector?
        func holdsGreeting() -> Bool {
            guard let g = greetingSV else { return false }
            let local = s.doc.stateVector
            return g.clocks.allSatisfy { local[$0.key] >= $0.value }
        }
        var applied = 0, unchanged = 0
        for f in session.start(s.doc) { try await transport.send(f) }
        do {
            for try await frame in transport.frames {
                let message = try? SyncMessage.decode(frame)
                let output: SessionOutput
                do { output = try session.receive(frame, s.doc) } catch {
                    throw CLIError("the server sent a bad message: \(error)")
                }
                // y-protocols' auth message: a read-only token, our changes refused. Waiting longer
                // would only run out the timeout.
                if case let .denied(reason)? = output.auth {
                    throw CLIError("the server refused our changes (\(reason)): the token only allows reading \(url); local changes are kept")
                }
                if case let .syncStep1(bytes)? = message {
                    serverSV = try? StateVector(decoding: bytes)
                    if greetingSV == nil { greetingSV = serverSV }
                    // Acknowledged once the server's journaled state holds every struct we
                    // hold: a store sent in several pieces gets an ack per piece. Our deletes
                    // travel before the structs (`Updates.split`), so they are in by then.
                    if sentContent, let sv = serverSV, s.doc.stateVector.clocks.allSatisfy({ sv[$0.key] >= $0.value }) {
                        acknowledged = true
                    }
                }
                if case .syncStep2? = message {
                    step2Received += 1
                    if barrierSent, step2Received >= 2 { barrierAnswered = true }
                }
                for f in output.send {
                    try await transport.send(f)
                    // Our handshake step 2 (the answer to the server's greeting) carries what the
                    // server lacks; the server acknowledges it when it has content. Later step 2s
                    // answer its acknowledgements and are not acknowledged again.
                    if !sentStep2, case let .syncStep2(update)? = try? SyncMessage.decode(f) {
                        sentStep2 = true
                        if let cov = try? UpdateCoverage(update: update), !cov.isEmpty { sentContent = true }
                    }
                }
                for update in output.apply {
                    if try s.apply(update, origin: "sync \(url)") != nil { applied += 1 } else { unchanged += 1 }
                }
                if sentStep2, sentContent {
                    step.set(waitForAck ? "waiting for the server to acknowledge our changes (journaled)"
                                        : "waiting for the answer to our barrier step 1 (--no-ack)")
                }
                if !waitForAck, sentStep2, !barrierSent {
                    try await transport.send(SyncMessage.syncStep1(stateVector: s.doc.encodeStateVector()).encoded())
                    barrierSent = true
                }
                if session.isSynced, sentStep2, holdsGreeting(), !sentContent || (waitForAck ? acknowledged : barrierAnswered) { break }
            }
        } catch let error as CLIError {
            await transport.close()
            throw error
        } catch {
            // The connection failed: report below like a close.
        }
        await transport.close()
        guard session.isSynced, sentStep2, holdsGreeting(), !sentContent || (waitForAck ? acknowledged : barrierAnswered) else {
            let close = transport.serverClose.map { Self.describeClose(code: $0.code, reason: $0.reason) } ?? ""
            throw CLIError("sync with \(url) ended while \(step.current)\(close); local changes are kept, run it again")
        }

        var unsynced = UnsyncedCount(client: s.doc.clientID, metaValue: try? s.journal.meta(UnsyncedCount.metaKey))
        if waitForAck, let serverSV, unsynced.confirm(serverSV) {
            try journalCall(s.path) { () throws(JournalError) in try s.journal.setMeta(UnsyncedCount.metaKey, unsynced.metaValue) }
        }
        try s.compactIfNeeded()
        let remaining = unsynced.count(local: s.doc.stateVector)
        let stats = session.stats
        let received = s.doc.stateVector.clocks.reduce(0) { $0 + max(0, Int($1.value) - Int(before[$1.key])) }
        if json {
            Console.out(JSON.object([
                ("url", .string(url)),
                ("updatesApplied", .int(applied)),
                ("updatesAlreadyKnown", .int(unchanged)),
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
        received \(plural(applied, "update")) (\(plural(received, "new unit")); \(unchanged) already known), sent \(stats.bytesSent) bytes, received \(stats.bytesReceived) bytes
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
        emit(["event": "watching", "url": shown])
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
                emit(["event": "retrying", "attempt": failure.attempt, "inSeconds": (seconds * 1000).rounded() / 1000,
                      "reason": failure.reason])
            }
            let connected = await replica.connectionCount
            let synced = await replica.syncedConnectionCount
            let applied = await replica.stats.remoteUpdatesApplied
            if connected > last.connected { emit(["event": "connected"]) }
            if connected < last.connected { emit(["event": "disconnected"]) }
            if synced > last.synced { emit(["event": "synced", "unsyncedChanges": await replica.unsyncedChanges]) }
            if applied > last.applied {
                let text = await replica.read { doc in doc.getText(textName).string }
                emit(["event": "update", "updates": applied - last.applied, "text": text])
            }
            let others = await replica.presence
            if others != lastPresence {
                lastPresence = others
                var states: [String: Any] = [:]
                for (client, text) in others {
                    states[String(client)] = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
                }
                emit(["event": "presence", "states": states])
            }
            for message in BroadcastInbox.shared.drain() {
                let parsed = (try? JSONSerialization.jsonObject(with: Data(message.utf8), options: [.fragmentsAllowed])) ?? message
                emit(["event": "broadcast", "message": parsed])
            }
            last = (connected, synced, applied)
        }
    }

    private func emit(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        Console.out(String(decoding: data, as: UTF8.self) + "\n")
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
