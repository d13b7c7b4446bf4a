import CLISupport
import ArgumentParser
import CRDT
import Dispatch
import Foundation
import Journal
import Replica
import Sync
import TraceKit

extension BenchCommand {
    struct ConvergeCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "converge",
            abstract: "Replicas edit apart, then reconnect: time to converge, bytes on the wire against the minimum.",
            discussion: """
            N replicas (stores in a temporary folder, journal durability 'normal') connected in a star around replica 0 over in-memory transports. Workload: --edits random edits per replica (text, map, array) made while apart, or --trace FILE, a concurrent trace replayed with one replica per agent (--replicas is then the trace's agent count). Profiles: none (edit offline, then connect: fresh handshakes), partition (connected, links partitioned while editing, then healed; every replica resyncs once: a step 1 on each session), lossy (edit offline, then connect over links that drop 2%, duplicate 2% and reorder 5% of frames, 0-2 ms latency; sessions resync every 100 ms).

            Figures, from the moment of the heal/connect until every replica holds the same state (plus 120 ms for confirmations to go out, when on): convergeMs; wireBytes (every frame sent) against minimalBytes (the sum over replicas of the diff each lacked, as Yjs computes it for a state vector: the structs it lacked and the whole delete set, which a y-protocols step 1 cannot avoid) and against lackedBytes (the structs and only the deletes it lacked: the information-theoretic floor); updateBytes (step 2 and update payloads only); messages (frames sent); handshake frames per link (4 = one step 1 and one step 2 each way: one round trip); journal writes per received update.
            """
        )

        @Option(help: ArgumentHelp("Number of replicas (2...64).", valueName: "N"))
        var replicas: Int = 4

        @Option(help: ArgumentHelp("Random edits per replica.", valueName: "N"))
        var edits: Int = 200

        @Option(help: ArgumentHelp("Fault profile: none, lossy or partition.", valueName: "PROFILE"))
        var profile: String = "none"

        @Option(help: ArgumentHelp("A concurrent trace (.json.gz) as the workload.", valueName: "FILE"))
        var trace: String?

        @Option(help: ArgumentHelp("Seed of the random edits and faults.", valueName: "N"))
        var seed: UInt64 = 1

        @Flag(name: .customLong("no-confirmations"), help: "Do not confirm received updates with a state vector.")
        var noConfirmations = false

        @Flag(help: "Print one JSON object.")
        var json = false

        func validate() throws {
            if !(2...64).contains(replicas) { throw ValidationError("--replicas must be between 2 and 64") }
            if edits < 0 { throw ValidationError("--edits must not be negative") }
            if !["none", "lossy", "partition"].contains(profile) { throw ValidationError("--profile is none, lossy or partition") }
        }

        func run() throws {
            let box = ResultBox()
            let sem = DispatchSemaphore(value: 0)
            let config = ConvergeBench.Config(replicas: replicas, edits: edits, profile: profile, trace: trace,
                                              seed: seed, confirmations: !noConfirmations)
            Task {
                do { box.set(.success(try await ConvergeBench.run(config))) } catch { box.set(.failure(error)) }
                sem.signal()
            }
            sem.wait()
            let r = try box.get()
            if json {
                Console.out(r.json.rendered(pretty: true, prettyDepth: 1) + "\n")
            } else {
                Console.out(table(r.rows))
            }
        }
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<ConvergeBench.Report, any Error>?
    func set(_ r: Result<ConvergeBench.Report, any Error>) { lock.lock(); result = r; lock.unlock() }
    func get() throws -> ConvergeBench.Report {
        lock.lock(); defer { lock.unlock() }
        return try result!.get()
    }
}

enum ConvergeBench {
    struct Config: Sendable {
        var replicas: Int, edits: Int, profile: String, trace: String?, seed: UInt64, confirmations: Bool
    }

    struct Report: Sendable {
        var config: Config
        var replicas = 0, links = 0
        var convergeMs = 0.0
        var wireBytes = 0, minimalBytes = 0, lackedBytes = 0, updateBytes = 0, messages = 0
        var handshakeFramesPerLink = 0.0
        var updatesApplied = 0, journalWrites = 0
        var redundant = 0
        var finalBytes = 0

        var ratio: Double { minimalBytes == 0 ? 0 : Double(wireBytes) / Double(minimalBytes) }
        var lackedRatio: Double { lackedBytes == 0 ? 0 : Double(wireBytes) / Double(lackedBytes) }
        var updateRatio: Double { minimalBytes == 0 ? 0 : Double(updateBytes) / Double(minimalBytes) }
        var writesPerUpdate: Double { updatesApplied == 0 ? 0 : Double(journalWrites) / Double(updatesApplied) }

