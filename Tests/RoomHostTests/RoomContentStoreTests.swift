import CRDT
import CSQLite
import Foundation
import RoomHost
import Sync
import Testing
import TestSupport

/// The seed's content store through RoomHost: the load chain (journal → yDoc → body → empty),
/// slugs, and autosave back to the store.
@Suite struct RoomContentStoreTests {
    private func host(_ dir: TempDir, _ store: ContentStore, log: LogRecorder? = nil,
                      debounce: Double = 2, maxDelay: Double = 10) throws -> RoomHost {
        try makeHost(dir, log: log) {
            $0.room.contentStore = store
            $0.room.autosaveDebounce = debounce
            $0.room.autosaveMaxDelay = maxDelay
        }
    }

    @Test func loadChainYDocThenBodyThenEmpty() async throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        let yDoc = makeTextUpdate("from the yDoc", root: "codemirror")
        try store.insert(ContentRecord(id: "with-ydoc", slug: "first", body: "stale body", yDocBase64: Base64.encode(yDoc)))
        try store.insert(ContentRecord(id: "with-body", body: "only a body"))
        try store.insert(ContentRecord(id: "with-nothing"))
        let log = LogRecorder()
        let host = try host(dir, store, log: log)

        let r1 = try await host.acquire("with-ydoc")
        #expect(await r1.text("codemirror") == "from the yDoc")
        #expect(await r1.state() == yDoc, "the yDoc document itself, not a copy of its text")
        let r2 = try await host.acquire("with-body")
        #expect(await r2.text("codemirror") == "only a body")
        let r3 = try await host.acquire("with-nothing")
        #expect(await r3.text("codemirror") == "")
        #expect(await r3.stateVector.isEmpty)
        let r4 = try await host.acquire("not-in-the-store")
        #expect(await r4.stateVector.isEmpty)
        #expect(log.lines(at: .error).isEmpty, "\(log.lines(at: .error))")
        #expect(host.counters.value("ysync_errors_total", labels: ["kind": "content_store"]) == 0)

