// Fuzz target for the server boundary: a fuzz input is a script (see `Op` in Harness.swift) of
// WebSocket messages from three hostile connections (write with acknowledgements, write,
// read-only), HTTP update bodies and reads, and the edits of a well-formed client, all into one
// real `Room` of a `RoomHost` (through the replica core, with its journal in a temporary
// directory). Checked: nothing traps; every frame the room sends is a y-protocols message; a
// refused HTTP update changes nothing; the room's document encodes and loads; the well-formed
// client is only closed for the document limit and converges with the room, as does a client
// joining at the end; the room reloaded from its journal holds the same document.
// Built with -DFUZZING (scripts/fuzz.sh RoomFuzz) it is a libFuzzer entry point; otherwise it
// replays the files named on the command line through the same checks.
import CRDT
import Foundation
import Replica
import RoomHost
import Sync

enum RoomFuzz {
    /// At most this many script steps per input (the room's rate limit, 400 messages in a burst,
    /// must not be what closes the well-formed client).
    static let maxSteps = 48
    static let roomName = "fuzz"

    /// This process's data directory (memory-backed when /dev/shm exists: a journal per input).
    static let dataDirectory: String = {
        let base = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return "\(base)/ysync-roomfuzz-\(ProcessInfo.processInfo.processIdentifier)"
    }()

    /// Small limits, so that frames, batches and documents over them are reachable from small inputs.
    static var config: RoomHostConfig {
        var c = RoomHostConfig(dataDirectory: dataDirectory)
        c.idleTimeout = 3600
        c.room.journal.durability = .normal
        c.room.journal.compactAfterRows = 8
        c.room.compactEvery = 8
        c.room.limits.maxFrameBytes = 1024
        c.room.limits.maxDocumentBytes = 32 << 10
        c.room.limits.maxAwarenessStateBytes = 256
        c.room.limits.maxAwarenessStates = 16
        c.room.limits.maxAwarenessBytes = 2048
        return c
    }

