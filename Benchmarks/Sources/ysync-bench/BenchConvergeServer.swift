import CLISupport
#if canImport(ReplicaServer)
import ArgumentParser
import CRDT
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Journal
import Replica
import ReplicaServer
import Sync

/// Convergence over real WebSockets: N journaled replicas around a `ycli serve` process.
struct ConvergeServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "converge-server",
        abstract: "Replicas edit apart, then reconnect through 'ycli serve' over WebSockets: time to converge, bytes against the minimum.",
        discussion: """
        Starts this ycli's 'serve' as a child process on 127.0.0.1 (fresh data directory, durability normal) and N replicas (journaled stores in a temporary folder) that connect to one room with our WebSocket transport (?ack=1). Profiles: none (edit offline, then connect: fresh handshakes); partition (connect, sync, drop every connection, edit apart, reconnect: the heal). Figures from the connect/heal until every replica and the server hold the union's state: convergeMs; wireBytes (frames the replicas sent + messages the server sent, from its /metrics) against minimalBytes (the diff of the union each replica and the server lacked, as Yjs computes it for a state vector: the structs it lacked and the whole delete set) and lackedBytes (only the structs and deletes it lacked); messages; journal writes of the replicas per received update.
        """
    )

    @Option(help: "Number of replicas (2...64).") var replicas: Int = 8
    @Option(help: "Random edits per replica.") var edits: Int = 100
    @Option(help: "Fault profile: none or partition.") var profile: String = "none"
    @Option(help: "Seed of the random edits.") var seed: UInt64 = 1
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        if !(2...64).contains(replicas) { throw ValidationError("--replicas must be between 2 and 64") }
        if edits < 0 { throw ValidationError("--edits must not be negative") }
        if !["none", "partition"].contains(profile) { throw ValidationError("--profile is none or partition") }
    }

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ysync-bench-ws-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try BenchServerProcess.ysync(data: dir + "/server")
        defer { server.stop() }
        let url = "ws://127.0.0.1:\(server.port)/parties/main/converge?ack=1"

        var journal = JournalOptions()
        journal.durability = .normal
        var options = ReplicaOptions()
        options.tickInterval = .milliseconds(20)
        var reps: [Replica] = []
        for i in 0..<replicas {
            reps.append(try Replica(path: "\(dir)/r\(i).ystore", create: true, clientID: ClientID(i + 1), journal: journal, options: options))
        }
        let dial: @Sendable () async throws -> any Transport = { try await WebSocketTransport.connect(url: url) }
        if profile == "partition" {
            for r in reps { await r.connect(dial: dial) }
            try await waitUntil("replicas synced", seconds: 60) {
                for r in reps where await r.syncedConnectionCount < 1 { return false }
                return true
            }
            for r in reps { await r.disconnectAll() }
            try await Task.sleep(for: .milliseconds(100))
        }
        var g = SplitMix(seed: seed)
        for r in reps {
            for _ in 0..<edits {
                let s = g.next()
                try await r.edit { doc in var rng = SplitMix(seed: s); try BenchEdits.random(doc, &rng) }
            }
        }
        let union = YDoc(gc: true)
        for r in reps { try union.applyUpdate(await r.encodeStateAsUpdate()) }
        let serverHeld = try await server.state("converge")
        var minimal = union.encodeStateAsUpdate(since: try Updates.stateVector(of: serverHeld)).count
        var lacked = try MinimalDiff.size(of: union, for: serverHeld)
        for r in reps {
            minimal += union.encodeStateAsUpdate(since: await r.stateVector).count
            lacked += try MinimalDiff.size(of: union, for: await r.encodeStateAsUpdate())
        }
        let target = union.stateVector

        var before: [ReplicaStats] = []
        for r in reps { before.append(await r.stats) }
        let serverBefore = try await server.metrics()
        let start = ContinuousClock.now
        for r in reps { await r.connect(dial: dial) }
        try await waitUntil("convergence", seconds: 120) {
            for r in reps where await r.stateVector != target { return false }
            let s = YDoc(gc: true)
            try s.applyUpdate(try await server.state("converge"))
            return s.stateVector == target
        }
        let elapsed = ContinuousClock.now - start
        let convergeMs = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) * 1e-15
        try await Task.sleep(for: .milliseconds(150))  // confirmations and acks go out (counted)
        let serverAfter = try await server.metrics()
        var wire = 0, messages = 0, applied = 0, writes = 0
        for (i, r) in reps.enumerated() {
            let s = await r.stats
            wire += s.bytesSent - before[i].bytesSent
            messages += s.framesSent - before[i].framesSent
            applied += s.remoteUpdatesApplied - before[i].remoteUpdatesApplied
            writes += s.journalWrites - before[i].journalWrites
        }
        let serverBytes = Int(serverAfter["ysync_bytes_sent_total"] ?? 0) - Int(serverBefore["ysync_bytes_sent_total"] ?? 0)
        let serverMessages = Int(serverAfter["ysync_messages_sent_total"] ?? 0) - Int(serverBefore["ysync_messages_sent_total"] ?? 0)
        wire += serverBytes
        messages += serverMessages
        for r in reps { await r.close() }

        let ratio = minimal == 0 ? 0 : Double(wire) / Double(minimal)
        if json {
            let object: [String: Any] = [
                "transport": "websocket", "replicas": replicas, "edits": edits, "profile": profile, "seed": seed,
                "convergeMs": convergeMs, "wireBytes": wire, "serverBytesSent": serverBytes, "minimalBytes": minimal,
                "wireRatio": ratio, "lackedBytes": lacked, "wireLackedRatio": lacked == 0 ? 0 : Double(wire) / Double(lacked), "messages": messages, "updatesApplied": applied, "journalWrites": writes,
                "journalWritesPerUpdate": applied == 0 ? 0 : Double(writes) / Double(applied),
                "finalStateBytes": union.encodeStateAsUpdate().count, "converged": true,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            Console.out(String(decoding: data, as: UTF8.self) + "\n")
        } else {
            Console.out("""
            replicas     \(replicas) around ycli serve (WebSocket, 127.0.0.1), profile \(profile), \(edits) random edits each
            converge     \(formatFixed(convergeMs, 1)) ms after the \(profile == "partition" ? "heal" : "connect")
            wire bytes   \(wire) (server sent \(serverBytes)) = \(formatFixed(ratio, 3))x minimal \(minimal), \(formatFixed(Double(wire) / Double(max(1, lacked)), 3))x lacked \(lacked)
            messages     \(messages)
            journal      \(writes) writes for \(applied) received updates

            """)
        }
    }

    private func waitUntil(_ what: String, seconds: Double, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw CLIError("no \(what) within \(Int(seconds)) s")
    }
}

