import ArgumentParser
import CLISupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(ReplicaServer)
import CRDT
import Journal
import RoomHost

/// `ysync-bench server-load-stall`: does one room's cold load slow the traffic of another?
struct LoadStallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server-load-stall",
        abstract: "Round trips of one room of 'ycli serve' while other, big rooms load cold, against the same room without loads.",
        discussion: """
        Before the server starts, --loads copies of a big room are written straight into its data directory (--rows journal rows of --row-bytes of text inserted at random places, seed 7). Two clients join room 'small'; one sends an insert every 1/--rate s, the other records its arrival (latency = arrival - send, same clock), and after each insert a GET of the room's text is timed (an HTTP request passes the room host on every call). Quiet phase: --quiet updates with no load. Loaded phase: the big rooms are loaded one after the other by GET .../text?name=none (a load, with no big answer to render) while the inserts go on; only updates sent while a load was under way count. Prints p50/p99/max of both phases, their ratio, and each load's time.
        """
    )

    @Option(help: "Journal rows of each big room.") var rows: Int = 2_000
    @Option(name: .customLong("row-bytes"), help: "Bytes of text per row.") var rowBytes: Int = 10_000
    @Option(help: "Big rooms loaded, one after the other.") var loads: Int = 3
    @Option(help: "Updates in the quiet phase.") var quiet: Int = 200
    @Option(help: "Updates per second in both phases.") var rate: Double = 100
    @Option(help: "Durability of our journal: full or normal.") var durability: String = "full"
    @Option(help: "Give up a phase after this many seconds.") var timeout: Double = 120
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        guard rows > 0, rowBytes > 0, loads > 0, quiet > 0, rate > 0 else { throw ValidationError("counts and rates must be positive") }
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("ysync-stall-\(UUID().uuidString)").path
        let bytes = try prepare(data: data)
        let server = try BenchServerProcess.ysync(data: data, durability: durability)
        defer { server.stop() }
        let base = "ws://127.0.0.1:\(server.port)/parties/main/small"
        let sender = try await ServerBenchClient.connect(url: base, id: 11)
        let receiver = try await ServerBenchClient.connect(url: base, id: 12)
        try await waitUntil("both clients synced") {
            let a = await sender.isSynced, b = await receiver.isSynced
            return a && b
        }
        for i in 0..<10 { _ = try await sender.insert("w\(i)") }

        let interval = Duration.nanoseconds(Int64(1e9 / rate))
        let port = server.port
        var quietSent: [(ServerBenchClient.UpdateKey, ContinuousClock.Instant)] = []
        var quietHTTP: [Double] = [], loadedHTTP: [Double] = []
        var next = ContinuousClock.now
        for u in 0..<quiet {
            quietSent.append((try await sender.insert("q\(u)"), .now))
            quietHTTP.append(try await Self.timedGet(port: port, "/parties/main/small/text?name=t"))
            next += interval
            try await Task.sleep(until: next, clock: .continuous)
        }

        // Loads one after the other in the background; inserts go on meanwhile.
        let loading = LoadTimes()
        let loads = loads
        let loader = Task {
            for k in 0..<loads {
                let start = ContinuousClock.now
                await loading.begin()
                let url = URL(string: "http://127.0.0.1:\(port)/parties/main/big-\(k)/text?name=t")!
                let (_, response) = try await URLSession.shared.data(from: url)
                guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw CLIError("GET big-\(k) failed: \(response)") }
                await loading.end(ms: Self.ms(ContinuousClock.now - start))
            }
        }
        // GETs in a task of their own, one after the other: a GET held up by a load shows its whole wait.
        let getter = Task {
            var timed: [(start: ContinuousClock.Instant, ms: Double)] = []
            while await loading.finished < loads, ContinuousClock.now < .now + .seconds(timeout) {
                let start = ContinuousClock.now
                timed.append((start, try await Self.timedGet(port: port, "/parties/main/small/text?name=t")))
                try await Task.sleep(for: interval)
            }
            return timed
        }
        var loadedSent: [(ServerBenchClient.UpdateKey, ContinuousClock.Instant)] = []
        let deadline = ContinuousClock.now + .seconds(timeout)
        next = ContinuousClock.now
        var u = 0
        while await loading.finished < loads, ContinuousClock.now < deadline {
            let during = await loading.inFlight
            let key = try await sender.insert("l\(u)")
            if during { loadedSent.append((key, .now)) }
            u += 1
            next += interval
            try await Task.sleep(until: next, clock: .continuous)
        }
        try await loader.value
        let intervals = await loading.intervals
        for (start, ms) in try await getter.value where intervals.contains(where: { $0.0 <= start && start <= $0.1 }) {
            loadedHTTP.append(ms)
        }
        let quietMs = try await latencies(quietSent, receiver)
        let loadedMs = try await latencies(loadedSent, receiver)
        await sender.close()
        await receiver.close()
        report(quiet: quietMs, loaded: loadedMs, quietHTTP: quietHTTP.sorted(), loadedHTTP: loadedHTTP.sorted(),
               loadMs: await loading.times, journalBytes: bytes)
    }

    /// Writes the big rooms' journals; returns the size of one (database and WAL).
    private func prepare(data: String) throws -> Int {
        let storage = RoomStorage(dataDirectory: data)
        try storage.createDirectory()
        let first = storage.path(for: "big-0")
        let store = try JournaledDocument.open(path: first, create: true)
        var rng = SplitMix(seed: 7)
        let letters = Array("abcdefghijklmnopqrstuvwxyz ")
        for _ in 0..<rows {
            // Random letters: LZ4 cannot shrink them much, so the journal is as big as the text.
            let chunk = String((0..<rowBytes).map { _ in letters[Int(rng.next() % UInt64(letters.count))] })
            _ = try store.edit { doc in
                let t = doc.getText("t")
                try t.insert(at: Int(rng.next() % UInt64(t.length + 1)), chunk)
            }
        }
        store.close()
        for k in 1..<loads {
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: first + suffix) {
                try FileManager.default.copyItem(atPath: first + suffix, toPath: storage.path(for: "big-\(k)") + suffix)
            }
        }
        // On disk before the server starts: dirty pages of the copies would otherwise be written
        // back by the first fsync of any room (ext4 commits them together) and blame the loads.
        sync()
        return ["", "-wal"].reduce(0) { sum, suffix in
            sum + ((try? FileManager.default.attributesOfItem(atPath: first + suffix)[.size] as? Int) ?? 0)
        }
    }

    private func latencies(_ sent: [(ServerBenchClient.UpdateKey, ContinuousClock.Instant)],
                           _ receiver: ServerBenchClient) async throws -> [Double] {
        try await waitUntil("every update at the receiver") {
            for (key, _) in sent where await receiver.arrival(of: key) == nil { return false }
            return true
        }
        var out: [Double] = []
        for (key, at) in sent { if let arrived = await receiver.arrival(of: key) { out.append(Self.ms(arrived - at)) } }
        return out.sorted()
    }

    /// One HTTP GET on the server; its time in milliseconds.
    private static func timedGet(port: Int, _ path: String) async throws -> Double {
        let start = ContinuousClock.now
        let (_, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw CLIError("GET \(path) failed: \(response)") }
        return ms(ContinuousClock.now - start)
    }

    private func report(quiet: [Double], loaded: [Double], quietHTTP: [Double], loadedHTTP: [Double],
                        loadMs: [Double], journalBytes: Int) {
        func pct(_ v: [Double], _ p: Double) -> Double { v.isEmpty ? .nan : v[min(v.count - 1, Int(Double(v.count) * p))] }
        let figures: [String: Any] = [
            "benchmark": "server-load-stall", "durability": durability, "journalBytes": journalBytes, "rows": rows,
            "loadMs": loadMs, "quietCount": quiet.count, "loadedCount": loaded.count,
            "quietP50Ms": pct(quiet, 0.5), "quietP99Ms": pct(quiet, 0.99), "quietMaxMs": quiet.last ?? .nan,
            "loadedP50Ms": pct(loaded, 0.5), "loadedP99Ms": pct(loaded, 0.99), "loadedMaxMs": loaded.last ?? .nan,
            "quietHTTPP50Ms": pct(quietHTTP, 0.5), "quietHTTPP99Ms": pct(quietHTTP, 0.99),
            "loadedHTTPP50Ms": pct(loadedHTTP, 0.5), "loadedHTTPP99Ms": pct(loadedHTTP, 0.99), "loadedHTTPMaxMs": loadedHTTP.last ?? .nan,
        ]
        if json, let data = try? JSONSerialization.data(withJSONObject: figures, options: [.prettyPrinted, .sortedKeys]) {
            Console.out(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        let f = { (x: Double) in formatFixed(x, 2) }
        Console.out("""
        big rooms    \(loadMs.count) × \(journalBytes) bytes (\(rows) rows); loads took \(loadMs.map { formatFixed($0, 0) }.joined(separator: ", ")) ms
        room small   quiet: \(quiet.count) updates, p50 \(f(pct(quiet, 0.5))) ms, p99 \(f(pct(quiet, 0.99))) ms, max \(f(quiet.last ?? .nan)) ms
                     during loads: \(loaded.count) updates, p50 \(f(pct(loaded, 0.5))) ms, p99 \(f(pct(loaded, 0.99))) ms, max \(f(loaded.last ?? .nan)) ms
        HTTP GET     quiet: p50 \(f(pct(quietHTTP, 0.5))) ms, p99 \(f(pct(quietHTTP, 0.99))) ms; during loads: p50 \(f(pct(loadedHTTP, 0.5))) ms, p99 \(f(pct(loadedHTTP, 0.99))) ms, max \(f(loadedHTTP.last ?? .nan)) ms
        p99 ratio    WebSocket \(f(pct(loaded, 0.99) / pct(quiet, 0.99)))x, HTTP \(f(pct(loadedHTTP, 0.99) / pct(quietHTTP, 0.99)))x (during loads / quiet)

        """)
    }

    private static func ms(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    private func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw CLIError("no \(what) within \(Int(timeout)) s")
    }
}

/// Which loads are under way, and how long each took.
private actor LoadTimes {
    private(set) var inFlight = false
    private(set) var times: [Double] = []
    /// Start and end of every load.
    private(set) var intervals: [(ContinuousClock.Instant, ContinuousClock.Instant)] = []
    private var started = ContinuousClock.now
    var finished: Int { times.count }
    func begin() { inFlight = true; started = .now }
    func end(ms: Double) {
        inFlight = false
        times.append(ms)
        intervals.append((started, .now))
    }
}
#endif