    /// Runs one input to the end; the checks trap on a failure.
    static func run(_ bytes: [UInt8]) {
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await check(bytes)
            done.signal()
        }
        done.wait()
    }

    static func check(_ bytes: [UInt8]) async {
        try? FileManager.default.removeItem(atPath: dataDirectory)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let host: RoomHost
        let room: Room
        do {
            host = try RoomHost(config: config)
            room = try await host.acquire(roomName)
        } catch { return require(false, "no room: \(error)") }

        let good = GoodClient(clientID: 0xC0DE)
        await good.join(room)
        await good.pump(room)
        var hostile = [Hostile(access: .write, acks: true), Hostile(access: .write, acks: false),
                       Hostile(access: .read, acks: false)]
        var script = Script(bytes)
        var steps = 0
        while steps < maxSteps, let b = script.byte() {
            steps += 1
            let k = Int(b >> 3) % hostile.count
            switch Op(rawValue: b & 7)! {
            case .binary:
                let p = script.payload()
                if let id = await hostile[k].ensure(room) { await room.receive(.binary(p), from: id) }
            case .text:
                let p = script.payload()
                if let id = await hostile[k].ensure(room) { await room.receive(.text(String(decoding: p, as: UTF8.self)), from: id) }
            case .batch:
                let p = script.payload()
                if let id = await hostile[k].ensure(room) { await sendBatch(p, flags: b >> 5, from: id, to: room) }
            case .httpUpdate:
                let p = script.payload()
                let before = await room.state()
                do { try await room.applyUpdate(p) } catch {
                    if case .invalidUpdate = error {
                        require(await room.state() == before, "a refused HTTP update changed the room")
                    }
                }
            case .httpRead:
                let p = script.payload()
                if let sv = try? StateVector(decoding: p) {
                    let diff = await room.state(since: sv)
                    require((try? UpdateDecoderV1.decode(diff)) != nil, "GET state?sv= answered an update that does not decode")
                }
                _ = await room.text(String(decoding: p, as: UTF8.self))
                _ = await room.awarenessStates
            case .goodInsert:
                await good.insert(script.payload(), room: room)
            case .goodDelete:
                await good.delete(script.payload(), room: room)
            case .rejoin:
                await hostile[k].leave(room)
                _ = await hostile[k].ensure(room)
            }
            for h in hostile { h.drain() }
            await good.pump(room)
        }

        // The document encodes and loads; the well-formed client converges, and so does a newcomer.
        await good.resync(room)
        let sv = await room.stateVector
        let state = await room.state()
        let text = await room.text("good")
        let probe = YDoc(clientID: 1)
        do { try probe.applyUpdate(state) } catch { return require(false, "the room's own state does not load: \(error)") }
        let pending = probe.hasPending
        covers(probe.stateVector, sv, exact: !pending, "the room's state, loaded")
        if !good.refused {
            covers(good.doc.stateVector, sv, exact: !pending, "the well-formed client")
            if !pending { require(good.doc.getText("good").string == text, "the well-formed client's text differs from the room's") }
        }
        let newcomer = GoodClient(clientID: 0xBEEF)
        await newcomer.join(room)
        await newcomer.pump(room)
        covers(newcomer.doc.stateVector, sv, exact: !pending, "a client joining at the end")
        for k in hostile.indices { await hostile[k].leave(room) }
        await good.leave(room)
        await newcomer.leave(room)
        await host.release(room)
        await host.shutdown()

        // Reloaded from its journal: the same document.
        do {
            let again = try RoomHost(config: config)
            let reloaded = try await again.acquire(roomName)
            covers(await reloaded.stateVector, sv, exact: !pending, "the room reloaded from its journal")
            if !pending { require(await reloaded.text("good") == text, "the reloaded room's text differs") }
            await again.release(reloaded)
            await again.shutdown()
        } catch { require(false, "the room does not reload: \(error)") }
    }

    /// `a` holds every clock of `b` (with `exact`, the same state vector).
    static func covers(_ a: StateVector, _ b: StateVector, exact: Bool, _ what: String) {
        if exact { return require(a == b, "\(what): state vector \(a.clocks) is not the room's \(b.clocks)") }
        for (client, clock) in b.clocks where a[client] < clock {
            require(false, "\(what): clock \(a[client]) of client \(client), the room has \(clock)")
        }
    }

    /// A y-partykit chunked message: start, the payload in 1 to 4 parts, end. Flag bits make it
    /// wrong (a size or count off by one, no end).
    static func sendBatch(_ p: [UInt8], flags: UInt8, from id: PeerID, to room: Room) async {
        let parts = 1 + Int(flags & 3)
        let each = max(1, (p.count + parts - 1) / parts)
        let chunks = stride(from: 0, to: max(p.count, 1), by: each).map { Array(p[$0..<min(p.count, $0 + each)]) }
        let size = p.count + (flags & 4 != 0 ? 1 : 0)
        await room.receive(.text(#"y-pk-batch#{"id":"b","type":"start","size":\#(size),"count":\#(chunks.count)}"#), from: id)
        for c in chunks { await room.receive(.binary(c), from: id) }
        await room.receive(.text(#"y-pk-batch#{"id":"b","type":"end","size":\#(size),"count":\#(chunks.count)}"#), from: id)
    }
}

/// A hostile connection: joined on first use and again after the room closed it.
struct Hostile {
    let access: Access
    let acks: Bool
    private(set) var connection: FakeConnection?
    private(set) var id: PeerID?

    init(access: Access, acks: Bool) {
        self.access = access
        self.acks = acks
    }

    mutating func ensure(_ room: Room) async -> PeerID? {
        if let connection, connection.closedWith == nil, let id { return id }
        let c = FakeConnection()
        connection = c
        id = await room.join(c, options: JoinOptions(access: access, durableAcks: acks, label: "hostile"))
        return id
    }

    mutating func leave(_ room: Room) async {
        if let id { await room.leave(id) }
        id = nil
        connection = nil
    }

    /// Takes what the room sent; every binary frame must be a y-protocols message.
    func drain() {
        for case let .binary(frame) in connection?.take() ?? [] {
            require((try? SyncMessage.decodeAll(frame)) != nil, "the room sent a frame that is not y-protocols: \(frame.prefix(16))")
        }
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes: [UInt8] = (size > 0 && data != nil) ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    RoomFuzz.run(bytes)
    return 0
}
#else
import FuzzSupport

// Only a declaration: the fuzzing build parses this file as a library (see Fuzz/CRDTFuzz).
let replayStatus: Int32 = FuzzReplay.run(RoomFuzz.run)
#endif