/// The HTTP API of a benchmarked server process.
extension BenchServerProcess {
    /// `ycli serve` (see `YcliExecutable`) on a free port with `data` as its data directory.
    static func ysync(data: String, durability: String = "normal") throws -> BenchServerProcess {
        try BenchServerProcess(name: "ysync", executable: try YcliExecutable.path(), arguments: [
            "serve", "--host", "127.0.0.1", "--port", "0", "--data", data, "--durability", durability,
            "--messages-per-second", "100000", "--log-level", "warning",
        ], dataDirectory: data)
    }

    func state(_ room: String) async throws -> [UInt8] {
        Array(try await get("/parties/main/\(room)/state"))
    }

    /// Counters and gauges of /metrics, summed over their label sets.
    func metrics() async throws -> [String: Double] {
        var out: [String: Double] = [:]
        for line in String(decoding: try await get("/metrics"), as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let v = Double(parts[1]) else { continue }
            let name = parts[0].split(separator: "{").first.map(String.init) ?? String(parts[0])
            out[name, default: 0] += v
        }
        return out
    }

    private func get(_ path: String) async throws -> Data {
        let url = URL(string: "http://127.0.0.1:\(port)\(path)")!
        let (data, response) = try await URLSession.shared.data(from: url)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw CLIError("GET \(path) failed: \(response)") }
        return data
    }
}
#endif
