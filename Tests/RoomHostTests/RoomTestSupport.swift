import CRDT
import Foundation
import Replica
import RoomHost
import Sync
import Testing
import TestSupport

// Helpers for the Room / RoomHost tests: a recording connection, simulated clients (a real YDoc
// and SyncSession each), a log recorder. (Temp directories and polling: TestSupport.)

extension TempDir {
    /// Where a test host keeps its rooms' journals.
    var roomsDirectory: String { file("rooms") }
    /// A content store database beside them.
    var contentDB: String { file("content.db") }
}

/// Records what a room sends to one connection and how it was closed. Thread-safe.
final class RecordingConnection: RoomConnection, @unchecked Sendable {
    private let lock = NSLock()
    private var all: [OutboundFrame] = []
    private var cursor = 0
    private var closes: [(code: CloseCode, reason: String)] = []

    func send(_ frame: OutboundFrame) {
        lock.lock()
        all.append(frame)
        lock.unlock()
    }

    func close(_ code: CloseCode, reason: String) {
        lock.lock()
        closes.append((code, reason))
        lock.unlock()
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    var frames: [OutboundFrame] { locked { all } }
    var binaryFrames: [[UInt8]] { frames.compactMap { if case let .binary(b) = $0 { b } else { nil } } }
    var texts: [String] { frames.compactMap { if case let .text(t) = $0 { t } else { nil } } }
    /// Every binary frame decoded (a frame that does not decode fails the test).
    var messages: [SyncMessage] {
        binaryFrames.compactMap { frame in
            do { return try SyncMessage.decode(frame) } catch {
                Issue.record("the room sent an undecodable frame \(frame): \(error)")
                return nil
            }
        }
    }

    /// Frames sent since the last call.
    func takeNew() -> [OutboundFrame] {
        locked {
            defer { cursor = all.count }
            return Array(all[cursor...])
        }
    }

    var closeCodes: [CloseCode] { locked { closes.map(\.code) } }
    var closeReasons: [String] { locked { closes.map(\.reason) } }
    var closeCode: CloseCode? { closeCodes.first }
    var isClosed: Bool { !closeCodes.isEmpty }
}

/// Updates a document emitted (filled by its observer).
final class UpdateBox {
    var updates: [[UInt8]] = []
    func take() -> [[UInt8]] {
        defer { updates.removeAll() }
        return updates
    }
}

struct RoomTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// One simulated client: a real document and sync session on the other side of a
/// `RecordingConnection`. It consumes what the room sent (`pump`), answers it, and sends its
/// own edits and awareness into the room.
final class SimClient {
    let room: Room
    let doc: YDoc
    var session = SyncSession()
    var awareness: Awareness
    /// The current connection (`reconnect` replaces it).
    private(set) var connection = RecordingConnection()
    private(set) var id: PeerID?
    /// Every message received and processed by `pump`, in order.
    private(set) var received: [SyncMessage] = []
    /// Answer what the session says to answer (step 1 → step 2). Off to look at raw traffic.
    var autoAnswer = true
    private let box = UpdateBox()

    init(room: Room, clientID: ClientID) {
        self.room = room
        doc = YDoc(clientID: clientID)
        awareness = Awareness(clientID: clientID, now: 0)
        doc.observeUpdate { [box] event in box.updates.append(event.update) }
    }

    var clientID: ClientID { doc.clientID }
    var text: String { doc.getText("t").string }

    /// Joins; with `handshake`, sends our step 1 (as y-websocket clients do on connect) and
    /// processes the greeting.
    @discardableResult
    func join(_ options: JoinOptions = .init(), handshake: Bool = true) async throws -> PeerID? {
        id = await room.join(connection, options: options)
        if handshake, id != nil {
            for f in session.start(doc) { await send(f) }
            try await pump()
        }
        return id
    }

    /// Joins again on a new connection with a new session, as a provider does after the room
    /// closed it: the handshake sends the room what it lacks of our document.
    @discardableResult
    func reconnect(_ options: JoinOptions = .init()) async throws -> PeerID? {
        connection = RecordingConnection()
        session = SyncSession()
        return try await join(options)
    }