        var rows: [(String, String)] {
            [("workload", config.trace.map { "trace \(baseName($0))" } ?? "\(config.edits) random edits per replica"),
             ("replicas", "\(replicas) (star, \(links) links), profile \(config.profile), confirmations \(config.confirmations ? "on" : "off")"),
             ("converge", formatFixed(convergeMs, 1) + " ms after the heal"),
             ("wire bytes", "\(wireBytes) = \(formatFixed(ratio, 3))x minimal \(minimalBytes), \(formatFixed(lackedRatio, 3))x lacked \(lackedBytes)"),
             ("update bytes", "\(updateBytes) = \(formatFixed(updateRatio, 3))x minimal (step 2 + update payloads)"),
             ("messages", "\(messages)"),
             ("handshake", formatFixed(handshakeFramesPerLink, 2) + " step 1/step 2 frames per link (4 = one round trip)"),
             ("journal", "\(journalWrites) writes for \(updatesApplied) received updates (\(formatFixed(writesPerUpdate, 2)) per update)"),
             ("redundant", "\(redundant) received frames with structs already held"),
             ("final state", "\(finalBytes) bytes")]
        }

        var json: JSON {
            .object([("replicas", .int(Int64(replicas))), ("links", .int(Int64(links))), ("profile", .string(config.profile)),
                     ("edits", .int(Int64(config.edits))), ("trace", config.trace.map { .string($0) } ?? .null),
                     ("confirmations", .bool(config.confirmations)),
                     ("convergeMs", .double(convergeMs)), ("wireBytes", .int(Int64(wireBytes))),
                     ("minimalBytes", .int(Int64(minimalBytes))), ("wireRatio", .double(ratio)),
                     ("lackedBytes", .int(Int64(lackedBytes))), ("wireLackedRatio", .double(lackedRatio)),
                     ("updateBytes", .int(Int64(updateBytes))), ("updateRatio", .double(updateRatio)),
                     ("messages", .int(Int64(messages))), ("handshakeFramesPerLink", .double(handshakeFramesPerLink)),
                     ("journalWrites", .int(Int64(journalWrites))), ("updatesApplied", .int(Int64(updatesApplied))),
                     ("journalWritesPerUpdate", .double(writesPerUpdate)), ("redundantFrames", .int(Int64(redundant))),
                     ("finalStateBytes", .int(Int64(finalBytes)))])
        }
    }

