import CRDT
import Foundation
import ReplicaServer
import Sync
import TestSupport

private final class UpdateBox {
    var updates: [[UInt8]] = []
}

/// A minimal y-websocket client in Swift: a YDoc, a SyncSession and our WebSocket transport.
/// It answers the server like a Yjs provider does and records what it receives.
actor WSPeer {
    let transport: WebSocketTransport
    private let doc: YDoc
    private let box = UpdateBox()
    private var session = SyncSession()
    private var reader: Task<Void, Never>?

    private(set) var texts: [String] = []
    private(set) var awarenessMessages: [[UInt8]] = []
    private(set) var updateFrames = 0
    private(set) var step1Frames = 0
    private(set) var step2Frames = 0
    /// y-protocols auth messages (message type 2), e.g. a read-only connection's denial.
    private(set) var authFrames = 0
    private(set) var badFrames = 0
    private(set) var isSynced = false
    private(set) var isEnded = false
    /// Receive times of updates whose text contains a marker, for latency figures.
    private(set) var sentAt: [String: ContinuousClock.Instant] = [:]

    private init(transport: WebSocketTransport, clientID: ClientID) {
        self.transport = transport
        doc = YDoc(clientID: clientID)
        doc.observeUpdate { [box] e in box.updates.append(e.update) }
    }

    static func connect(_ url: String, token: String? = nil, clientID: ClientID = ClientID(UInt32.random(in: 1...UInt32.max)),
                        handshake: Bool = true) async throws -> WSPeer {
        let transport = try await WebSocketTransport.connect(url: url, token: token)
        let peer = WSPeer(transport: transport, clientID: clientID)
        await peer.startReading(handshake: handshake)
        return peer
    }

    private func startReading(handshake: Bool) async {
        let transport = transport
        reader = Task { [weak self] in
            do {
                for try await frame in transport.frames { await self?.handle(frame) }
            } catch {}
            await self?.markEnded()
        }
        if handshake {
            for f in session.start(doc) { try? await transport.send(f) }
        }
    }

    private func markEnded() { isEnded = true }

    private func handle(_ frame: [UInt8]) async {
        if frame.count > 1, frame[0] == 0, frame[1] == 2 { updateFrames += 1 }
        if frame.count > 1, frame[0] == 0, frame[1] == 0 { step1Frames += 1 }
        if frame.count > 1, frame[0] == 0, frame[1] == 1 { step2Frames += 1 }
        if frame.first == 2 { authFrames += 1 }
        let out: SessionOutput
        do { out = try session.receive(frame, doc) } catch {
            badFrames += 1
            return
        }
        for f in out.send { try? await transport.send(f) }
        for u in out.apply { try? doc.applyUpdate(u) }
        box.updates.removeAll()  // remote updates are not re-sent
        awarenessMessages += out.awareness
        if out.becameSynced { isSynced = true }
    }

    /// Inserts into root text `name` and sends the update (as a Yjs provider does).
    func insert(_ text: String, at index: Int? = nil, name: String = "t") async throws {
        let t = doc.getText(name)
        try doc.transact { try t.insert(at: index ?? t.length, text) }
        try await flushLocal()
    }

    func delete(at index: Int, count: Int, name: String = "t") async throws {
        let t = doc.getText(name)
        try doc.transact { try t.delete(at: index, count: count) }
        try await flushLocal()
    }

    private func flushLocal() async throws {
        let updates = box.updates
        box.updates.removeAll()
        for u in updates {
            // Sent unconditionally (a provider does not track what the server holds).
            try await transport.send(SyncMessage.update(u).encoded())
        }
    }

    func send(_ frame: [UInt8]) async throws { try await transport.send(frame) }

    func sendAwareness(client: ClientID, clock: UInt64, json: String?) async throws {
        var w = Lib0Writer()
        w.writeVarUInt(1)
        w.writeVarUInt(client)
        w.writeVarUInt(clock)
        w.writeString(json ?? "null")
        try await transport.send(SyncMessage.awareness(w.bytes).encoded())
    }

    func receivedTexts() -> [String] { texts }
    func text(_ name: String = "t") -> String { doc.getText(name).string }
    func stateVector() -> StateVector { doc.stateVector }
    func state() -> [UInt8] { doc.encodeStateAsUpdate() }

    /// Collects text frames (server broadcasts) until the connection ends.
    func collectTexts() {
        let transport = transport
        Task { [weak self] in
            for await t in transport.texts { await self?.addText(t) }
        }
    }

    private func addText(_ t: String) { texts.append(t) }

    func close() async {
        await transport.close()
        reader?.cancel()
    }
}

/// A barrier on one connection: sends a SyncStep1 and waits for the server's SyncStep2 answer.
/// The server handles a connection's messages in order and its frames arrive in order, so what
/// it would have sent this peer for anything received earlier has arrived (and been handled) by
/// then: after it, "nothing came" is a fact, not a guess about timing.
func roundTrip(_ peer: WSPeer) async throws {
    let before = await peer.step2Frames
    try await peer.send(SyncMessage.syncStep1(await peer.stateVector()).encoded())
    try await eventually("the server answers a SyncStep1") { await peer.step2Frames > before }
}

func allSynced(_ peers: [WSPeer]) async -> Bool {
    for p in peers where await !p.isSynced { return false }
    return true
}
