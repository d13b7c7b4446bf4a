import CRDT
import Foundation
import Journal
import Replica
import RoomHost
import Sync
import Testing
import TestSupport

// Issue 16 point 1: an update the journal refuses (a full disk) must leave the room exactly as
// it was, and every client must converge once the journal accepts writes again. The failures
// are injected into the real SQLite journal (`JournalFaults`: the next N appends throw
// SQLITE_FULL inside their transaction, which SQLite rolls back).

/// The room's journal as a reader beside the room sees it (the room holds the writer lock).
private func journalDocument(_ dir: TempDir, _ room: String) throws -> YDoc {
    let store = try JournaledDocument.open(path: RoomStorage(dataDirectory: dir.path).path(for: room), access: .read)
    defer { store.close() }
    return store.doc
}

/// A host whose rooms' journals fail appends when `faults` is armed, with no rate limit in the
/// way of a test that sends as fast as it can.
private func makeFaultyHost(_ dir: TempDir, _ faults: JournalFaults, log: LogRecorder? = nil) throws -> RoomHost {
    try makeHost(dir, log: log) { config in
        config.room.journal.faults = faults
        config.room.limits.messagesPerSecond = 1_000_000
        config.room.limits.messageBurst = 1_000_000
    }
}

@Suite struct RoomWriteFailureTests {
    @Test func aRefusedUpdateLeavesTheRoomAsItWasAndItsSenderSendsItAgainOnReconnect() async throws {
        let dir = TempDir()
        let faults = JournalFaults()
        let log = LogRecorder()
        let host = try makeFaultyHost(dir, faults, log: log)
        let room = try await host.acquire("full")
        let a = SimClient(room: room, clientID: 1)
        let b = SimClient(room: room, clientID: 2)
        try await a.join()
        try await b.join()
        try await a.insert("kept ")
        try await settle([a, b])
        #expect(b.text == "kept ")

        // The disk is full for one append: a's update is refused, a is closed with 1011.
        faults.failNextAppends(1)
        let updatesBefore = b.updateMessages.count
        try await a.insert("refused")
        #expect(faults.injected == 1)
        #expect(a.connection.closeCode == .internalError)
        try await settle([a, b])
        // Nothing of it anywhere: the document, HTTP reads, the other client, a new joiner.
        #expect(await room.text("t") == "kept ")
        #expect(try decodeText(ofUpdate: await room.state(), root: "t") == "kept ")
        #expect(b.updateMessages.count == updatesBefore, "b was relayed an update the journal does not hold")
        #expect(b.text == "kept ")
        let c = SimClient(room: room, clientID: 3)
        try await c.join()
        #expect(c.text == "kept ")
        #expect(try journalDocument(dir, "full").getText("t").string == "kept ")
        #expect(log.lines(at: .error).contains { $0.contains("could not journal an update") })

        // An HTTP update refused the same way changes nothing either.
        faults.failNextAppends(1)
        await #expect(throws: RoomError.self) { try await room.applyUpdate(makeTextUpdate("http ", clientID: 77)) }
        #expect(await room.text("t") == "kept ")

        // Others edit meanwhile, as usual.
        try await b.insert("b ", at: 0)
        try await settle([a, b, c])
        #expect(c.text == "b kept ")

        // The journal accepts writes again: a reconnects and its handshake sends what the
        // room lacks; everyone converges, and the journal holds it.
        try await a.reconnect()
        try await settle([a, b, c])
        let text = await room.text("t")
        #expect(text.contains("refused") && text.contains("b ") && text.contains("kept "))
        for client in [a, b, c] {
            #expect(client.text == text, "client \(client.clientID)")
            #expect(!client.connection.isClosed, "client \(client.clientID)")
        }
        #expect(try journalDocument(dir, "full").getText("t").string == text)
        #expect(faults.injected == 2)
        await host.shutdown()
    }

    @Test func aRoomThatCannotReloadAfterARefusedWriteClosesAndLoadsFromItsJournalNextTime() async throws {
        let dir = TempDir()
        let faults = JournalFaults()
        let log = LogRecorder()
        let host = try makeFaultyHost(dir, faults, log: log)
        let room = try await host.acquire("broken")
        let a = SimClient(room: room, clientID: 1)
        let b = SimClient(room: room, clientID: 2)
        try await a.join()
        try await b.join()
        try await a.insert("kept ")
        try await settle([a, b])

        // The append fails, and so does the reload that would undo it: the room may hold what
        // its journal does not, so it closes everyone and itself, persisting nothing.
        faults.failNextAppends(1)
        faults.failNextLoads(1)
        try await a.insert("lost")
        #expect(a.connection.closeCode == .internalError)
        #expect(b.connection.closeCode == .internalError)
        #expect(b.text == "kept ")
        #expect(await room.join(RecordingConnection()) == nil)
        await #expect(throws: RoomError.closed) { try await room.applyUpdate(makeTextUpdate("x ", clientID: 77)) }
        #expect(log.lines(at: .error).contains { $0.contains("could not be reloaded") })

        // The host unloads it like any idle room; the next use loads what the journal holds.
        await host.release(room)
        #expect(await host.evictIdle(olderThan: 0) == 1)
        let again = try await host.acquire("broken")
        #expect(again !== room)
        #expect(await again.text("t") == "kept ")
        await host.shutdown()
    }

