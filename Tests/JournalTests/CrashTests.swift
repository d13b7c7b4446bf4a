import CRDT
import Foundation
@testable import Journal
import TestSupport
import Testing

/// Crash safety with real processes: `JournalCrashWorker` appends (durability full) and prints
/// each committed seq; it is killed with SIGKILL at random moments. After every kill, each seq
/// it printed must be in the store, with its content, and the store must open, load and check
/// clean. Outcomes are deterministic; only where the kill lands varies.
@Suite(.serialized) struct CrashTests {
    /// The worker binary: next to the test bundle (SwiftPM puts every product of a build in
    /// one directory), or `YSYNC_CRASH_WORKER`.
    static func workerPath() throws -> String {
        if let p = TestEnvironment.environment("YSYNC_CRASH_WORKER") { return p }
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((exe as NSString).deletingLastPathComponent)
        }
        candidates.append(Bundle.main.bundlePath)
        candidates.append((Bundle.main.bundlePath as NSString).deletingLastPathComponent)
        for dir in candidates {
            let p = dir + "/JournalCrashWorker"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw WorkerMissing(searched: candidates)
    }

    struct WorkerMissing: Error, CustomStringConvertible {
        var searched: [String]
        var description: String {
            "JournalCrashWorker not found in \(searched) (build it with `swift build --build-tests`, or set YSYNC_CRASH_WORKER)"
        }
    }

    /// Reads the worker's stdout line by line.
    final class LineReader {
        let handle: FileHandle
        var buffer: [UInt8] = []
        init(_ handle: FileHandle) { self.handle = handle }

        /// The next complete line, or nil at end of file.
        func next() -> String? {
            while true {
                if let nl = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[..<nl], as: UTF8.self)
                    buffer.removeSubrange(...nl)
                    return line
                }
                let chunk = handle.availableData
                if chunk.isEmpty { return nil }
                buffer.append(contentsOf: chunk)
            }
        }
    }

    /// Runs `rounds` worker lives on one store; returns how many seqs were acknowledged.
    func crashRounds(seed: UInt64, rounds: Int, workerArgs: [String], retainHistory: Bool) throws -> Int {
        let worker = try Self.workerPath()
        var rng = SeededRandom(seed: seed)
        let dir = TempDir("crash\(seed)")
        let store = dir.file()
        var acknowledged: [(seq: Int64, token: String)] = []
        var compactions = 0
        for round in 0..<rounds {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: worker)
            p.arguments = [store, "--seed", String(seed * 1000 + UInt64(round))] + workerArgs
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Bounded time: a worker that stalls is killed, which ends its output.
            let pid = p.processIdentifier
            let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
            DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: watchdog)
            defer { watchdog.cancel() }
            let reader = LineReader(out.fileHandleForReading)
            // Kill after a random number of acknowledgements, then a random short delay: the
            // kill lands in the middle of an append (or a compaction) most of the time.
            let killAfter = rng.int(1...60)
            var seen = 0
            while seen < killAfter, let line = reader.next() {
                if record(line, into: &acknowledged, compactions: &compactions) { seen += 1 }
            }
            usleep(UInt32(rng.int(0...3000)))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            // Lines already written before the kill are acknowledged too.
            while let line = reader.next() { _ = record(line, into: &acknowledged, compactions: &compactions) }
            #expect(p.terminationReason == .uncaughtSignal || p.terminationStatus == 0, "round \(round): the worker failed")
            #expect(seen >= killAfter, "seed \(seed) round \(round): the worker stalled")
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

    @Test func killedWhileAppending() throws {
        let acks = try crashRounds(seed: 1, rounds: 20, workerArgs: [], retainHistory: true)
        #expect(acks >= 20)
    }

    @Test func killedWhileAppendingInBatches() throws {
        _ = try crashRounds(seed: 2, rounds: 20, workerArgs: ["--batch", "7"], retainHistory: true)
    }

    @Test func killedWhileCompacting() throws {
        _ = try crashRounds(seed: 3, rounds: 20, workerArgs: ["--compact-every", "3", "--no-history"], retainHistory: false)
        _ = try crashRounds(seed: 4, rounds: 20, workerArgs: ["--compact-every", "5"], retainHistory: true)
    }
}
