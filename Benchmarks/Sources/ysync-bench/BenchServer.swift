import CLISupport
import ArgumentParser
import Foundation

#if canImport(ReplicaServer)
import CRDT

let serverBenchCommands: [any ParsableCommand.Type] = [ServerBenchCommand.self, ConvergeServerCommand.self, LoadStallCommand.self]

/// A server under test, started as its own process on 127.0.0.1.
final class BenchServerProcess {
    let name: String
    let process = Process()
    let port: Int
    private let dataDirectory: String?

    init(name: String, executable: String, arguments: [String], dataDirectory: String?) throws {
        self.name = name
        self.dataDirectory = dataDirectory
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The first stdout line is a JSON object with the port (both servers print one).
        var line: [UInt8] = []
        let handle = out.fileHandleForReading
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            line += chunk
            if line.contains(0x0A) { break }
        }
        guard let nl = line.firstIndex(of: 0x0A),
              let object = try? JSONSerialization.jsonObject(with: Data(line[..<nl])) as? [String: Any],
              let port = object["port"] as? Int else {
            process.terminate()
            throw CLIError("\(name) did not report its port: \(String(decoding: line, as: UTF8.self))")
        }
        self.port = port
    }

    /// Resident memory of the server process (Linux /proc), in bytes.
    var rss: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning, Date() < deadline { usleep(20_000) }
            // pycrdt-websocket's server does not always stop on SIGTERM: never leave it behind.
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        if let dataDirectory { try? FileManager.default.removeItem(atPath: dataDirectory) }
    }
}

