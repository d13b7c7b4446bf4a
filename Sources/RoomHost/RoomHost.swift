import CRDT
import Foundation
import Journal

/// Why a room could not be handed out.
public enum RoomHostError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The room name is empty or too long.
    case badName(RoomStorage.NameError)
    /// `RoomLimits.maxRooms` rooms are loaded already (the count).
    case tooManyRooms(Int)
    /// The room's journal could not be opened (room "*": the data directory could not be created).
    case load(room: String, reason: String)
    /// The host is shutting down and hands out no more rooms.
    case shuttingDown

    /// One line for a person.
    public var description: String {
        switch self {
        case let .badName(e): "bad room name: \(e)"
        case let .tooManyRooms(n): "\(n) rooms are loaded and every one is in use (the server's room limit, derived from its descriptor limit): try again later"
        case let .load(room, reason): "could not load room \(room): \(reason)"
        case .shuttingDown: "the server is shutting down"
        }
    }
}

/// Configuration of a `RoomHost`: where rooms are stored, how each room behaves, eviction and logging.
public struct RoomHostConfig: Sendable {
    /// The server's data directory; room journals go to its `rooms/` subdirectory.
    public var dataDirectory: String
    /// Settings every room is created with.
    public var room = RoomConfig()
    /// A room nobody used for this long is persisted and unloaded.
    public var idleTimeout: Double = 60
    /// Where the host and its rooms log (discarded by default).
    public var log: RoomLogger = { _, _ in }
    /// Called on the loading thread before a room's journal opens (tests block it there to
    /// show that a slow load stalls no other room).
    var willLoad: (@Sendable (String) -> Void)?

    /// Defaults for everything but the data directory.
    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }
}