        // A client joining sees the loaded content.
        let c = SimClient(room: r2, clientID: 7)
        try await c.join()
        #expect(c.doc.getText("codemirror").string == "only a body")
        await host.shutdown()
    }

    @Test(arguments: [
        ("!!! not base64 !!!", "base64"),
        (Base64.encode([0xFF, 0xFF, 0xFF, 0x01]), "not a valid update"),
    ])
    func aCorruptYDocFallsBackToBodyWithAnErrorLogged(_ yDoc: String, _ mentions: String) async throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try store.insert(ContentRecord(id: "corrupt", slug: "broken", body: "the body survives", yDocBase64: yDoc))
        let log = LogRecorder()
        let host = try host(dir, store, log: log)
        let room = try await host.acquire("broken")
        #expect(room.name == "corrupt")
        #expect(await room.text("codemirror") == "the body survives")
        let errors = log.lines(at: .error)
        #expect(errors.contains { $0.contains("corrupt") && $0.contains("yDoc") && $0.contains(mentions) }, "\(errors)")
        #expect(host.counters.value("ysync_errors_total", labels: ["kind": "content_store"]) == 1)
        await host.shutdown()
    }

    @Test func aSlugAndAnIdNameTheSameRoom() async throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try store.insert(ContentRecord(id: "id-42", slug: "my-page", body: "page"))
        let host = try host(dir, store)
        let bySlug = try await host.acquire("my-page")
        let byID = try await host.acquire("id-42")
        #expect(bySlug === byID)
        #expect(bySlug.name == "id-42")
        #expect(await host.loadedRooms == ["id-42"])
        // Leases taken by slug are released on the id.
        await host.release(bySlug)
        await host.release(byID)
        #expect(await host.evictIdle(olderThan: 0) == 1)
        await host.shutdown()
    }

    @Test func theJournalWinsOverTheContentStoreOnceItExists() async throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try store.insert(ContentRecord(id: "doc", body: "initial"))
        let host = try host(dir, store, debounce: 3_600, maxDelay: 3_600)
        let room = try await host.acquire("doc")
        try await room.applyUpdate(updateAppending(" edited", to: await room.state()))
        #expect(await room.text("codemirror") == "initial edited")
        await host.release(room)
        #expect(await host.evictIdle(olderThan: 0) == 1)
        // The store is changed behind our back: the journal (not the store) is the room's truth,
        // and the body is not inserted a second time.
        try store.writeBack(id: "doc", yDocBase64: "", body: "someone else's body")
        let again = try await host.acquire("doc")
        #expect(await again.text("codemirror") == "initial edited")
        await host.shutdown()
    }

    @Test func autosaveWritesYDocAndBodyBackAfterAnEdit() async throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try store.insert(ContentRecord(id: "auto", slug: "auto-slug", body: "start"))
        let host = try host(dir, store, debounce: 0.2, maxDelay: 1)
        let room = try await host.acquire("auto-slug")
        let a = SimClient(room: room, clientID: 3)
        try await a.join()
        try await a.edit { doc in
            let t = doc.getText("codemirror")
            try t.insert(at: t.length, " + typed")
        }
        #expect(await room.text("codemirror") == "start + typed")

        let saved = await eventually { (try? store.lookup("auto"))?.body == "start + typed" }
        #expect(saved, "autosave did not write the body")
        let record = try #require(try store.lookup("auto"))
        #expect(record.slug == "auto-slug", "other fields are kept")
        let yDoc = try Base64.decode(try #require(record.yDocBase64))
        #expect(try decodeText(ofUpdate: yDoc, root: "codemirror") == "start + typed")
        // The counter is bumped right after the write (on the room's executor): poll it too.
        #expect(await eventually { host.counters.value("ysync_autosaves_total") >= 1 })

        // Later typing is saved too. (That a stream of changes is saved at the cap, however
        // quick: AutosaveScheduleTests, on a fake clock.)
        for i in 0..<10 {
            try await a.edit { doc in
                let t = doc.getText("codemirror")
                try t.insert(at: t.length, "\(i)")
            }
        }
        let expected = await room.text("codemirror")
        #expect(await eventually { (try? store.lookup("auto"))?.body == expected })
        await host.shutdown()
    }

    @Test func shutdownAndEvictionSaveWhatIsNotSavedYet() async throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try store.insert(ContentRecord(id: "s1", body: "one"))
        try store.insert(ContentRecord(id: "s2", body: "two"))
        // Debounce far away: only closing can save.
        let host = try host(dir, store, debounce: 3_600, maxDelay: 3_600)
        let r1 = try await host.acquire("s1")
        let r2 = try await host.acquire("s2")
        try await r1.applyUpdate(updateAppending("!", to: await r1.state()))
        try await r2.applyUpdate(updateAppending("?", to: await r2.state()))

        await host.release(r1)
        #expect(await host.evictIdle(olderThan: 0) == 1)
        #expect(try store.lookup("s1")?.body == "one!")
        #expect(try store.lookup("s2")?.body == "two")
        await host.shutdown()
        #expect(try store.lookup("s2")?.body == "two?")
        let yDoc = try Base64.decode(try #require(try store.lookup("s2")?.yDocBase64))
        #expect(try decodeText(ofUpdate: yDoc, root: "codemirror") == "two?")
    }

    /// A write-back that fails (here: the app left the row's fields as a JSON array) is logged,
    /// and the changes stay unsaved: the next save (at the latest on shutdown) writes them.
    @Test func aFailedAutosaveIsRetriedLater() async throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try store.insert(ContentRecord(id: "f", body: "base"))
        let log = LogRecorder()
        let host = try host(dir, store, log: log, debounce: 0.05, maxDelay: 0.2)
        let room = try await host.acquire("f")
        rawSQL(dir.contentDB, "UPDATE contentResource SET fields = '[1, 2]' WHERE id = 'f'")
        try await room.applyUpdate(updateAppending(" + 1", to: await room.state()))
        #expect(await eventually { host.counters.value("ysync_errors_total", labels: ["kind": "autosave"]) >= 1 })
        #expect(log.lines(at: .error).contains { $0.contains("autosave") })
        // The app repairs the row; nothing else changes in the room.
        rawSQL(dir.contentDB, #"UPDATE contentResource SET fields = '{"slug": "kept"}' WHERE id = 'f'"#)
        await host.shutdown()
        let record = try store.lookup("f")
        #expect(record?.body == "base + 1")
        #expect(record?.slug == "kept")
    }

    @Test func roomsWithoutARowAreNotWrittenToTheStore() async throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        let host = try host(dir, store, debounce: 0.05, maxDelay: 0.1)
        let room = try await host.acquire("journal-only")
        try await room.applyUpdate(makeTextUpdate("x", root: "codemirror"))
        // No waiting for a timer that must not fire: a change in a room without a row schedules
        // no autosave, and the save path itself (persistAll, shutdown) writes nothing for it.
        await host.persistAll()
        #expect(try store.lookup("journal-only") == nil)
        await host.shutdown()
        #expect(try store.lookup("journal-only") == nil)
        #expect(host.counters.value("ysync_autosaves_total") == 0)
    }

    @Test func persistAllSavesToTheStore() async throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try store.insert(ContentRecord(id: "p", body: "p"))
        let host = try host(dir, store, debounce: 3_600, maxDelay: 3_600)
        let room = try await host.acquire("p")
        try await room.applyUpdate(updateAppending("q", to: await room.state()))
        await host.persistAll()
        #expect(try store.lookup("p")?.body == "pq")
        // Nothing new: a second persist writes nothing.
        let saves = host.counters.value("ysync_autosaves_total")
        await host.persistAll()
        #expect(host.counters.value("ysync_autosaves_total") == saves)
        await host.shutdown()
    }
}

/// An update appending `suffix` to root text "codemirror" of the document `state`.
private func updateAppending(_ suffix: String, to state: [UInt8]) throws -> [UInt8] {
    let doc = YDoc(clientID: 4_242)
    try doc.applyUpdate(state)
    let sv = doc.stateVector
    let t = doc.getText("codemirror")
    try t.insert(at: t.length, suffix)
    return doc.encodeStateAsUpdate(since: sv)
}

/// Raw SQL on a content database, for rows the store's API would never write.
private func rawSQL(_ path: String, _ statement: String) {
    var db: OpaquePointer?
    precondition(sqlite3_open(path, &db) == SQLITE_OK)
    defer { sqlite3_close(db) }
    sqlite3_busy_timeout(db, 5_000)
    var err: UnsafeMutablePointer<CChar>?
    let rc = sqlite3_exec(db, statement, nil, nil, &err)
    precondition(rc == SQLITE_OK, err.map { String(cString: $0) } ?? "sqlite error \(rc)")
}