    func send(_ frame: [UInt8]) async {
        guard let id else {
            Issue.record("send before join")
            return
        }
        await room.receive(.binary(frame), from: id)
    }

    func sendText(_ text: String) async {
        await room.receive(.text(text), from: id!)
    }

    /// Processes the frames received since the last call; true when there were any.
    @discardableResult
    func pumpOnce() async throws -> Bool {
        let new = connection.takeNew()
        for f in new {
            guard case let .binary(frame) = f else { continue }
            received.append(try SyncMessage.decode(frame))
            let out = try session.receive(frame, doc)
            for u in out.apply { try doc.applyUpdate(u, origin: "room") }
            for a in out.awareness { try awareness.apply(a, now: 0) }
            if autoAnswer { for s in out.send { await send(s) } }
        }
        return !new.isEmpty
    }

    /// Pumps until the room sends nothing more (bounded: a ping-pong fails the test).
    func pump() async throws {
        try await settle([self])
    }

    /// A local edit, sent to the room as the session decides (update frames).
    func edit(_ body: (YDoc) throws -> Void) async throws {
        _ = box.take()
        try doc.transact { try body(doc) }
        for u in box.take() {
            for f in session.localUpdate(u) { await send(f) }
        }
    }

    func insert(_ s: String, at i: Int? = nil) async throws {
        try await edit { doc in
            let t = doc.getText("t")
            try t.insert(at: i ?? t.length, s)
        }
    }

    /// Sets our awareness state and sends it.
    func setAwareness(_ json: String?) async {
        awareness.setLocalState(json, now: 0)
        await send(awareness.awarenessMessage(clients: [clientID]))
    }

    /// Messages received by kind.
    var updateMessages: [[UInt8]] { received.compactMap { if case let .update(u) = $0 { u } else { nil } } }
    var step1Messages: [[UInt8]] { received.compactMap { if case let .syncStep1(sv) = $0 { sv } else { nil } } }
    var step2Messages: [[UInt8]] { received.compactMap { if case let .syncStep2(u) = $0 { u } else { nil } } }
    var awarenessMessages: [[Awareness.WireEntry]] {
        received.compactMap { if case let .awareness(a) = $0 { try? Awareness.decodeUpdate(a) } else { nil } }
    }
}

/// Pumps every client until none receives anything more (at most 200 rounds).
func settle(_ clients: [SimClient]) async throws {
    for _ in 0..<200 {
        var any = false
        for c in clients where try await c.pumpOnce() { any = true }
        if !any { return }
    }
    throw RoomTestError("the clients and the room did not go quiet after 200 rounds (ping-pong?)")
}

/// Log lines a host wrote. Thread-safe.
final class LogRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [(RoomLogLevel, String)] = []

    var logger: RoomLogger { { [self] level, line in add(level, line) } }

    func add(_ level: RoomLogLevel, _ line: String) {
        lock.lock()
        lines.append((level, line))
        lock.unlock()
    }

    var all: [(level: RoomLogLevel, line: String)] {
        lock.lock()
        defer { lock.unlock() }
        return lines.map { (level: $0.0, line: $0.1) }
    }

    func lines(at level: RoomLogLevel) -> [String] { all.filter { $0.level == level }.map(\.line) }
}

/// An update v1 that inserts `text` into root text `root` of a fresh document.
func makeTextUpdate(_ text: String, root: String = "t", clientID: ClientID = 900) -> [UInt8] {
    let doc = YDoc(clientID: clientID)
    try! doc.getText(root).insert(at: 0, text)
    return doc.encodeStateAsUpdate()
}

func decodeText(ofUpdate update: [UInt8], root: String) throws -> String {
    let doc = YDoc(clientID: 901)
    try doc.applyUpdate(update)
    return doc.getText(root).string
}

/// A host on a fresh directory, with the given room config tweaks.
func makeHost(_ dir: TempDir, log: LogRecorder? = nil, _ tweak: (inout RoomHostConfig) -> Void = { _ in }) throws -> RoomHost {
    var config = RoomHostConfig(dataDirectory: dir.path)
    if let log { config.log = log.logger }
    tweak(&config)
    return try RoomHost(config: config)
}
