import CLISupport
#if canImport(ReplicaServer)
import CRDT
import Foundation
import ReplicaServer
import Sync

/// One load-generating y-websocket client: a YDoc, a SyncSession and our WebSocket transport.
/// It answers the server like a Yjs provider, and records when each update (named by its
/// first struct's client and clock) arrived.
actor ServerBenchClient {
    let id: ClientID
    private let transport: WebSocketTransport
    private let doc: YDoc
    private let emitted = EmittedBox()
    private var session = SyncSession()
    private(set) var isSynced = false
    private(set) var isEnded = false
    /// Arrival time of every update received, by (client, clock) of its first struct.
    private(set) var arrivals: [UpdateKey: ContinuousClock.Instant] = [:]
    private(set) var bytesReceived = 0

    struct UpdateKey: Hashable, Sendable {
        let client: ClientID
        let clock: UInt64
    }

    private final class EmittedBox: @unchecked Sendable {
        var updates: [[UInt8]] = []
    }

    private init(id: ClientID, transport: WebSocketTransport) {
        self.id = id
        self.transport = transport
        doc = YDoc(clientID: id)
        doc.observeUpdate { [emitted] e in emitted.updates.append(e.update) }
    }

    static func connect(url: String, id: ClientID) async throws -> ServerBenchClient {
        let transport = try await WebSocketTransport.connect(url: url)
        let client = ServerBenchClient(id: id, transport: transport)
        await client.start()
        return client
    }

    private func start() async {
        let transport = transport
        Task { [weak self] in
            do {
                for try await frame in transport.frames { await self?.receive(frame) }
            } catch {}
            await self?.ended()
        }
        for f in session.start(doc) { try? await transport.send(f) }
    }

    private func ended() { isEnded = true }

    private func receive(_ frame: [UInt8]) async {
        let now = ContinuousClock.now
        bytesReceived += frame.count
        if frame.count > 2, frame[0] == 0, frame[1] == 2, case let .update(update)? = try? SyncMessage.decode(frame),
           let decoded = try? UpdateDecoderV1.decode(update), let group = decoded.groups.first, let first = group.structs.first {
            arrivals[UpdateKey(client: group.client, clock: UInt64(first.id.clock))] = now
        }
        guard let out = try? session.receive(frame, doc) else { return }
        for f in out.send { try? await transport.send(f) }
        for u in out.apply { try? doc.applyUpdate(u) }
        emitted.updates.removeAll()
        if out.becameSynced { isSynced = true }
    }

    /// Inserts `text` at the start of root text "t" and sends the update; returns its key.
    func insert(_ text: String) async throws -> UpdateKey {
        let clock = UInt64(doc.stateVector[id])
        let t = doc.getText("t")
        try doc.transact { try t.insert(at: 0, text) }
        let updates = emitted.updates
        emitted.updates.removeAll()
        for u in updates { try await transport.send(SyncMessage.update(u).encoded()) }
        return UpdateKey(client: id, clock: clock)
    }

    func arrival(of key: UpdateKey) -> ContinuousClock.Instant? { arrivals[key] }
    func arrivalCount() -> Int { arrivals.count }
    func resetArrivals() { arrivals.removeAll() }

    func close() async { await transport.close() }
}
#endif