    static func run(_ c: Config) async throws -> Report {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ysync-bench-converge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var report = Report(config: c)

        var concurrent: ConcurrentTrace?
        var n = c.replicas
        if let path = c.trace {
            do { concurrent = try ConcurrentTrace.load(path: path) } catch { throw CLIError("\(error)") }
            n = concurrent!.numAgents
        }
        var journal = JournalOptions()
        journal.durability = .normal
        var options = ReplicaOptions(confirmations: c.confirmations)
        if c.profile == "lossy" { options.session = SyncSession.Options(handshakeRetry: 0.1, resyncInterval: 0.1) }
        options.tickInterval = .milliseconds(20)
        var replicas: [Replica] = []
        for i in 0..<n {
            replicas.append(try Replica(path: dir.appendingPathComponent("r\(i).ystore").path, create: true,
                                        clientID: ClientID(i + 1), journal: journal, options: options))
        }
        report.replicas = n
        report.links = n - 1

        // Partition profile: connect first, partition, then edit.
        var networks: [InMemoryNetwork] = []
        if c.profile == "partition" {
            for i in 1..<n {
                let (ta, tb, net) = InMemoryNetwork.pair(profile: .perfect, clock: .realTime)
                await replicas[0].connect(ta)
                await replicas[i].connect(tb)
                networks.append(net)
            }
            try await waitSynced(replicas, links: n - 1)
            for net in networks { net.partition() }
        }

        // Workload, apart.
        if let t = concurrent {
            let versions: [[Int]]
            do { versions = try t.versions() } catch { throw CLIError("\(error)") }
            let steps = t.transactions.enumerated().map { i, x in
                ConcurrentTraceRun.Step(agent: x.agent, version: versions[i], patches: x.patches.map { ($0.position, $0.deleteCount, $0.insert) })
            }
            _ = try await ConcurrentTraceRun.run(steps: steps, agents: n, replicas: replicas)
        } else {
            var g = SplitMix(seed: c.seed)
            for i in 0..<n {
                for _ in 0..<c.edits {
                    let s = g.next()
                    try await replicas[i].edit { doc in var r = SplitMix(seed: s); try BenchEdits.random(doc, &r) }
                }
            }
        }

        // Partition: every frame the edits produced must reach the (cut) links before the heal:
        // replicas queue frames and send them from a task, so without this wait frames counted
        // before the heal would travel after it.
        if c.profile == "partition" {
            var last = -1, stable = 0
            while stable < 3 {
                let submitted = networks.reduce(0) { $0 + $1.counters.submitted }
                stable = submitted == last ? stable + 1 : 0
                last = submitted
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        // Minimal: what each replica lacks of the union.
        let union = YDoc(gc: true)
        for r in replicas { try union.applyUpdate(await r.encodeStateAsUpdate()) }
        for r in replicas {
            report.minimalBytes += union.encodeStateAsUpdate(since: await r.stateVector).count
            report.lackedBytes += try MinimalDiff.size(of: union, for: await r.encodeStateAsUpdate())
        }
        report.finalBytes = union.encodeStateAsUpdate().count
        let target = union.stateVector

        var before: [ReplicaStats] = []
        for r in replicas { before.append(await r.stats) }
        let start = ContinuousClock.now
        switch c.profile {
        case "partition":
            for net in networks { net.heal() }
            for r in replicas { await r.resync() }
        default:
            let fault = c.profile == "lossy"
                ? FaultProfile(latency: 0...0.002, dropRate: 0.02, duplicateRate: 0.02, reorderRate: 0.05, reorderWindow: 0.005, seed: c.seed)
                : FaultProfile.perfect
            for i in 1..<n {
                let (ta, tb, _) = InMemoryNetwork.pair(profile: fault, clock: .realTime)
                await replicas[0].connect(ta)
                await replicas[i].connect(tb)
            }
        }
        // Converged: every replica holds the union's state vector.
        while true {
            var done = true
            for r in replicas where await r.stateVector != target { done = false; break }
            if done { break }
            if ContinuousClock.now - start > .seconds(120) { throw CLIError("no convergence after 120 s") }
            try await Task.sleep(for: .microseconds(200))
        }
        let elapsed = ContinuousClock.now - start
        report.convergeMs = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) * 1e-15
        // Let confirmations and their answers go out (counted too), then take the figures.
        if c.confirmations { try await Task.sleep(for: .milliseconds(120)) }
        for (i, r) in replicas.enumerated() {
            let s = await r.stats
            let b = before[i]
            report.wireBytes += s.bytesSent - b.bytesSent
            report.updateBytes += s.updateBytesSent - b.updateBytesSent
            report.messages += s.framesSent - b.framesSent
            report.updatesApplied += s.remoteUpdatesApplied - b.remoteUpdatesApplied
            report.journalWrites += s.journalWrites - b.journalWrites
            report.redundant += (s.redundantUpdatesReceived - b.redundantUpdatesReceived) + (s.redundantStep2Received - b.redundantStep2Received)
        }
        var handshake = 0
        for r in replicas { for st in await r.sessionStats { handshake += min(st.step1Sent, 1) + min(st.step2Sent, 1) } }
        report.handshakeFramesPerLink = Double(handshake) / Double(max(1, n - 1))
        for r in replicas { await r.close() }
        return report
    }

    private static func waitSynced(_ replicas: [Replica], links: Int) async throws {
        while true {
            var synced = 0
            for r in replicas { synced += await r.syncedConnectionCount }
            if synced >= 2 * links { return }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// SplitMix64: the bench's edit generator.
struct SplitMix: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Typing-like random edits: mostly text runs, some map sets and array pushes.
enum BenchEdits {
    static func random(_ doc: YDoc, _ g: inout SplitMix) throws {
        let t = doc.getText("text")
        let r = Int.random(in: 0..<10, using: &g)
        if r < 6 {
            let words = ["the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog. "]
            try t.insert(at: Int.random(in: 0...t.length, using: &g), words.randomElement(using: &g)!)
        } else if r < 8 && t.length > 0 {
            let at = Int.random(in: 0..<t.length, using: &g)
            try t.delete(at: at, count: min(t.length - at, Int.random(in: 1...5, using: &g)))
        } else if r < 9 {
            doc.getMap("meta").set("k\(Int.random(in: 0..<20, using: &g))", .integer(Int64(Int.random(in: 0..<1000, using: &g))))
        } else {
            doc.getArray("list").push([.string("item \(Int.random(in: 0..<1000, using: &g))")])
        }
    }
}
