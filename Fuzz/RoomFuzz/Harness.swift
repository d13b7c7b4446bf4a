// The server boundary without sockets: a real `Room` (from a `RoomHost` on a temporary data
// directory, so with its journal), fake connections, and a well-formed client beside the hostile
// ones. One fuzz input is a script of WebSocket messages and HTTP requests (see `Op`).
import CRDT
import Foundation
import Replica
import RoomHost
import Synchronization
import Sync

/// One client connection as the room sees it: frames and the close are recorded, never sent.
final class FakeConnection: RoomConnection {
    private struct State {
        var frames: [OutboundFrame] = []
        var closed: CloseCode?
    }
    private let state = Mutex(State())

    func send(_ frame: OutboundFrame) { state.withLock { $0.frames.append(frame) } }
    func close(_ code: CloseCode, reason: String) { state.withLock { $0.closed = code } }

    /// The frames sent since the last call.
    func take() -> [OutboundFrame] {
        state.withLock { s in
            defer { s.frames.removeAll() }
            return s.frames
        }
    }

    var closedWith: CloseCode? { state.withLock { $0.closed } }
}

/// Reads a fuzz input as a script: `op` byte, then (for ops with a payload) a varint length
/// (clamped to what is left) and that many bytes.
struct Script {
    private let bytes: [UInt8]
    private var at = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func byte() -> UInt8? {
        guard at < bytes.count else { return nil }
        defer { at += 1 }
        return bytes[at]
    }

    mutating func payload() -> [UInt8] {
        var n = 0, shift = 0
        while let b = byte() {
            n |= Int(b & 0x7F) << shift
            shift += 7
            if b & 0x80 == 0 || shift > 21 { break }
        }
        let end = min(bytes.count, at + n)
        defer { at = end }
        return Array(bytes[at..<end])
    }
}

/// What one byte of the script asks for (its low 3 bits; bits 3-4 pick a hostile connection).
enum Op: UInt8 {
    /// A binary WebSocket message from a hostile connection.
    case binary = 0
    /// A text WebSocket message (y-partykit batch control, or anything) from a hostile connection.
    case text = 1
    /// `POST .../update` with this body.
    case httpUpdate = 2
    /// `GET .../state?sv=` with this state vector, and `GET .../text?name=` with it as a name.
    case httpRead = 3
    /// The well-formed client inserts (payload: position byte, then text).
    case goodInsert = 4
    /// The well-formed client deletes (payload: position and count bytes).
    case goodDelete = 5
    /// A hostile connection leaves and a new one joins in its place.
    case rejoin = 6
    /// A y-partykit batch (start, the payload as its parts, end) from a hostile connection.
    case batch = 7
}

/// Fails the fuzz run (libFuzzer records the input).
func require(_ ok: Bool, _ what: @autoclosure () -> String) {
    if !ok { fatalError("fuzz check failed: \(what())") }
}

/// A y-websocket client done right: a document, a session, and the frames it exchanges with the
/// room through a fake connection. Its own edits go in root text `good`.
final class GoodClient {
    let doc: YDoc
    private var session = SyncSession()
    private(set) var connection = FakeConnection()
    private(set) var id: PeerID?
    private var local: [[UInt8]] = []
    /// Set when the room closed this client for a reason a well-formed client can meet (the
    /// document limit); its edits may then be missing from the room.
    private(set) var refused = false

    init(clientID: ClientID) {
        doc = YDoc(clientID: clientID)
        _ = doc.observeUpdate { [unowned self] e in self.local.append(e.update) }
    }

    func join(_ room: Room) async {
        connection = FakeConnection()
        session = SyncSession()
        id = await room.join(connection, options: JoinOptions(access: .write, durableAcks: true, label: "good"))
        require(id != nil, "the room refused the well-formed client")
        await send(session.start(doc), to: room)
    }

    func insert(_ payload: [UInt8], room: Room) async {
        let t = doc.getText("good")
        let text = String(decoding: payload.dropFirst().prefix(16), as: UTF8.self)
        let at = Int(payload.first ?? 0) % (t.length + 1)
        try? doc.transact { try t.insert(at: at, text.isEmpty ? "x" : text) }
        await flush(room)
    }

    func delete(_ payload: [UInt8], room: Room) async {
        let t = doc.getText("good")
        guard t.length > 0 else { return }
        let at = Int(payload.first ?? 0) % t.length
        let n = 1 + Int(payload.dropFirst().first ?? 0) % (t.length - at)
        try? doc.transact { try t.delete(at: at, count: n) }
        await flush(room)
    }

    private func flush(_ room: Room) async {
        let updates = local
        local.removeAll()
        for u in updates { await send(session.localUpdate(u), to: room) }
    }

    private func send(_ frames: [[UInt8]], to room: Room) async {
        guard let id else { return }
        for f in frames { await room.receive(.binary(f), from: id) }
    }

    /// Delivers what the room sent until it has nothing more (bounded), answering as a provider does.
    func pump(_ room: Room) async {
        for _ in 0..<32 {
            let frames = connection.take()
            if frames.isEmpty { break }
            for case let .binary(frame) in frames {
                let out: SessionOutput
                do { out = try session.receive(frame, doc) } catch {
                    return require(false, "the well-formed client cannot read the room's frame \(frame.prefix(16)): \(error)")
                }
                for u in out.apply { try? doc.applyUpdate(u) }
                local.removeAll()  // remote updates are not re-sent
                await send(out.send, to: room)
            }
        }
        if let code = connection.closedWith {
            // A well-formed client is closed only for the document limit or a shutdown.
            require(code == .documentTooLarge || code == .goingAway, "the well-formed client was closed with \(code)")
            refused = true
            await join(room)  // as a provider re-dials
        }
    }

    func leave(_ room: Room) async {
        if let id { await room.leave(id) }
        id = nil
    }

    /// Asks for everything the room has (a SyncStep1), then delivers the answer.
    func resync(_ room: Room) async {
        await send([SyncMessage.syncStep1(doc.stateVector).encoded()], to: room)
        await pump(room)
    }
}
