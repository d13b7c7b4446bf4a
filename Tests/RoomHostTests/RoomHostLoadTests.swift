import CRDT
import Foundation
import Journal
import Replica
import RoomHost
import Sync
import Testing
import TestSupport

/// RoomHost: lazy loading from the journal, leases, idle eviction, limits, names, metrics.
@Suite struct RoomHostLoadTests {
    @Test func roomsLoadLazilyAndRepeatedAcquiresShareOneRoom() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        #expect(await host.loadedRooms.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir.roomsDirectory + "/lazy.ysync"))
        let r1 = try await host.acquire("lazy")
        let r2 = try await host.acquire("lazy")
        #expect(r1 === r2)
        #expect(r1.name == "lazy")
        #expect(await host.loadedRooms == ["lazy"])
        #expect(await host.isLoaded("lazy"))
        #expect(host.counters.value("ysync_rooms_loaded_total") == 1)
        #expect(FileManager.default.fileExists(atPath: dir.roomsDirectory + "/lazy.ysync"))
        let other = try await host.acquire("other")
        #expect(other !== r1)
        #expect(await host.loadedRooms == ["lazy", "other"])
        await host.shutdown()
    }

    /// A room whose rows were folded into a snapshot says so instead of "0 journal rows".
    @Test func theLoadLineNamesTheSnapshot() async throws {
        let dir = TempDir()
        let log = LogRecorder()
        let host = try makeHost(dir, log: log)
        try FileManager.default.createDirectory(atPath: dir.roomsDirectory, withIntermediateDirectories: true)
        let store = try JournaledDocument.open(path: dir.roomsDirectory + "/snap.ysync", create: true)
        _ = try store.edit { doc in try doc.getText("t").insert(at: 0, "kept in a snapshot") }
        _ = try store.journal.compact()
        _ = try store.edit { doc in try doc.getText("t").insert(at: 0, "> ") }
        store.close()
        let room = try await host.acquire("snap")
        #expect(await room.text("t") == "> kept in a snapshot")
        let line = log.lines(at: .info).first { $0.contains("room snap: loaded") }
        #expect(line?.hasPrefix("room snap: loaded from journal (a snapshot up to seq ") == true, "\(line ?? "no line")")
        #expect(line?.hasSuffix(" and 1 row after it)") == true, "\(line ?? "no line")")
        _ = try await host.acquire("fresh")
        #expect(log.lines(at: .info).contains("room fresh: loaded from empty"))
        await host.shutdown()
    }

    /// Reads of unknown rooms create nothing; a room only visited leaves no file when it unloads.
    @Test func unknownRoomsAreNotCreatedByReads() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        for i in 0..<300 { #expect(try await host.acquireExisting("ghost-\(i)") == nil) }
        #expect(await host.loadedRooms.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.roomsDirectory).isEmpty)
        #expect(await host.metrics().contains("ysync_rooms_stored 0"))

        // Visited (as a WebSocket reader would) but never written: loaded, then gone on unload.
        let visited = try await host.acquire("visited")
        await host.release(visited)
        let written = try await host.acquire("written")
        #expect(try await written.applyUpdate(makeTextUpdate("kept")))
        await host.release(written)
        #expect(await host.evictIdle(olderThan: 0) == 2)
        // (written.ysync.lock stays beside its store, as every store's lock file does.)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.roomsDirectory).filter { !$0.hasPrefix("written.") }.isEmpty)
        #expect(await host.metrics().contains("ysync_rooms_stored 1"))
        // A stored room is found by a read, with its content.
        let again = try #require(try await host.acquireExisting("written"))
        #expect(await again.text("t") == "kept")
        await host.release(again)
        await host.shutdown()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.roomsDirectory).filter { $0.hasSuffix(".ysync") } == ["written.ysync"])
    }

    @Test func evictionWaitsForEveryLeaseThenReloadsFromTheJournal() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("ev")
        _ = try await host.acquire("ev")
        let a = SimClient(room: room, clientID: 1)
        try await a.join()
        try await a.insert("persisted text")
        #expect(await room.text("t") == "persisted text")

        // Leased: not evicted.
        #expect(await host.evictIdle(olderThan: 0) == 0)
        await host.release(room)
        #expect(await host.evictIdle(olderThan: 0) == 0, "one lease is still held")
        await host.release(room)
        await host.release(room)  // extra releases are harmless
        // Idle, but not for long enough.
        #expect(await host.evictIdle(olderThan: 3_600) == 0)
        #expect(await host.evictIdle(olderThan: 0) == 1)
        #expect(await !host.isLoaded("ev"))
        #expect(a.connection.closeCodes == [.goingAway])
        #expect(host.counters.value("ysync_rooms_evicted_total") == 1)

        let again = try await host.acquire("ev")
        #expect(again !== room)
        #expect(await again.text("t") == "persisted text")
        #expect(host.counters.value("ysync_rooms_loaded_total") == 2)
        // The reloaded room keeps working: a new client syncs the old content.
        let b = SimClient(room: again, clientID: 2)
        try await b.join()
        #expect(b.text == "persisted text")
        await host.shutdown()
    }

    @Test func withRoomHoldsALeaseOnlyForTheBody() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let text = try await host.withRoom("scoped") { room in
            try await room.applyUpdate(makeTextUpdate("scoped"))
            #expect(await host.evictIdle(olderThan: 0) == 0)
            return await room.text("t")
        }
        #expect(text == "scoped")
        #expect(await host.evictIdle(olderThan: 0) == 1)
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await host.withRoom("scoped") { _ in throw Boom() }
        }
        #expect(await host.evictIdle(olderThan: 0) == 1, "the lease is released when the body throws")
        await host.shutdown()
    }

    @Test func shutdownPersistsAndARestartedHostHasEverything() async throws {
        let dir = TempDir()
        do {
            let host = try makeHost(dir)
            for name in ["r1", "r2", "r3"] {
                let room = try await host.acquire(name)
                try await room.applyUpdate(makeTextUpdate("content of \(name)"))
            }
            await host.shutdown()
            #expect(await host.loadedRooms.isEmpty)
            do {
                _ = try await host.acquire("r1")
                Issue.record("a shut-down host handed out a room")
            } catch {
                #expect(error == .shuttingDown)
            }
        }
        let host = try makeHost(dir)
        for name in ["r1", "r2", "r3"] {
            let room = try await host.acquire(name)
            #expect(await room.text("t") == "content of \(name)")
        }
        await host.shutdown()
    }

    @Test func atMaxRoomsTheLeastRecentlyUsedIdleRoomIsUnloadedPersistedFirst() async throws {
        let dir = TempDir()
        let host = try makeHost(dir) { $0.room.limits.maxRooms = 2 }
        try await host.withRoom("a") { room in _ = try await room.applyUpdate(makeTextUpdate("from a")) }
        try await host.withRoom("b") { _ in }
        try await host.withRoom("c") { _ in }  // a was released first: it goes
        #expect(await host.loadedRooms == ["b", "c"])
        #expect(host.counters.value("ysync_rooms_unloaded_total", labels: ["reason": "room_limit"]) == 1)
        let again = try await host.acquire("a")  // b goes; a comes back from its journal
        #expect(await again.text("t") == "from a")
        #expect(await host.loadedRooms == ["a", "c"])
        _ = try await host.acquire("c")
        do {
            _ = try await host.acquire("d")
            Issue.record("a third room was loaded while both were held")
        } catch {
            #expect(error == .tooManyRooms(2))
        }
        #expect(host.counters.value("ysync_rooms_refused_total", labels: ["reason": "room_limit"]) == 1)
        await host.shutdown()
    }

    @Test func maxRoomsRefusesNewRoomsUntilOneIsEvicted() async throws {
        let dir = TempDir()
        let host = try makeHost(dir) { $0.room.limits.maxRooms = 2 }
        let a = try await host.acquire("a")
        _ = try await host.acquire("b")
        do {
            _ = try await host.acquire("c")
            Issue.record("a third room was loaded")
        } catch {
            #expect(error == .tooManyRooms(2))
        }
        // Loaded rooms can still be acquired.
        #expect(try await host.acquire("a") === a)
        await host.release(a)
        await host.release(a)
        #expect(await host.evictIdle(olderThan: 0) == 1)
        _ = try await host.acquire("c")
        #expect(await host.loadedRooms == ["b", "c"])
        await host.shutdown()
    }

    @Test func badNamesAreRefused() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        do {
            _ = try await host.acquire("")
            Issue.record("empty name accepted")
        } catch {
            #expect(error == .badName(.empty))
        }
        let long = String(repeating: "n", count: RoomStorage.maxNameLength + 1)
        do {
            _ = try await host.acquire(long)
            Issue.record("long name accepted")
        } catch {
            #expect(error == .badName(.tooLong(RoomStorage.maxNameLength + 1)))
        }
        // Multi-byte characters count in bytes.
        let wide = String(repeating: "é", count: RoomStorage.maxNameLength / 2 + 1)
        do {
            _ = try await host.acquire(wide)
            Issue.record("long UTF-8 name accepted")
        } catch {
            guard case .badName(.tooLong) = error else {
                Issue.record("\(error)")
                return
            }
        }
        #expect(await host.loadedRooms.isEmpty)
        await host.shutdown()
    }

    /// Every name `validate` accepts must be storable, up to the longest ones: the file name
    /// (percent-encoded, plus ".ysync") and SQLite's side files ("-journal", "-wal") must fit
    /// in 255 bytes.
    @Test(arguments: [
        (String(repeating: "a", count: 241), true),
        (String(repeating: "a", count: 242), false),
        (String(repeating: "a", count: RoomStorage.maxNameLength), false),
        (String(repeating: "é", count: 40), true),  // 80 bytes, 240 encoded
        (String(repeating: "é", count: 41), false),
        (String(repeating: "/", count: 80), true),
        (String(repeating: "/", count: 81), false),
        ("x" + String(repeating: "日", count: 26), true),  // 79 bytes, 235 encoded
        ("x" + String(repeating: "日", count: 27), false),
    ])
    func theLongestValidNamesCanBeStored(_ name: String, _ valid: Bool) async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        do {
            try RoomStorage.validate(name)
            #expect(valid, "\(name.utf8.count) bytes accepted")
        } catch {
            #expect(!valid, "\(name.utf8.count) bytes refused")
            guard case .tooLong(name.utf8.count) = error else {
                Issue.record("\(error)")
                return
            }
            do {
                _ = try await host.acquire(name)
                Issue.record("acquire accepted a name validate refuses")
            } catch {
                #expect(error == .badName(.tooLong(name.utf8.count)))
            }
            await host.shutdown()
            return
        }
        #expect(RoomStorage.fileName(for: name).utf8.count + "-journal".utf8.count <= 255)
        let room = try await host.acquire(name)
        try await room.applyUpdate(makeTextUpdate("long"))
        await host.shutdown()
        let host2 = try makeHost(dir)
        #expect(try await host2.acquire(name).text("t") == "long")
        await host2.shutdown()
    }

    static let awkwardNames = [
        "a/b", "a%2Fb", "a%252Fb", "..", ".", "../escape", "./x", ".hidden", "a.b", "a..b", "-", "_", "%",
        "日本語", "é", "A", "a", "a b", "a\\b", "a:b", "a\u{0}b", "🙂", "CON", "x.ysync", "x%2Eysync",
    ]

    @Test func fileNamesAreSafeAndDistinct() {
        var seen: [String: String] = [:]
        for name in Self.awkwardNames {
            let file = RoomStorage.fileName(for: name)
            #expect(!file.contains("/") && !file.contains("\\") && !file.contains("\u{0}"), "\(name) -> \(file)")
            #expect(!file.hasPrefix("."), "\(name) -> \(file)")
            #expect(file.hasSuffix(".ysync"))
            #expect(file.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "\(name) -> \(file)")
            if let other = seen[file] { Issue.record("\(name) and \(other) share \(file)") }
            seen[file] = name
            let storage = RoomStorage(dataDirectory: "/data")
            #expect(storage.path(for: name) == "/data/rooms/" + file)
        }
        // Canonically equivalent names (equal as Swift strings) share a file.
        #expect(RoomStorage.fileName(for: "caf\u{E9}") == RoomStorage.fileName(for: "cafe\u{301}"))
        #expect(RoomStorage.fileName(for: "\u{212B}") == RoomStorage.fileName(for: "\u{C5}"))
        #expect(RoomStorage.fileName(for: "\u{C5}") != RoomStorage.fileName(for: "A"))
    }

    @Test func awkwardNamesAreSeparateRoomsInsideTheRoomsDirectory() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        for name in Self.awkwardNames {
            let room = try await host.acquire(name)
            try await room.applyUpdate(makeTextUpdate("room \(name)", clientID: 1000 + ClientID(room.name.utf8.count)))
        }
        await host.shutdown()
        // Nothing was written outside <data>/rooms.
        let top = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(top == ["rooms"])
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.roomsDirectory).filter { $0.hasSuffix(".ysync") }
        #expect(files.count == Self.awkwardNames.count)

        let host2 = try makeHost(dir)
        for name in Self.awkwardNames {
            let room = try await host2.acquire(name)
            #expect(await room.text("t") == "room \(name)", "\(name)")
        }
        await host2.shutdown()
    }

    /// Swift compares strings by canonical equivalence, so the host's room table treats "é"
    /// (U+00E9) and "e\u{301}" as one room; their journal must be one file too, or which
    /// content a name shows would depend on what happened to be loaded.
    @Test func canonicallyEquivalentNamesAreOneRoomLoadedOrNot() async throws {
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire(composed)
        try await room.applyUpdate(makeTextUpdate("menu"))
        let same = try await host.acquire(decomposed)
        #expect(same === room)
        await host.release(room)
        await host.release(same)
        #expect(await host.evictIdle(olderThan: 0) == 1)
        let reloaded = try await host.acquire(decomposed)
        #expect(await reloaded.text("t") == "menu")
        await host.shutdown()
    }

    @Test func metricsReportRoomsConnectionsAndCounters() async throws {
        let dir = TempDir()
        let host = try makeHost(dir)
        let room = try await host.acquire("m")
        let a = SimClient(room: room, clientID: 1), b = SimClient(room: room, clientID: 2), bad = SimClient(room: room, clientID: 3)
        try await a.join()
        try await b.join()
        try await bad.join()
        try await a.insert("metrics")
        try await settle([a, b])
        await bad.send([0xFF])
        _ = try await host.acquire("empty-room")

        let text = await host.metrics()
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains("ysync_rooms 2"), "\(text)")
        #expect(lines.contains("ysync_connections 2"), "\(text)")
        #expect(lines.contains("# TYPE ysync_rooms gauge"))
        #expect(lines.contains("ysync_connections_total 3"))
        #expect(lines.contains("ysync_updates_applied_total 1"))
        #expect(lines.contains(#"ysync_connections_closed_total{code="1007"} 1"#))
        #expect(lines.contains(#"ysync_messages_received_total{kind="invalid"} 1"#))
        #expect(lines.contains(#"ysync_messages_received_total{kind="update"} 1"#))
        #expect(lines.contains("ysync_rooms_loaded_total 2"))
        #expect(lines.contains("# TYPE ysync_updates_applied_total counter"))
        #expect(text.contains("ysync_journal_rows "))
        #expect(text.contains("ysync_journal_bytes "))
        #expect(text.contains("ysync_compaction_lag_rows "))
        #expect(text.contains("ysync_bytes_received_total "))
        #expect(text.contains("ysync_messages_sent_total "))
        #expect(!lines.contains("ysync_journal_rows 0"), "the applied update is a journal row")

        await host.shutdown()
        let after = await host.metrics()
        #expect(after.contains("ysync_rooms 0"))
        #expect(after.contains("ysync_connections 0"))
    }
}