struct ServerBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Fan-out latency, sustained updates/s and memory of 'ycli serve' and of pycrdt-websocket's server, same load, same run.",
        discussion: """
        Each server runs as its own process on 127.0.0.1 (ours: this ycli's 'serve' with a fresh data directory; pycrdt-websocket 0.16.5: Tests/ReplicaServerTests/peers/pyws_server.py with the repository's .venv). The load comes from this process: y-websocket clients on our WebSocket transport, each with a YDoc and a SyncSession, answering the server like a Yjs provider.

        For each client count N: N clients join one room; --updates small text inserts are sent at --rate per second by the clients in turn; every other client records when each update arrived (latency = arrival - send, same clock). Then --senders clients send --burst updates each as fast as they can, and the time until every client has all of them gives updates/s sustained. Memory: the server's RSS growth for N connections (per connection) and for --memory-rooms rooms with one client and one edit each (per room).
        """
    )

    @Option(help: "Client counts, comma-separated.") var clients: String = "10,100"
    @Option(help: "Updates in the latency phase.") var updates: Int = 200
    @Option(help: "Updates per second in the latency phase.") var rate: Double = 50
    @Option(help: "Senders in the throughput phase.") var senders: Int = 10
    @Option(help: "Updates per sender in the throughput phase.") var burst: Int = 100
    @Option(name: .customLong("memory-rooms"), help: "Rooms created to measure memory per room.") var memoryRooms: Int = 50
    @Option(help: "Servers to measure, comma-separated: ysync, pycrdt-websocket.") var servers: String = "ysync,pycrdt-websocket"
    @Option(help: "Durability of our journal: full or normal.") var durability: String = "full"
    @Option(help: "Python with pycrdt-websocket (default .venv/bin/python).") var python: String = ".venv/bin/python"
    @Option(name: .customLong("pyws-server"), help: "pycrdt-websocket server script.")
    var pywsServer: String = "Tests/ReplicaServerTests/peers/pyws_server.py"
    @Option(help: "Give up a phase after this many seconds.") var timeout: Double = 60
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        let counts = clients.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 >= 2 && $0 <= 2000 }) else { throw ValidationError("--clients: counts between 2 and 2000") }
        guard updates > 0, rate > 0, senders > 0, burst > 0, memoryRooms >= 0 else { throw ValidationError("counts and rates must be positive") }
        var results: [[String: Any]] = []
        for server in servers.split(separator: ",").map({ String($0) }) {
            for n in counts {
                Console.err("bench server: \(server), \(n) clients…\n")
                do {
                    results.append(try await measure(server: server, clients: n))
                } catch {
                    Console.err("bench server: \(server) with \(n) clients failed: \(error)\n")
                    results.append(["server": server, "clients": n, "error": "\(error)"])
                }
            }
        }
        if json {
            let doc: [String: Any] = ["benchmark": "server", "updates": updates, "rate": rate, "senders": senders, "burst": burst,
                                      "durability": durability, "results": results]
            let data = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
            Console.out(String(decoding: data, as: UTF8.self) + "\n")
        } else {
            Console.out(Self.table(results))
        }
        // A failed measurement is a failed run, whatever the table shows.
        let failed = results.filter { $0["error"] != nil }.count
        if failed > 0 {
            Console.err("bench server: \(failed) of \(results.count) measurements failed\n")
            throw ExitCode(1)
        }
    }

    private func start(_ server: String) throws -> BenchServerProcess {
        switch server {
        case "ysync":
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("ysync-bench-\(UUID().uuidString)").path
            return try .ysync(data: data, durability: durability)
        case "pycrdt-websocket":
            guard FileManager.default.isExecutableFile(atPath: python) else { throw CLIError("no Python at \(python) (scripts/setup.sh makes .venv)") }
            return try BenchServerProcess(name: server, executable: python, arguments: [pywsServer, "--host", "127.0.0.1", "--port", "0", "--no-stdin"],
                                     dataDirectory: nil)
        default:
            throw ValidationError("unknown server \(server) (ysync, pycrdt-websocket)")
        }
    }

    private func measure(server name: String, clients n: Int) async throws -> [String: Any] {
        let server = try start(name)
        defer { server.stop() }
        let base = "ws://127.0.0.1:\(server.port)/parties/main"
        var result: [String: Any] = ["server": name, "clients": n]
        try await Task.sleep(for: .milliseconds(300))
        let rss0 = server.rss

        // Memory per room: one client and one edit in each of memoryRooms rooms.
        if memoryRooms > 0 {
            var roomClients: [ServerBenchClient] = []
            for r in 0..<memoryRooms {
                let c = try await ServerBenchClient.connect(url: "\(base)/mem-\(n)-\(r)", id: ClientID(900_000 + r))
                roomClients.append(c)
            }
            try await waitUntil("memory rooms synced") { await Self.allSynced(roomClients) }
            for c in roomClients { _ = try await c.insert("room content") }
            try await Task.sleep(for: .milliseconds(500))
            let rss1 = server.rss
            result["memoryPerRoomBytes"] = max(0, rss1 - rss0) / memoryRooms
            for c in roomClients { await c.close() }
            try await Task.sleep(for: .milliseconds(300))
        }

        // Connections.
        let rssBefore = server.rss
        var peers: [ServerBenchClient] = []
        for i in 0..<n { peers.append(try await ServerBenchClient.connect(url: "\(base)/fanout-\(n)", id: ClientID(i + 1))) }
        try await waitUntil("clients synced") { await Self.allSynced(peers) }
        try await Task.sleep(for: .milliseconds(300))
        result["memoryPerConnectionBytes"] = max(0, server.rss - rssBefore) / n

        // Warm-up, then the latency phase at a fixed rate.
        for i in 0..<10 { _ = try await peers[i % n].insert("w") }
        try await Task.sleep(for: .milliseconds(300))
        var sent: [(key: ServerBenchClient.UpdateKey, sender: Int, at: ContinuousClock.Instant)] = []
        let interval = Duration.nanoseconds(Int64(1e9 / rate))
        var next = ContinuousClock.now
        for u in 0..<updates {
            let sender = u % n
            let at = ContinuousClock.now
            let key = try await peers[sender].insert("<\(u)>")
            sent.append((key, sender, at))
            next += interval
            try await Task.sleep(until: next, clock: .continuous)
        }
        let deadline = ContinuousClock.now + .seconds(timeout)
        var latencies: [Double] = []
        var lost = 0
        while true {
            latencies.removeAll(keepingCapacity: true)
            lost = 0
            for (key, sender, at) in sent {
                for (i, p) in peers.enumerated() where i != sender {
                    if let arrived = await p.arrival(of: key) {
                        latencies.append(Double((arrived - at).components.attoseconds) / 1e15 + Double((arrived - at).components.seconds) * 1000)
                    } else {
                        lost += 1
                    }
                }
            }
            if lost == 0 || ContinuousClock.now > deadline { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        latencies.sort()
        func pct(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        result["latencyP50Ms"] = pct(0.5)
        result["latencyP99Ms"] = pct(0.99)
        result["latencyMaxMs"] = latencies.last ?? .nan
        // The distribution, for a percentile plot: [percentile, ms] pairs.
        result["latencyPercentilesMs"] = [0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999].map { [$0, pct($0)] }
        result["deliveries"] = latencies.count
        result["lostDeliveries"] = lost

        // Throughput: several senders as fast as they can; until every client has everything.
        for p in peers { await p.resetArrivals() }
        let senderCount = min(senders, n)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for s in 0..<senderCount {
                let p = peers[s]
                let count = burst
                group.addTask { for b in 0..<count { _ = try await p.insert("[\(s).\(b)]") } }
            }
            try await group.waitForAll()
        }
        let total = senderCount * burst
        // Senders do not get their own updates back from us (pycrdt-websocket echoes them).
        try await waitUntil("throughput phase delivered") {
            for (i, p) in peers.enumerated() {
                let expected = i < senderCount ? total - burst : total
                if await p.arrivalCount() < expected { return false }
            }
            return true
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        result["updatesPerSecond"] = Double(total) / seconds
        result["deliveriesPerSecond"] = Double(total * (n - 1)) / seconds
        for p in peers { await p.close() }
        return result
    }

    private static func allSynced(_ clients: [ServerBenchClient]) async -> Bool {
        for c in clients where await !c.isSynced { return false }
        return true
    }

    private func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CLIError("timed out after \(Int(timeout)) s: \(what)")
    }

    static func table(_ results: [[String: Any]]) -> String {
        func f(_ v: Any?, _ digits: Int = 1) -> String {
            guard let d = v as? Double ?? (v as? Int).map(Double.init), d.isFinite else { return "–" }
            return String(format: "%.\(digits)f", d)
        }
        var lines = ["| server | clients | p50 ms | p99 ms | max ms | lost | updates/s | deliveries/s | KiB/connection | KiB/room |",
                     "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in results {
            if let e = r["error"] { lines.append("| \(r["server"]!) | \(r["clients"]!) | failed: \(e) |||||||| "); continue }
            lines.append("| \(r["server"]!) | \(r["clients"]!) | \(f(r["latencyP50Ms"], 2)) | \(f(r["latencyP99Ms"], 2)) | \(f(r["latencyMaxMs"], 2)) | \(r["lostDeliveries"]!) | \(f(r["updatesPerSecond"], 0)) | \(f(r["deliveriesPerSecond"], 0)) | \(f((r["memoryPerConnectionBytes"] as? Int).map { Double($0) / 1024 })) | \(f((r["memoryPerRoomBytes"] as? Int).map { Double($0) / 1024 })) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
#else
let serverBenchCommands: [any ParsableCommand.Type] = []
#endif
