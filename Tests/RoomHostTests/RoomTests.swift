import CRDT
import Foundation
import Replica
import RoomHost
import Sync
import Testing
import TestSupport

/// Room behaviour (y-websocket server, spec §7.4) with real peers: each simulated client has its
/// own YDoc and SyncSession and talks to the room through a recording connection.
@Suite struct RoomTests {
    // MARK: joining

    @Test func greetingIsStep1WithTheRoomsStateVectorAndNoAwarenessWhenNobodyIsThere() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("greet")
        try await room.applyUpdate(makeTextUpdate("hello"))

        let a = SimClient(room: room, clientID: 1)
        try await a.join(handshake: false)
        let messages = a.connection.messages
        #expect(messages.count == 1, "only a step 1 when no awareness state exists: \(messages)")
        guard case let .syncStep1(sv)? = messages.first else {
            Issue.record("first message is not a SyncStep1: \(messages)")
            return
        }
        #expect(try StateVector(decoding: sv) == (await room.stateVector))
        await host.shutdown()
    }

    @Test func greetingCarriesAwarenessStatesAfterStep1WhenThereAreAny() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("greet2")
        let a = SimClient(room: room, clientID: 1)
        try await a.join()
        await a.setAwareness(#"{"user":"a"}"#)

        let b = SimClient(room: room, clientID: 2)
        try await b.join(handshake: false)
        let messages = b.connection.messages
        #expect(messages.count == 2, "\(messages)")
        guard messages.count == 2 else { return }
        guard case .syncStep1 = messages[0] else {
            Issue.record("first message is not a SyncStep1: \(messages[0])")
            return
        }
        guard case let .awareness(update) = messages[1] else {
            Issue.record("second message is not awareness: \(messages[1])")
            return
        }
        let entries = try Awareness.decodeUpdate(update)
        #expect(entries.map(\.client) == [1])
        #expect(entries.first?.json == #"{"user":"a"}"#)
        await host.shutdown()
    }

    @Test func aFullRoomRefusesWithTryAgainLater() async throws {
        let dir = TempDir()
        let host = try makeHost(dir) { $0.room.limits.maxConnectionsPerRoom = 2 }
        let room = try await host.acquire("full")
        let a = SimClient(room: room, clientID: 1), b = SimClient(room: room, clientID: 2), c = SimClient(room: room, clientID: 3)
        #expect(try await a.join() != nil)
        #expect(try await b.join() != nil)
        #expect(try await c.join() == nil)
        #expect(c.connection.closeCodes == [.tryAgainLater])
        #expect(c.connection.frames.isEmpty)
        #expect(await room.connectionCount == 2)
        #expect(host.counters.value("ysync_connections_refused_total", labels: ["reason": "room_full"]) == 1)
        // A place frees up when someone leaves.
        await room.leave(a.id!)
        let d = SimClient(room: room, clientID: 4)
        #expect(try await d.join() != nil)
        await host.shutdown()
    }

    // MARK: sync between clients

    @Test func anInsertReachesTheOtherClientAndIsNeverEchoed() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("two")
        let a = SimClient(room: room, clientID: 1), b = SimClient(room: room, clientID: 2)
        try await a.join()
        try await b.join()

        try await a.insert("Hello")
        try await settle([a, b])
        try await b.insert(", world", at: 5)
        try await settle([a, b])
        try await a.insert("!")
        try await settle([a, b])

        #expect(a.text == "Hello, world!")
        #expect(b.text == a.text)
        #expect(await room.text("t") == a.text)
        #expect(a.doc.stateVector == b.doc.stateVector)
        // A got B's update only, B got A's two; nobody got its own back.
        #expect(a.updateMessages.count == 1)
        #expect(b.updateMessages.count == 2)
        for u in a.updateMessages {
            let doc = YDoc(clientID: 77)
            try doc.applyUpdate(u)
            #expect(doc.stateVector[1] == 0, "A was sent its own structs back")
        }
        await host.shutdown()
    }

    @Test func manyClientsConvergeOnConcurrentEdits() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("many")
        let clients = (1...5).map { SimClient(room: room, clientID: ClientID($0)) }
        for c in clients { try await c.join() }
        for round in 0..<4 {
            // Everyone edits before anyone reads: concurrent inserts at the start.
            for c in clients { try await c.insert("\(c.clientID)-\(round) ", at: 0) }
            try await settle(clients)
        }
        let expected = await room.text("t")
        #expect(expected.split(separator: " ").count == 20)
        for c in clients {
            #expect(c.text == expected)
            // Each got the others' updates and none of its own.
            for u in c.updateMessages {
                let doc = YDoc(clientID: 77)
                try doc.applyUpdate(u)
                #expect(doc.stateVector[c.clientID] == 0)
            }
        }
        await host.shutdown()
    }

    // MARK: y-websocket handshake

    @Test func step1IsAnsweredWithStep2AndAClientsStep2IsAppliedAndJournaled() async throws {
        let dir = TempDir()
        do {
            let host = try makeHost(dir)
            let room = try await host.acquire("hs")
            try await room.applyUpdate(makeTextUpdate("server "))
            let a = SimClient(room: room, clientID: 1)
            // The client has offline content before it connects.
            try a.doc.getText("t").insert(at: 0, "offline")
            try await a.join(handshake: false)
            a.autoAnswer = true
            // Our step 1: the room answers with a step 2 holding what we lack.
            let before = a.connection.frames.count
            await a.send(SyncMessage.syncStep1(a.doc.stateVector).encoded())
            let answer = a.connection.frames[before...].compactMap { f -> SyncMessage? in
                if case let .binary(b) = f { try? SyncMessage.decode(b) } else { nil }
            }
            guard case let .syncStep2(update)? = answer.first, answer.count == 1 else {
                Issue.record("the room did not answer step 1 with one step 2: \(answer)")
                return
            }
            #expect(try decodeText(ofUpdate: update, root: "t") == "server ")
            // Now process the greeting step 1: our step 2 carries the offline content.
            try await a.pump()
            #expect(a.session.isSynced)
            let roomText = await room.text("t")
            #expect(roomText.contains("offline") && roomText.contains("server "))
            #expect(a.text == roomText)
            #expect(host.counters.value("ysync_updates_applied_total") == 2)
            #expect(host.counters.value("ysync_messages_received_total", labels: ["kind": "sync_step2"]) == 1)
            #expect(host.counters.value("ysync_messages_received_total", labels: ["kind": "sync_step1"]) == 1)
            await host.shutdown()
            #expect(a.connection.closeCodes == [.goingAway])
        }
        // The client's step 2 was journaled: a new host reads it back.
        let host = try makeHost(dir)
        let room = try await host.acquire("hs")
        let text = await room.text("t")
        #expect(text.contains("offline") && text.contains("server "))
        await host.shutdown()
    }

    // MARK: read-only members

    @Test func aReadOnlyMemberReceivesButItsUpdatesAreRefused() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("ro")
        let w = SimClient(room: room, clientID: 1), r = SimClient(room: room, clientID: 2)
        try await w.join()
        try r.doc.getText("t").insert(at: 0, "reader's offline text")
        try await r.join(JoinOptions(access: .read, label: "reader"))
        // The reader's step 2 carried its text: refused.
        #expect(await room.text("t") == "")
        let refusedAtJoin = host.counters.value("ysync_updates_refused_total", labels: ["reason": "read_only"])
        #expect(refusedAtJoin == 1)

        try await w.insert("from the writer")
        try await settle([w, r])
        #expect(r.text.contains("from the writer"))

        // The reader was told why, once, with y-protocols' auth message; its session then stops
        // sending updates, and the room stays as it was.
        let denial = SyncMessage.authDenied(reason: ReplicaCore.readOnlyReason).encoded()
        #expect(r.connection.frames.filter { $0 == .binary(denial) }.count == 1)
        let sv = await room.stateVector
        try await r.insert(" (reader edit)")
        try await settle([w, r])
        #expect(await room.stateVector == sv)
        #expect(await room.text("t") == "from the writer")
        #expect(w.text == "from the writer")
        #expect(host.counters.value("ysync_updates_refused_total", labels: ["reason": "read_only"]) == refusedAtJoin)
        #expect(!r.connection.isClosed, "a read-only member is not disconnected for trying")
        await host.shutdown()
    }

    // MARK: awareness

    @Test func awarenessIsBroadcastShownAndRemovedOnLeave() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("aw")
        let a = SimClient(room: room, clientID: 1), b = SimClient(room: room, clientID: 2), c = SimClient(room: room, clientID: 3)
        for x in [a, b, c] { try await x.join() }

        await a.setAwareness(#"{"user":{"name":"Ann"}}"#)
        try await settle([a, b, c])
        for x in [a, b, c] {
            #expect(x.awarenessMessages.last?.map(\.client) == [1], "client \(x.clientID)")
            #expect(x.awareness.states[1] == #"{"user":{"name":"Ann"}}"#)
        }
        #expect(await room.awarenessStates == [1: #"{"user":{"name":"Ann"}}"#])

        await b.setAwareness(#"{"user":{"name":"Bob"}}"#)
        try await settle([a, b, c])
        #expect(await room.awarenessStates == [1: #"{"user":{"name":"Ann"}}"#, 2: #"{"user":{"name":"Bob"}}"#])

        // A leaves: the others are told its state is gone (null); A gets nothing more.
        let aFrames = a.connection.frames.count
        await room.leave(a.id!)
        try await settle([b, c])
        for x in [b, c] {
            let last = x.awarenessMessages.last
            #expect(last?.count == 1)
            #expect(last?.first?.client == 1)
            #expect(last?.first?.json == nil)
            #expect(x.awareness.states[1] == nil)
        }
        #expect(a.connection.frames.count == aFrames)
        #expect(await room.awarenessStates == [2: #"{"user":{"name":"Bob"}}"#])

        // Query awareness (message type 3) is answered with the states.
        let before = c.received.count
        await c.send(SyncMessage.queryAwareness.encoded())
        try await c.pump()
        let replies = c.received[before...].compactMap { if case let .awareness(u) = $0 { try? Awareness.decodeUpdate(u) } else { nil } }
        #expect(replies.count == 1)
        #expect(replies.first?.map(\.client) == [2])
        #expect(replies.first?.first?.json == #"{"user":{"name":"Bob"}}"#)
        await host.shutdown()
    }

    @Test func aClientClearingItsAwarenessIsBroadcastAndNotRemovedTwice() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("aw2")
        let a = SimClient(room: room, clientID: 1), b = SimClient(room: room, clientID: 2)
        try await a.join()
        try await b.join()
        await a.setAwareness(#"{"x":1}"#)
        try await settle([a, b])
        await a.setAwareness(nil)
        try await settle([a, b])
        #expect(b.awareness.states[1] == nil)
        #expect(await room.awarenessStates.isEmpty)
        let bCount = b.awarenessMessages.count
        await room.leave(a.id!)
        try await settle([b])
        #expect(b.awarenessMessages.count == bCount, "no second removal for a state already gone")
        await host.shutdown()
    }

    // MARK: bad input

    /// Sends `frame` from a fresh client and checks it alone is closed with 1007, and nothing changed.
    private func expectRejected(_ frame: [UInt8], _ what: String) async throws {
        let dir = TempDir(what)
        let host = try makeHost(dir)
        let room = try await host.acquire("bad")
        let good = SimClient(room: room, clientID: 1), bad = SimClient(room: room, clientID: 2)
        try await good.join()
        try await bad.join()
        try await good.insert("keep")
        await good.setAwareness(#"{"ok":true}"#)
        try await settle([good, bad])
        let sv = await room.stateVector
        let state = await room.state()
        let aw = await room.awarenessStates

        await bad.send(frame)
        #expect(bad.connection.closeCodes == [.invalidPayload], "\(what)")
        #expect(bad.connection.closeReasons.allSatisfy { $0.utf8.count <= 123 })
        #expect(await room.stateVector == sv, "\(what)")
        #expect(await room.state() == state, "\(what)")
        #expect(await room.awarenessStates == aw, "\(what)")
        #expect(await room.connectionCount == 1)
        #expect(host.counters.value("ysync_connections_closed_total", labels: ["code": "1007"]) == 1)

        // The other member is unaffected: it still edits and is still sent others' edits.
        try await good.insert(" going")
        try await settle([good])
        #expect(await room.text("t") == "keep going")
        #expect(!good.connection.isClosed)
        let other = SimClient(room: room, clientID: 3)
        try await other.join()
        try await settle([good, other])
        #expect(other.text == "keep going")
        try await other.insert("!")
        try await settle([good, other])
        #expect(good.text == "keep going!")
        // Frames sent by a closed member are ignored.
        await room.receive(.binary(SyncMessage.update(makeTextUpdate("late", clientID: 2)).encoded()), from: bad.id!)
        #expect(await room.text("t") == "keep going!")
        await host.shutdown()
    }

    @Test func garbageFrameClosesOnlyThatConnection() async throws {
        try await expectRejected([0xFF, 0x13, 0x37], "garbage")
    }

    @Test func emptyFrameIsRejected() async throws {
        try await expectRejected([], "empty")
    }

    @Test func truncatedSyncMessageIsRejected() async throws {
        let full = SyncMessage.update(makeTextUpdate("truncated text", clientID: 2)).encoded()
        try await expectRejected(Array(full.dropLast(4)), "truncated")
    }

    @Test func badUpdatePayloadIsRejected() async throws {
        // A well-framed update message whose payload is not an update v1.
        try await expectRejected(SyncMessage.update([0x05, 0xFF, 0xFF, 0xFF, 0x01]).encoded(), "bad update")
    }

    @Test func badStep2PayloadIsRejected() async throws {
        try await expectRejected(SyncMessage.syncStep2(update: [0x01, 0x01, 0x02]).encoded(), "bad step 2")
    }

    @Test func badStateVectorInStep1IsRejected() async throws {
        try await expectRejected(SyncMessage.syncStep1(stateVector: [0x03, 0x01]).encoded(), "bad state vector")
    }

    @Test func badAwarenessJSONIsRejected() async throws {
        // One entry: client 2, clock 1, state "{not json".
        let json = Array("{not json".utf8)
        let update: [UInt8] = [1, 2, 1, UInt8(json.count)] + json
        try await expectRejected(SyncMessage.awareness(update).encoded(), "bad awareness JSON")
    }

    @Test func trailingBytesAfterAMessageAreRejected() async throws {
        try await expectRejected(SyncMessage.queryAwareness.encoded() + [0x00], "trailing bytes")
    }

    @Test func textFramesAreIgnored() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("text")
        let a = SimClient(room: room, clientID: 1)
        try await a.join()
        await a.sendText("hello?")
        #expect(!a.connection.isClosed)
        #expect(host.counters.value("ysync_messages_received_total", labels: ["kind": "text"]) == 1)
        await host.shutdown()
    }

    @Test func unknownMembersAreIgnored() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("ghost")
        await room.receive(.binary(SyncMessage.update(makeTextUpdate("ghost")).encoded()), from: PeerID(raw: 99))
        await room.leave(PeerID(raw: 99))
        #expect(await room.text("t") == "")
        await host.shutdown()
    }

    // MARK: limits

    @Test func floodingClosesWithRateLimited() async throws {
        let dir = TempDir()
        let host = try makeHost(dir) {
            $0.room.limits.messagesPerSecond = 5
            $0.room.limits.messageBurst = 5
        }
        let room = try await host.acquire("flood")
        let a = SimClient(room: room, clientID: 1), b = SimClient(room: room, clientID: 2)
        try await a.join(handshake: false)
        try await b.join(handshake: false)
        var closedAt: Int?
        for i in 1...50 {
            await a.send(SyncMessage.queryAwareness.encoded())
            if a.connection.isClosed {
                closedAt = i
                break
            }
        }
        #expect(a.connection.closeCodes == [.rateLimited])
        // The burst of 5 always passes; the earliest close is the 6th message.
        #expect((closedAt ?? 0) >= 6)
        #expect(!b.connection.isClosed)
        #expect(await room.connectionCount == 1)
        #expect(host.counters.value("ysync_connections_closed_total", labels: ["code": "4029"]) == 1)
        await host.shutdown()
    }

    @Test func anUpdateOverTheDocumentLimitClosesWithDocumentTooLarge() async throws {
        let dir = TempDir()
        let host = try makeHost(dir) { $0.room.limits.maxDocumentBytes = 300 }
        let room = try await host.acquire("big")
        let a = SimClient(room: room, clientID: 1), b = SimClient(room: room, clientID: 2)
        try await a.join()
        try await b.join()
        try await a.insert("small")
        try await settle([a, b])
        #expect(await room.text("t") == "small")
        let sv = await room.stateVector

        try await a.insert(String(repeating: "x", count: 1_000))
        #expect(a.connection.closeCodes == [.documentTooLarge])
        #expect(await room.stateVector == sv)
        #expect(await room.text("t") == "small")
        #expect(host.counters.value("ysync_updates_refused_total", labels: ["reason": "document_too_large"]) == 1)
        try await settle([b])
        #expect(b.text == "small")
        #expect(!b.connection.isClosed)

        // The HTTP path enforces it too.
        await #expect(throws: RoomError.self) { try await room.applyUpdate(makeTextUpdate(String(repeating: "y", count: 1_000))) }
        #expect(await room.text("t") == "small")
        await host.shutdown()
    }

    // MARK: durable acknowledgements

    @Test func durableAcksFollowEveryStep2AndUpdate() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("acks")
        let a = SimClient(room: room, clientID: 1), other = SimClient(room: room, clientID: 2)
        try await other.join()
        try a.doc.getText("t").insert(at: 0, "offline ")
        try await a.join(JoinOptions(durableAcks: true, label: "ycli"))

        // Greeting step 1, then the ack of our step 2 (the handshake), holding our offline text.
        #expect(a.step1Messages.count == 2)
        let ack1 = try StateVector(decoding: a.step1Messages.last!)
        #expect(ack1[1] == a.doc.stateVector[1])
        #expect(ack1 == (await room.stateVector))
        #expect(await room.text("t") == "offline ")

        for word in ["one ", "two ", "three "] {
            let before = a.step1Messages.count
            try await a.insert(word)
            try await settle([a, other])
            #expect(a.step1Messages.count == before + 1, "one ack per update")
            let ack = try StateVector(decoding: a.step1Messages.last!)
            #expect(ack == (await room.stateVector))
            #expect(ack[1] == a.doc.stateVector[1], "the ack covers the update just sent")
        }
        // An update the room already holds is acknowledged too (so a client can wait for it).
        let before = a.step1Messages.count
        await a.send(SyncMessage.update(a.doc.encodeStateAsUpdate()).encoded())
        try await settle([a, other])
        #expect(a.step1Messages.count == before + 1)
        #expect(host.counters.value("ysync_acks_sent_total") == Double(a.step1Messages.count - 1))

        // The other member never asked: one step 1 (the greeting) and nothing after.
        #expect(other.step1Messages.count == 1)
        #expect(other.text == a.text)
        #expect(!a.connection.isClosed && !other.connection.isClosed)
        await host.shutdown()
    }

    /// A step 2 carries the sender's whole delete set, and a client answers every step 1 (an
    /// ack) with a step 2: acknowledging such an answer again would never end.
    @Test func durableAcksDoNotPingPongWhenTheClientHasDeletions() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("acks-deletes")
        let a = SimClient(room: room, clientID: 1)
        let t = a.doc.getText("t")
        try t.insert(at: 0, "hello cruel world")
        try t.delete(at: 5, count: 6)
        try await a.join(JoinOptions(durableAcks: true))  // settles, or throws on a ping-pong
        #expect(await room.text("t") == "hello world")
        #expect(a.step1Messages.count == 2, "greeting + the ack of the handshake step 2")
        #expect(try StateVector(decoding: a.step1Messages.last!) == (await room.stateVector))

        // Online deletions: acknowledged once each.
        for _ in 0..<3 {
            let before = a.step1Messages.count
            try await a.edit { doc in try doc.getText("t").delete(at: 0, count: 1) }
            try await settle([a])
            #expect(a.step1Messages.count == before + 1)
        }
        #expect(await room.text("t") == "lo world")
        #expect(!a.connection.isClosed)
        // A second acking client joining a room with deletions settles too.
        let b = SimClient(room: room, clientID: 2)
        try await b.join(JoinOptions(durableAcks: true))
        try await settle([a, b])
        #expect(b.text == "lo world")
        await host.shutdown()
    }

    @Test func withoutDurableAcksNoStep1AfterTheHandshake() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("noacks")
        let a = SimClient(room: room, clientID: 1), b = SimClient(room: room, clientID: 2)
        try await a.join()
        try await b.join()
        for i in 0..<5 {
            try await a.insert("a\(i) ")
            try await b.insert("b\(i) ")
            try await settle([a, b])
        }
        #expect(a.step1Messages.count == 1)
        #expect(b.step1Messages.count == 1)
        #expect(host.counters.value("ysync_acks_sent_total") == 0)
        #expect(a.text == b.text)
        await host.shutdown()
    }

    @Test func readOnlyMembersGetNoAcks() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("roacks")
        let r = SimClient(room: room, clientID: 1)
        try await r.join(JoinOptions(access: .read, durableAcks: true))
        try await r.insert("nope")
        try await settle([r])
        #expect(r.step1Messages.count == 1)
        await host.shutdown()
    }

    // MARK: broadcast and the HTTP path

    @Test func broadcastTextReachesEveryMember() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("bc")
        #expect(await room.broadcastText("nobody") == 0)
        let clients = (1...3).map { SimClient(room: room, clientID: ClientID($0)) }
        for c in clients { try await c.join() }
        #expect(await room.broadcastText(#"{"event":"saved"}"#) == 3)
        for c in clients { #expect(c.connection.texts == [#"{"event":"saved"}"#]) }
        await room.leave(clients[0].id!)
        #expect(await room.broadcastText("two") == 2)
        #expect(clients[0].connection.texts == [#"{"event":"saved"}"#])
        #expect(clients[2].connection.texts.last == "two")
        await host.shutdown()
    }

    @Test func applyUpdateRelaysToMembersAndRejectsInvalidBytes() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("http")
        let a = SimClient(room: room, clientID: 1), b = SimClient(room: room, clientID: 2)
        try await a.join()
        try await b.join()
        let update = makeTextUpdate("via http")
        #expect(try await room.applyUpdate(update))
        try await settle([a, b])
        #expect(a.text == "via http" && b.text == "via http")
        // Already known: nothing changes, nothing is sent.
        let frames = a.connection.frames.count
        #expect(try await room.applyUpdate(update) == false)
        #expect(a.connection.frames.count == frames)
        #expect(host.counters.value("ysync_updates_unchanged_total") == 1)

        let sv = await room.stateVector
        for bytes: [UInt8] in [[], [0xFF], [0x01, 0x01, 0x05, 0x00, 0x44], Array(update.dropLast(3))] {
            do {
                try await room.applyUpdate(bytes)
                Issue.record("\(bytes) was accepted")
            } catch {
                guard case .invalidUpdate = error else {
                    Issue.record("\(bytes): \(error) is not invalidUpdate")
                    continue
                }
            }
        }
        #expect(await room.stateVector == sv)
        #expect(!a.connection.isClosed && !b.connection.isClosed)

        // state(since:) is what a peer lacks.
        let diff = await room.state(since: sv)
        let empty = YDoc(clientID: 5)
        try empty.applyUpdate(diff)
        #expect(empty.getText("t").string == "")
        await host.shutdown()
    }

    // MARK: closing

    @Test func closeEndsEveryConnectionAndRefusesNewOnes() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("closing")
        let a = SimClient(room: room, clientID: 1), b = SimClient(room: room, clientID: 2)
        try await a.join()
        try await b.join()
        try await a.insert("x")
        await room.close(.goingAway, reason: "bye")
        #expect(a.connection.closeCodes == [.goingAway])
        #expect(b.connection.closeCodes == [.goingAway])
        #expect(await room.connectionCount == 0)
        let c = SimClient(room: room, clientID: 3)
        #expect(try await c.join() == nil)
        #expect(c.connection.closeCodes == [.goingAway])
        do {
            try await room.applyUpdate(makeTextUpdate("late"))
            Issue.record("a closed room accepted an update")
        } catch {
            #expect(error == .closed)
        }
        await host.shutdown()
    }
}
