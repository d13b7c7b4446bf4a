import CRDT
import Foundation
import Replica
import RoomHost
import Sync
import Testing
import TestSupport

/// y-partykit's chunked client messages (`y-pk-batch#` start, binary parts, end).
@Suite struct PartyBatchTests {
    /// The frames the y-partykit provider sends for one large message.
    func chunks(_ message: [UInt8], id: String = "b1", partSize: Int) -> [InboundMessage] {
        var parts: [[UInt8]] = []
        var i = 0
        while i < message.count {
            parts.append(Array(message[i..<min(message.count, i + partSize)]))
            i += partSize
        }
        return [.text(#"y-pk-batch#{"id":"\#(id)","type":"start","size":\#(message.count),"count":\#(parts.count)}"#)]
            + parts.map { InboundMessage.binary($0) }
            + [.text(#"y-pk-batch#{"id":"\#(id)","type":"end","size":\#(message.count),"count":\#(parts.count)}"#)]
    }

    @Test func aChunkedUpdateIsReassembledAndApplied() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("batch")
        let a = SimClient(room: room, clientID: 1)
        let b = SimClient(room: room, clientID: 2)
        try await a.join()
        try await b.join()
        let big = String(repeating: "0123456789", count: 500)
        let message = SyncMessage.update(makeTextUpdate(big, clientID: 77)).encoded()
        for m in chunks(message, partSize: 1000) { await room.receive(m, from: a.id!) }
        #expect(await room.text("t") == big)
        try await settle([a, b])
        #expect(b.text == big)
        #expect(!a.connection.isClosed)
        await host.shutdown()
    }

    @Test(arguments: ["missing part", "extra part", "wrong id", "end without start", "bad json", "too big"])
    func aBadBatchClosesWith1007AndChangesNothing(_ fault: String) async throws {
        let dir = TempDir()
        let host = try makeHost(dir) { $0.room.limits.maxFrameBytes = 100_000 }
        let room = try await host.acquire("badbatch")
        let a = SimClient(room: room, clientID: 1)
        try await a.join()
        let message = SyncMessage.update(makeTextUpdate(String(repeating: "x", count: 3000), clientID: 78)).encoded()
        var frames = chunks(message, partSize: 1000)
        switch fault {
        case "missing part": frames.remove(at: 2)
        case "extra part": frames.insert(.binary([0]), at: 2)
        case "wrong id": frames[frames.count - 1] = .text(#"y-pk-batch#{"id":"other","type":"end"}"#)
        case "end without start": frames.removeFirst()
        case "bad json": frames[0] = .text("y-pk-batch#{not json")
        default: frames[0] = .text(#"y-pk-batch#{"id":"b1","type":"start","size":200000,"count":200}"#)
        }
        for m in frames { await room.receive(m, from: a.id!) }
        let expected: CloseCode = fault == "too big" ? .messageTooBig : .invalidPayload
        #expect(a.connection.closeCode == expected, "\(fault): \(a.connection.closeReasons)")
        #expect(await room.text("t") == "")
        await host.shutdown()
    }
}