    /// Fuzz-style, seed 0x16_0001: 4 clients make 240 random edits (inserts and deletes) while
    /// about one step in five arms 1–2 append failures; a closed client edits offline and later
    /// reconnects. After every step the room's document equals a reload of its journal and
    /// every connected client equals the room; at the end, with writes accepted again, every
    /// client, the room's text, a reload beside the room and a reopen after shutdown agree.
    @Test func randomWriteFailuresWhileClientsEditSeed0x160001() async throws {
        let seed: UInt64 = 0x16_0001
        var rng = SeededRandom(seed: seed)
        let dir = TempDir()
        let faults = JournalFaults()
        let host = try makeFaultyHost(dir, faults)
        let room = try await host.acquire("fuzz")
        let clients = (1...4).map { SimClient(room: room, clientID: ClientID($0)) }
        for c in clients { try await c.join() }
        var refusals = 0, reconnects = 0, offlineEdits = 0

        for step in 0..<240 {
            if faults.pending == 0, rng.chance(0.2) { faults.failNextAppends(rng.int(1...2)) }
            let c = clients[rng.int(0..<clients.count)]
            let wasOpen = !c.connection.isClosed
            if !wasOpen, rng.chance(0.5) {
                try await c.reconnect()
                reconnects += 1
            } else {
                if !wasOpen { offlineEdits += 1 }
                let length = c.doc.getText("t").length
                let word = String(repeating: Character(Unicode.Scalar(UInt8(97 + step % 26))), count: rng.int(1...4))
                if length > 8, rng.chance(0.3) {
                    let at = rng.int(0..<length)
                    let count = min(rng.int(1...3), length - at)
                    try await c.edit { doc in try doc.getText("t").delete(at: at, count: count) }
                } else {
                    let at = rng.int(0...length)
                    try await c.edit { doc in try doc.getText("t").insert(at: at, word) }
                }
            }
            if wasOpen, c.connection.isClosed { refusals += 1 }
            try await settle(clients)

            // Nobody holds or is shown what the journal does not.
            let roomState = await room.stateVector
            let journal = try journalDocument(dir, "fuzz")
            #expect(roomState == journal.stateVector, "seed \(seed) step \(step): the room holds what its journal does not")
            let roomText = await room.text("t")
            #expect(roomText == journal.getText("t").string, "seed \(seed) step \(step)")
            for open in clients where !open.connection.isClosed {
                #expect(open.text == roomText, "seed \(seed) step \(step): client \(open.clientID) diverged")
            }
        }

        // Writes are accepted again: the closed clients come back and everyone converges.
        faults.clear()
        for c in clients where c.connection.isClosed { try await c.reconnect() }
        try await settle(clients)
        let text = await room.text("t")
        let state = await room.stateVector
        for c in clients {
            #expect(!c.connection.isClosed, "seed \(seed): client \(c.clientID)")
            #expect(c.text == text, "seed \(seed): client \(c.clientID)")
            #expect(c.doc.stateVector == state, "seed \(seed): client \(c.clientID)")
        }
        #expect(try journalDocument(dir, "fuzz").getText("t").string == text, "seed \(seed)")
        await host.shutdown()
        let reopened = try JournaledDocument.open(path: RoomStorage(dataDirectory: dir.path).path(for: "fuzz"))
        #expect(reopened.doc.getText("t").string == text, "seed \(seed)")
        reopened.close()
        // The run exercised what it is about (fixed by the seed).
        #expect(faults.injected >= 20 && refusals >= 10 && reconnects >= 10 && offlineEdits >= 5,
                "seed \(seed): \(faults.injected) failures, \(refusals) refusals, \(reconnects) reconnects, \(offlineEdits) offline edits")
        #expect(!text.isEmpty)
        print("RoomWriteFailureTests seed \(seed): \(faults.injected) injected failures, \(refusals) refusals, \(reconnects) reconnects, \(offlineEdits) offline edits, \(text.count) characters")
    }
}
