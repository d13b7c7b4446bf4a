import CRDT
import Foundation
@testable import Journal
import TestSupport
import Testing

/// Crash safety with real processes: `JournalCrashWorker` appends (durability full) and prints
/// each committed seq; it is killed with SIGKILL at random moments. After every kill, each seq
/// it printed must be in the store, with its content, and the store must open, load and check
/// clean. Outcomes are deterministic; only where the kill lands varies.
@Suite(.serialized, .ownThread) struct CrashTests {
    /// Runs `rounds` worker lives on one store; returns how many seqs were acknowledged. The
    /// worker is a `ChildProcess`: its output is read off the cooperative pool, every wait is async.
    func crashRounds(seed: UInt64, rounds: Int, workerArgs: [String], retainHistory: Bool) async throws -> Int {
        var rng = SeededRandom(seed: seed)
        let dir = TempDir("crash\(seed)")
        let store = dir.file("store.ysync")
        var acknowledged: [(seq: Int64, token: String)] = []
        var compactions = 0
        for round in 0..<rounds {
            let worker = try JournalCrashWorker.start([store, "--seed", String(seed * 1000 + UInt64(round))] + workerArgs,
                                                      input: .none, label: "JournalCrashWorker round \(round)")
            defer { worker.stop() }
            // Kill after a random number of acknowledgements, then a random short delay: the
            // kill lands in the middle of an append (or a compaction) most of the time. (A
            // worker that stalls fails nextLine after its bound.)
            let killAfter = rng.int(1...60)
            var seen = 0
            while seen < killAfter {
                if record(try await worker.nextLine(), into: &acknowledged, compactions: &compactions) { seen += 1 }
            }
            // Where the kill lands, not something a check waits for.
            try await Task.sleep(for: .microseconds(rng.int(0...3000)))
            kill(worker.pid, SIGKILL)
            let result = try await worker.waitForExit()
            // Lines already written before the kill are acknowledged too.
            for line in worker.takeLines() { _ = record(line, into: &acknowledged, compactions: &compactions) }
            #expect(result.signalled || result.status == 0, "round \(round): the worker failed: \(result)")
            try verify(store: store, acknowledged: acknowledged, retainHistory: retainHistory, context: "seed \(seed) round \(round)")
        }
        if workerArgs.contains("--compact-every") { #expect(compactions > 0) }
        return acknowledged.count
    }

    private func record(_ line: String, into acks: inout [(seq: Int64, token: String)], compactions: inout Int) -> Bool {
        if line.hasPrefix("compacted ") {
            compactions += 1
            return false
        }
        let parts = line.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, let seq = Int64(parts[0]) else {
            Issue.record("unexpected worker output \(line.debugDescription)")
            return false
        }
        acks.append((seq, String(parts[1])))
        return true
    }

    /// Every acknowledged seq is present (as a row, or below a snapshot when rows are pruned)
    /// and its token is in the loaded text; the store loads and checks clean.
    private func verify(store: String, acknowledged: [(seq: Int64, token: String)], retainHistory: Bool, context: String) throws {
        let j = try Journal.open(path: store, options: manualOptions(retainHistory: retainHistory))
        defer { j.close() }
        let doc = YDoc()
        let report = try j.load(into: doc)
        #expect(report.quarantined.isEmpty, "\(context): \(report.quarantined)")
        #expect(!report.hasPending, "\(context)")
        let text = doc.getText("t").string
        let rows = Set(try j.entries().map(\.seq))
        let covered = try j.stats().lastSnapshotSeq ?? 0
        for (seq, token) in acknowledged {
            #expect(rows.contains(seq) || (!retainHistory && seq <= covered), "\(context): seq \(seq) acknowledged but absent")
            #expect(text.contains(token), "\(context): content of seq \(seq) lost")
        }
        let check = try j.check()
        #expect(check.isHealthy, "\(context): \(check.problems)")
    }

    @Test func killedWhileAppending() async throws {
        let acks = try await crashRounds(seed: 1, rounds: 20, workerArgs: [], retainHistory: true)
        #expect(acks >= 20)
    }

    @Test func killedWhileAppendingInBatches() async throws {
        _ = try await crashRounds(seed: 2, rounds: 20, workerArgs: ["--batch", "7"], retainHistory: true)
    }

    @Test func killedWhileCompacting() async throws {
        _ = try await crashRounds(seed: 3, rounds: 20, workerArgs: ["--compact-every", "3", "--no-history"], retainHistory: false)
        _ = try await crashRounds(seed: 4, rounds: 20, workerArgs: ["--compact-every", "5"], retainHistory: true)
    }
}