/// The rooms of a server: loaded lazily (journal, else content store, else empty), leased
/// while a connection or a request uses them, evicted after `idleTimeout` without a lease.
public actor RoomHost {
    /// The configuration the host was made with.
    public let config: RoomHostConfig
    /// Counters of every room of this host (thread-safe; read by `metrics()`).
    public nonisolated let counters = ServerCounters()
    /// Bytes of unfinished y-partykit chunked messages on every room (`RoomLimits.maxChunkedBytesTotal`).
    public nonisolated let chunkBudget: ChunkBudget
    private let storage: RoomStorage
    private var rooms: [String: Room] = [:]
    /// Leases by room object: a lease taken on a room that is being unloaded must not count
    /// for the room loaded after it under the same name.
    private var leases: [ObjectIdentifier: Int] = [:]
    private var idleSince: [String: ContinuousClock.Instant] = [:]
    private var sweeper: Task<Void, Never>?
    /// Rooms being loaded (off this actor): whoever asks for one meanwhile waits for the same load.
    private var loading: [String: Task<Result<Room, RoomHostError>, Never>] = [:]
    private var isShuttingDown = false
    /// Rooms whose journal file this host created when it loaded them (by key): if nothing was
    /// ever written when they unload, the file goes again (a read-only visit leaves no trace).
    private var createdByLoad: Set<String> = []
    private let log: RoomLogger

    /// A host with no room loaded; creates `<dataDirectory>/rooms` (throws `.load` when it cannot).
    public init(config: RoomHostConfig) throws(RoomHostError) {
        self.config = config
        self.log = config.log
        chunkBudget = ChunkBudget(limit: config.room.limits.maxChunkedBytesTotal)
        storage = RoomStorage(dataDirectory: config.dataDirectory)
        do { try storage.createDirectory() } catch {
            throw .load(room: "*", reason: "cannot create \(storage.directory): \(error.localizedDescription)")
        }
    }

    /// The room named `name` (by id, or by slug through the content store), loaded if needed
    /// (created if it does not exist); the caller holds a lease until `release`.
    public func acquire(_ name: String) async throws(RoomHostError) -> Room {
        // Non-nil: with `create` a missing room is made.
        try await lease(name, create: true)!
    }

    /// Like `acquire`, but only a room that exists (loaded, in a journal file, or a row of the
    /// content store): nil otherwise, and nothing is created. For reads, so that a request for
    /// an unknown name leaves no file behind.
    public func acquireExisting(_ name: String) async throws(RoomHostError) -> Room? {
        try await lease(name, create: false)
    }

    private func lease(_ name: String, create: Bool) async throws(RoomHostError) -> Room? {
        guard !isShuttingDown else { throw .shuttingDown }
        do { try RoomStorage.validate(name) } catch { throw .badName(error) }
        var record: ContentRecord?
        if let content = config.room.contentStore {
            do { record = try content.lookup(name) } catch {
                counters.add("ysync_errors_total", labels: ["kind": "content_store"])
                log(.error, "content store lookup of \(name) failed: \(error); loading without it")
            }
        }
        let key = record?.id ?? name
        let room: Room
        if let loaded = rooms[key] {
            room = loaded
        } else {
            let load: Task<Result<Room, RoomHostError>, Never>
            if let pending = loading[key] {
                load = pending
            } else {
                guard create || record != nil || storage.exists(key) else { return nil }
                if rooms.count + loading.count >= config.room.limits.maxRooms {
                    // At the limit: the least recently used room nobody holds goes (persisted
                    // first), then everything is looked at again (the unload suspended this call).
                    try await unloadLeastRecentlyUsed()
                    return try await lease(name, create: create)
                }
                if !storage.exists(key) { createdByLoad.insert(key) }
                // Off this actor and off the cooperative pool: a big room takes seconds to load,
                // and every other room's requests pass through here meanwhile.
                load = Task { [self, record] in
                    let result = await BlockingWork.run("ysync load \(key)") { Result { () throws(RoomHostError) in try self.load(key, record: record) } }
                    finishLoad(key, result)
                    return result
                }
                loading[key] = load
            }
            room = try await load.value.get()
            // Loaded while shutdown began: `shutdown` closes it (it waits for every load).
            guard !isShuttingDown else { throw .shuttingDown }
        }
        leases[ObjectIdentifier(room), default: 0] += 1
        idleSince[key] = nil
        return room
    }

    /// Gives back a lease taken by `acquire`. When the last lease goes the room's idle time starts; extra releases are ignored.
    public func release(_ room: Room) {
        let lease = ObjectIdentifier(room)
        guard let n = leases[lease] else { return }
        if n <= 1 {
            leases[lease] = nil
            if rooms[room.name] === room { idleSince[room.name] = .now }
        } else {
            leases[lease] = n - 1
        }
    }

    /// Runs `body` with the leased room if it exists (see `acquireExisting`), else with nil.
    public nonisolated func withExistingRoom<R: Sendable>(_ name: String, _ body: (Room?) async throws -> R) async throws -> R {
        guard let room = try await acquireExisting(name) else { return try await body(nil) }
        do {
            let r = try await body(room)
            await release(room)
            return r
        } catch {
            await release(room)
            throw error
        }
    }

    /// Runs `body` with a leased room.
    public nonisolated func withRoom<R: Sendable>(_ name: String, _ body: (Room) async throws -> R) async throws -> R {
        let room = try await acquire(name)
        do {
            let r = try await body(room)
            await release(room)
            return r
        } catch {
            await release(room)
            throw error
        }
    }

    /// Puts a finished load's room in the table (before anyone waiting for it resumes).
    private func finishLoad(_ key: String, _ result: Result<Room, RoomHostError>) {
        loading[key] = nil
        switch result {
        case let .success(room):
            rooms[key] = room
            counters.add("ysync_rooms_loaded_total")
        case .failure:
            createdByLoad.remove(key)
        }
    }

    /// Opens the room's journal (and its content-store document): blocking, run off the actor.
    private nonisolated func load(_ key: String, record: ContentRecord?) throws(RoomHostError) -> Room {
        config.willLoad?(key)
        let path = storage.path(for: key)
        let existed = storage.exists(key)
        let store: JournaledDocument
        do {
            store = try JournaledDocument.open(path: path, create: true, options: config.room.journal)
        } catch {
            counters.add("ysync_errors_total", labels: ["kind": "load"])
            throw .load(room: key, reason: "\(error)")
        }
        if !store.loadReport.isComplete {
            counters.add("ysync_errors_total", labels: ["kind": "journal_quarantine"])
            log(.error, "room \(key): journal had damaged entries, skipped: \(store.loadReport.quarantined.map(\.description).joined(separator: "; "))")
        }
        var source = existed ? "journal" : "empty"
        if !existed, config.room.contentStore != nil {
            let chain = ContentStore.initialContent(for: record)
            if let warning = chain.warning {
                counters.add("ysync_errors_total", labels: ["kind": "content_store"])
                log(.error, "room \(key): \(warning)")
            }
            do {
                switch chain.content {
                case let .update(bytes):
                    _ = try store.apply(bytes, origin: "content-store")
                    source = "content store yDoc"
                case let .text(body):
                    let name = config.room.bodyText
                    _ = try store.edit(origin: "content-store") { doc in try doc.getText(name).insert(at: 0, body) }
                    source = "content store body"
                case .empty:
                    break
                }
            } catch {
                counters.add("ysync_errors_total", labels: ["kind": "content_store"])
                log(.error, "room \(key): could not load the content store's document: \(error); starting empty")
            }
        }
        log(.info, "room \(key): loaded from \(source)\(existed ? " (\(Self.describe(store.loadReport)))" : "")")
        // Write back only to rows that exist: the content store is the app's, rooms without a
        // row live in their journal only.
        return Room(name: key, store: store, contentID: record?.id, config: config.room, counters: counters,
                    chunkBudget: chunkBudget, log: log)
    }

    /// What a load read: "a snapshot up to seq 120 and 3 rows after it", or "5 rows" when there
    /// is no snapshot (compaction folds rows into one, so a room with content may have no rows).
    static func describe(_ report: LoadReport) -> String {
        let rows = report.rowsApplied == 1 ? "1 row" : "\(report.rowsApplied) rows"
        guard let seq = report.snapshotSeq else { return rows }
        return "a snapshot up to seq \(seq) and \(rows) after it"
    }

    // MARK: - Eviction and shutdown

    /// Persists and unloads the room without a lease that was released longest ago, to make
    /// room for a load at `RoomLimits.maxRooms`; throws `.tooManyRooms` when every room is held.
    private func unloadLeastRecentlyUsed() async throws(RoomHostError) {
        let held = rooms.count + loading.count
        guard let key = idleSince.min(by: { $0.value < $1.value })?.key, let room = rooms[key],
              leases[ObjectIdentifier(room)] == nil else {
            counters.add("ysync_rooms_refused_total", labels: ["reason": "room_limit"])
            log(.warning, "refused to load a room: \(held) rooms are loaded, every one in use (room limit \(config.room.limits.maxRooms))")
            throw .tooManyRooms(held)
        }
        await unload(key, room)
        counters.add("ysync_rooms_unloaded_total", labels: ["reason": "room_limit"])
        log(.debug, "room \(key): unloaded, the least recently used, to load another (room limit \(config.room.limits.maxRooms))")
    }

    /// Persists and closes `room` (idle, no lease) and takes it out of the table.
    private func unload(_ key: String, _ room: Room) async {
        idleSince[key] = nil
        // Closed while still in the table, so that nobody loads a second Room on the same
        // journal meanwhile; whoever leases it now finds it closed and is told to come back.
        let neverWritten = await Self.neverWritten(room)
        await room.close(.goingAway, reason: "room unloaded")
        if rooms[key] === room {
            rooms[key] = nil
            removeIfUnused(key, neverWritten: neverWritten)
        }
    }

    /// Persists and unloads every room without a lease idle for `idleTimeout` (or `olderThan`).
    @discardableResult
    public func evictIdle(olderThan: Double? = nil) async -> Int {
        let limit = Duration.milliseconds(Int((olderThan ?? config.idleTimeout) * 1000))
        let due = idleSince.filter { ContinuousClock.now - $0.value >= limit }.keys.sorted()
        var n = 0
        for key in due {
            guard let room = rooms[key], leases[ObjectIdentifier(room)] == nil else { continue }
            await unload(key, room)
            counters.add("ysync_rooms_evicted_total")
            log(.debug, "room \(key): unloaded after being idle")
            n += 1
        }
        return n
    }

    /// Checks for idle rooms every `every` seconds until shutdown.
    public func startEviction(every: Double = 5) {
        guard sweeper == nil else { return }
        sweeper = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(every * 1000)))
                guard let self, !Task.isCancelled else { return }
                await self.evictIdle()
            }
        }
    }

    /// Stops taking rooms, then persists and closes every room (closing its connections).
    public func shutdown() async {
        isShuttingDown = true
        sweeper?.cancel()
        sweeper = nil
        // A load under way ends in the table (finishLoad) and is closed below with the rest.
        for load in Array(loading.values) { _ = await load.value }
        for key in rooms.keys.sorted() {
            guard let room = rooms[key] else { continue }
            let neverWritten = await Self.neverWritten(room)
            await room.close(.goingAway, reason: "server shutting down")
            removeIfUnused(key, neverWritten: neverWritten)
        }
        rooms.removeAll()
        leases.removeAll()
        idleSince.removeAll()
    }

    /// Whether nothing was ever stored in `room`: no journal row and an empty document.
    private static func neverWritten(_ room: Room) async -> Bool {
        guard let figures = await room.journalFigures(), figures.rows == 0 else { return false }
        return await room.stateVector.isEmpty
    }

    /// Deletes the journal files of a closed room this host created, if it was never written.
    private func removeIfUnused(_ key: String, neverWritten: Bool) {
        guard createdByLoad.remove(key) != nil, neverWritten else { return }
        storage.remove(key)
        log(.debug, "room \(key): nothing was written; its journal file is gone")
    }

    /// Persists every loaded room (journal flush + compaction when due + content store).
    public func persistAll() async {
        for key in rooms.keys.sorted() { await rooms[key]?.persist() }
    }

    /// Keys (ids) of the rooms loaded now, sorted.
    public var loadedRooms: [String] { rooms.keys.sorted() }
    /// Whether the room with this key (id) is loaded.
    public func isLoaded(_ key: String) -> Bool { rooms[key] != nil }

    // MARK: - Metrics

    /// Prometheus text: counters, plus gauges read from the loaded rooms.
    public func metrics() async -> String {
        var connections = 0, journalRows = 0, journalBytes = 0, lag = 0
        for room in rooms.values {
            connections += await room.connectionCount
            if let j = await room.journalFigures() {
                journalRows += j.rows
                journalBytes += j.bytes
                lag = max(lag, j.rowsSinceSnapshot)
            }
        }
        var families: [MetricFamily] = [
            MetricFamily(name: "ysync_rooms", help: "Rooms loaded.", type: .gauge, value: Double(rooms.count)),
            MetricFamily(name: "ysync_rooms_stored", help: "Rooms with a journal file in the data directory.", type: .gauge, value: Double(storage.storedCount())),
            MetricFamily(name: "ysync_connections", help: "Open WebSocket connections.", type: .gauge, value: Double(connections)),
            MetricFamily(name: "ysync_journal_rows", help: "Journal rows of the loaded rooms.", type: .gauge, value: Double(journalRows)),
            MetricFamily(name: "ysync_journal_bytes", help: "Stored journal bytes of the loaded rooms.", type: .gauge, value: Double(journalBytes)),
            MetricFamily(name: "ysync_compaction_lag_rows", help: "Most journal rows since the last snapshot in any loaded room.", type: .gauge, value: Double(lag)),
        ]
        let help: [String: String] = [
            "ysync_connections_total": "Connections accepted.",
            "ysync_connections_refused_total": "Connections refused (auth, limits).",
            "ysync_connections_closed_total": "Connections closed by the server for a reason, by close code.",
            "ysync_messages_received_total": "Messages received, by kind.",
            "ysync_messages_sent_total": "Messages sent.",
            "ysync_bytes_received_total": "Bytes received in messages.",
            "ysync_bytes_sent_total": "Bytes sent in messages.",
            "ysync_updates_applied_total": "Updates that changed a document (each journaled).",
            "ysync_updates_unchanged_total": "Updates that changed nothing (already known).",
            "ysync_updates_refused_total": "Updates refused, by reason.",
            "ysync_acks_sent_total": "Durable acknowledgements sent.",
            "ysync_autosaves_total": "Writes to the content store.",
            "ysync_rooms_loaded_total": "Room loads.",
            "ysync_rooms_evicted_total": "Rooms unloaded after being idle.",
            "ysync_errors_total": "Errors, by kind.",
            "ysync_http_requests_total": "HTTP requests, by route and status.",
        ]
        let snapshot = counters.snapshot()
        let byName = Dictionary(grouping: snapshot.keys, by: \.name)
        for name in byName.keys.sorted() {
            let samples = byName[name]!.sorted().map { key in
                MetricSample(labels: key.sortedLabels, value: snapshot[key]!)
            }
            families.append(MetricFamily(name: name, help: help[name] ?? name, type: .counter, samples: samples))
        }
        return ServerMetrics.render(families)
    }
}
