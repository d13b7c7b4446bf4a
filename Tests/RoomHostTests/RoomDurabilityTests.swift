import CRDT
import Foundation
import Journal
import Replica
import RoomHost
import Sync
import Testing
import TestSupport

/// A connection that, the moment the room hands it a frame, reads the room's journal file
/// through a second SQLite connection: what was on disk when the frame was sent.
private final class JournalProbeConnection: RoomConnection, @unchecked Sendable {
    let recording = RecordingConnection()
    let journalPath: String
    private let lock = NSLock()
    private var seen: [(message: SyncMessage, journalText: String)] = []

    init(journalPath: String) { self.journalPath = journalPath }

    func send(_ frame: OutboundFrame) {
        recording.send(frame)
        guard case let .binary(bytes) = frame, let message = try? SyncMessage.decode(bytes) else { return }
        let text: String
        do {
            // A reader beside the room (the room holds the writer lock).
            let store = try JournaledDocument.open(path: journalPath, access: .read)
            text = store.doc.getText("t").string
            store.close()
        } catch {
            text = "<could not open the journal: \(error)>"
        }
        lock.lock()
        seen.append((message, text))
        lock.unlock()
    }

    func close(_ code: CloseCode, reason: String) { recording.close(code, reason: reason) }

    var observed: [(message: SyncMessage, journalText: String)] {
        lock.lock()
        defer { lock.unlock() }
        return seen
    }
}

@Suite struct RoomDurabilityTests {
    @Test func updatesAreJournaledBeforeTheyAreRelayedOrAcknowledged() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("durable")
        let path = RoomStorage(dataDirectory: dir.path).path(for: "durable")
        let writer = SimClient(room: room, clientID: 1)
        try await writer.join()

        let probe = JournalProbeConnection(journalPath: path)
        let pid = try #require(await room.join(probe))
        await room.receive(.binary(SyncMessage.syncStep1(StateVector()).encoded()), from: pid)

        let acker = JournalProbeConnection(journalPath: path)
        let aid = try #require(await room.join(acker, options: JoinOptions(durableAcks: true)))
        await room.receive(.binary(SyncMessage.syncStep1(StateVector()).encoded()), from: aid)

        var expected = ""
        for word in ["alpha ", "beta ", "gamma"] {
            try await writer.insert(word)
            expected += word
        }
        #expect(await room.text("t") == expected)
        let relayed = probe.observed.filter { if case .update = $0.message { true } else { false } }
        #expect(relayed.count == 3)
        var soFar = ""
        for (i, r) in relayed.enumerated() {
            soFar += ["alpha ", "beta ", "gamma"][i]
            #expect(r.journalText == soFar, "relayed before it was journaled")
        }

        // Acks: the acking member sends its own edits; each ack finds them on disk.
        let doc = YDoc(clientID: 60)
        try doc.applyUpdate(await room.state())
        for word in [" delta", " epsilon"] {
            let sv = doc.stateVector
            let t = doc.getText("t")
            try t.insert(at: t.length, word)
            await room.receive(.binary(SyncMessage.update(doc.encodeStateAsUpdate(since: sv)).encoded()), from: aid)
        }
        let acks = acker.observed.filter { if case .syncStep1 = $0.message { true } else { false } }
        // The greeting, then one ack per update.
        #expect(acks.count == 3)
        #expect(acks.dropFirst().map(\.journalText) == [expected + " delta", expected + " delta epsilon"])
        await host.shutdown()
    }

    @Test func aBadFrameFromAMemberWithAwarenessRemovesItsStateForTheOthers() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("bad-aw")
        let good = SimClient(room: room, clientID: 1), bad = SimClient(room: room, clientID: 2)
        try await good.join()
        try await bad.join()
        await bad.setAwareness(#"{"name":"mallory"}"#)
        try await settle([good, bad])
        #expect(good.awareness.states[2] != nil)
        await bad.send([0x00, 0x07])
        #expect(bad.connection.closeCodes == [.invalidPayload])
        try await settle([good])
        #expect(good.awareness.states[2] == nil)
        #expect(await room.awarenessStates.isEmpty)
        await host.shutdown()
    }

    @Test func readOnlyMembersMayStillShareAwareness() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("ro-aw")
        let w = SimClient(room: room, clientID: 1), r = SimClient(room: room, clientID: 2)
        try await w.join()
        try await r.join(JoinOptions(access: .read))
        await r.setAwareness(#"{"name":"viewer"}"#)
        try await settle([w, r])
        #expect(w.awareness.states[2] == #"{"name":"viewer"}"#)
        #expect(await room.awarenessStates[2] == #"{"name":"viewer"}"#)
        await host.shutdown()
    }
}
