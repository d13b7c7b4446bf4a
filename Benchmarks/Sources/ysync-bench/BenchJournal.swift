import CLISupport
import ArgumentParser
import CRDT
import Journal
import TraceKit

#if canImport(Glibc)
import Glibc
#endif

extension BenchCommand {
    struct JournalBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "journal",
            abstract: "Journal a trace's per-transaction updates and measure appends, size, cold open and compaction.",
            discussion: """
            The trace is replayed (not timed) with an update observer; its stream of v1 updates (one per transaction) is then appended to fresh stores (--durability, default full):
            - batched: all updates, --batch updates per SQLite transaction (one fsync per commit);
            - per commit: the first --per-commit updates, one transaction (and fsync) each; the rate is extrapolated to the whole stream.
            Cold open = Journal.open + load into a fresh YDoc, median of --open-repeat runs, in this process (the OS page cache is warm): uncompacted, then after compaction. Compaction time: a snapshot from the loaded document (compact(document:)) and without one (compact(): load + snapshot). Every load is checked against the trace's endContent.
            """
        )

        @Option(name: .customLong("batch"), help: ArgumentHelp("Updates per transaction in the batched run.", valueName: "N"))
        var batch: Int = 1000

        @Option(name: .customLong("per-commit"), help: ArgumentHelp("Updates appended one transaction each (a prefix of the stream).", valueName: "N"))
        var perCommit: Int = 5000

        @Option(name: .customLong("durability"), help: ArgumentHelp("full (fsync every commit) or normal (fsync at checkpoints), for both append runs.", valueName: "MODE"))
        var durability: String = "full"

        @Option(name: .customLong("open-repeat"), help: ArgumentHelp("Timed cold opens; the median is reported.", valueName: "R"))
        var openRepeats: Int = 5

        @Option(name: .customLong("client-id"), help: ArgumentHelp("Client id of the replaying document.", valueName: "N"))
        var clientID: UInt64 = 1

        @Option(name: .customLong("text"), help: ArgumentHelp("Name of the root text.", valueName: "NAME"))
        var textName: String = "text"

        @Option(name: .customLong("dir"), help: ArgumentHelp("Directory for the stores (kept); default: a temporary one, removed.", valueName: "DIR"))
        var dir: String?

        @Flag(help: "Print one JSON object with all figures.")
        var json = false

        @Argument(help: ArgumentHelp("Trace file (.json.gz or .json).", valueName: "TRACE.json.gz"))
        var tracePath: String

        func validate() throws {
            if batch < 1 || batch > 1_000_000 { throw ValidationError("--batch must be between 1 and 1000000") }
            if perCommit < 0 { throw ValidationError("--per-commit must not be negative") }
            if openRepeats < 1 || openRepeats > 1000 { throw ValidationError("--open-repeat must be between 1 and 1000") }
            if clientID == 0 || clientID > UInt64(UInt32.max) { throw ValidationError("--client-id must be a non-zero uint32") }
            if durability != "full" && durability != "normal" { throw ValidationError("--durability must be full or normal") }
        }

        func run() throws {
            let r = try JournalBenchmark(trace: tracePath, batch: batch, perCommit: perCommit, openRepeats: openRepeats,
                                         durability: durability == "full" ? .full : .normal,
                                         clientID: clientID, textName: textName, dir: dir).run()
            if json {
                Console.out(r.json.rendered() + "\n")
                return
            }
            func ms(_ x: Double) -> String { formatFixed(x, 1) + " ms" }
            func rate(_ x: Double) -> String { formatFixed(x, 0) + " appends/s" }
            var lines: [(String, String)] = [
                ("trace", "\(r.trace): \(r.updates) updates, \(r.rawBytes) bytes raw"),
                ("append batched", rate(r.batchedRate) + "   (batches of \(r.batch), durability \(r.durability), \(ms(r.batchedMs)) in all, of which decoding to validate \(ms(r.validateMs)))"),
                ("append per commit", rate(r.perCommitRate) + "   (first \(r.perCommitCount) updates, durability \(r.durability); all \(r.updates) extrapolated: \(formatFixed(r.perCommitExtrapolatedSeconds, 1)) s)"),
                ("stored per update", formatFixed(r.fileBytesPerUpdate, 1) + " bytes of file (payload \(formatFixed(r.payloadBytesPerUpdate, 1)), raw \(formatFixed(r.rawBytesPerUpdate, 1)))"),
                ("LZ4 (rows)", "ratio \(formatFixed(r.rowLZ4Ratio, 3)) raw/stored, \(r.compressedRows) of \(r.updates) rows compressed"),
                ("LZ4 (snapshot)", "ratio \(formatFixed(r.snapshotLZ4Ratio, 2)): \(r.snapshotRawBytes) -> \(r.snapshotStoredBytes) bytes"),
                ("file", "\(r.fileBytes) bytes uncompacted, \(r.compactedFileBytes) after compaction (history kept)"),
                ("cold open uncompacted", ms(r.openUncompactedMs) + "   runs: " + r.openUncompactedRunsMs.map { formatFixed($0, 1) }.joined(separator: ", ")),
                ("compact (with doc)", ms(r.compactMs)),
                ("compact (doc-less)", ms(r.compactDoclessMs)),
                ("cold open compacted", ms(r.openCompactedMs) + "   runs: " + r.openCompactedRunsMs.map { formatFixed($0, 1) }.joined(separator: ", ")),
            ]
            let width = lines.map { $0.0.count }.max() ?? 0
            lines = lines.map { ($0.0 + String(repeating: " ", count: width - $0.0.count), $0.1) }
            Console.out(lines.map { "\($0.0)  \($0.1)" }.joined(separator: "\n") + "\n")
        }
    }
}

/// The figures of one `ycli bench journal` run.
struct JournalBenchResult {
    var trace: String
    var updates: Int
    var rawBytes: Int
    var batch: Int
    var durability: String
    var batchedMs: Double
    /// Decoding every update once (the check `append` makes), part of batchedMs.
    var validateMs: Double
    var perCommitCount: Int
    var perCommitMs: Double
    var fileBytes: Int
    var payloadBytes: Int
    var compressedRows: Int
    var snapshotRawBytes: Int
    var snapshotStoredBytes: Int
    var compactedFileBytes: Int
    var openUncompactedRunsMs: [Double]
    var compactMs: Double
    var compactDoclessMs: Double
    var openCompactedRunsMs: [Double]

    var batchedRate: Double { Double(updates) / (batchedMs / 1000) }
    var perCommitRate: Double { perCommitCount == 0 ? 0 : Double(perCommitCount) / (perCommitMs / 1000) }
    var perCommitExtrapolatedSeconds: Double { perCommitRate == 0 ? .nan : Double(updates) / perCommitRate }
    var fileBytesPerUpdate: Double { Double(fileBytes) / Double(updates) }
    var payloadBytesPerUpdate: Double { Double(payloadBytes) / Double(updates) }
    var rawBytesPerUpdate: Double { Double(rawBytes) / Double(updates) }
    var rowLZ4Ratio: Double { Double(rawBytes) / Double(payloadBytes) }
    var snapshotLZ4Ratio: Double { Double(snapshotRawBytes) / Double(max(1, snapshotStoredBytes)) }
    var openUncompactedMs: Double { median(openUncompactedRunsMs) }
    var openCompactedMs: Double { median(openCompactedRunsMs) }

    var json: JSON {
        .object([
            ("trace", .string(trace)),
            ("updates", .int(updates)),
            ("rawBytes", .int(rawBytes)),
            ("batch", .int(batch)),
            ("batchedAppendsPerSecond", .double(batchedRate)),
            ("batchedMs", .double(batchedMs)),
            ("validateMs", .double(validateMs)),
            ("perCommitCount", .int(perCommitCount)),
            ("perCommitAppendsPerSecond", .double(perCommitRate)),
            ("perCommitExtrapolatedSeconds", .double(perCommitExtrapolatedSeconds)),
            ("durability", .string(durability)),
            ("fileBytes", .int(fileBytes)),
            ("fileBytesPerUpdate", .double(fileBytesPerUpdate)),
            ("payloadBytes", .int(payloadBytes)),
            ("payloadBytesPerUpdate", .double(payloadBytesPerUpdate)),
            ("rowLz4Ratio", .double(rowLZ4Ratio)),
            ("compressedRows", .int(compressedRows)),
            ("snapshotRawBytes", .int(snapshotRawBytes)),
            ("snapshotStoredBytes", .int(snapshotStoredBytes)),
            ("snapshotLz4Ratio", .double(snapshotLZ4Ratio)),
            ("compactedFileBytes", .int(compactedFileBytes)),
            ("coldOpenUncompactedMs", .double(openUncompactedMs)),
            ("compactMs", .double(compactMs)),
            ("compactDoclessMs", .double(compactDoclessMs)),
            ("coldOpenCompactedMs", .double(openCompactedMs)),
            ("coldOpenUncompactedRunsMs", .array(openUncompactedRunsMs.map { .double($0) })),
            ("coldOpenCompactedRunsMs", .array(openCompactedRunsMs.map { .double($0) })),
        ])
    }
}

/// Runs the journal benchmark: appends, sizes, cold opens, compaction.
struct JournalBenchmark {
    var trace: String
    var batch: Int
    var perCommit: Int
    var openRepeats: Int
    var durability: Durability
    var clientID: UInt64
    var textName: String
    var dir: String?

    func run() throws -> JournalBenchResult {
        let loaded: Trace
        do { loaded = try Trace.load(path: trace) } catch {
            if case .io = error { throw CLIError(error.description) }
            throw CLIError("\(trace): \(error)")
        }
        // The per-transaction update stream, as an editor's journal would receive it.
        var updates: [[UInt8]] = []
        let source = YDoc(clientID: clientID, gc: true)
        source.observeUpdate { updates.append($0.update) }
        try TraceBenchmark.replayOrFail(loaded, into: source, textName: textName)
        try TraceBenchmark.check(source, textName: textName, trace: loaded, what: "replayed text")
        let rawBytes = updates.reduce(0) { $0 + $1.count }
        // The validity check every append makes (decoding the update), alone.
        let (_, validateMs) = try timeMs { for u in updates { _ = try UpdateDecoderV1.decode(u) } }

        let workDir = try dir ?? makeTempDir()
        defer { if dir == nil { removeTree(workDir) } }
        let batchedPath = workDir + "/batched.ysync", perCommitPath = workDir + "/per-commit.ysync"
        let doclessPath = workDir + "/docless.ysync"
        for p in [batchedPath, perCommitPath, doclessPath] { removeStore(p) }
        var options = JournalOptions()
        options.durability = durability

        // 1. Group commit, all updates.
        let j = try journalOrFail { () throws(JournalError) in try Journal.open(path: batchedPath, create: true, options: options) }
        let (_, batchedMs) = try timeMs {
            var i = 0
            while i < updates.count {
                let end = min(updates.count, i + batch)
                try j.append(batch: updates[i..<end].map { ($0, nil) })
                i = end
            }
        }
        let stats = try j.stats()
        let compressed = try j.entries().filter(\.compressed).count
        j.close()  // checkpoints the WAL into the file
        let fileBytes = try fileSize(batchedPath)

        // 2. One transaction (and fsync) per update, a prefix of the stream.
        let count = min(perCommit, updates.count)
        let pj = try Journal.open(path: perCommitPath, create: true, options: options)
        let (_, perCommitMs) = try timeMs {
            for u in updates[..<count] { try pj.append(u) }
        }
        pj.close()
        removeStore(perCommitPath)

        // 3. Cold opens of the uncompacted journal (a copy is kept for the doc-less compaction).
        try FileBytes.write(try FileBytes.readFile(batchedPath), to: doclessPath)
        let uncompacted = try coldOpens(batchedPath, trace: loaded)

        // 4. Compaction, from the loaded document and without one.
        let cj = try Journal.open(path: batchedPath, options: options)
        let doc = YDoc(gc: true)
        _ = try cj.load(into: doc)
        let (_, compactMs) = try timeMs { try cj.compact(document: doc) }
        let after = try cj.stats()
        cj.close()
        let dj = try Journal.open(path: doclessPath, options: options)
        let (_, doclessMs) = try timeMs { try dj.compact() }
        dj.close()
        removeStore(doclessPath)

        // 5. Cold opens after compaction.
        let compacted = try coldOpens(batchedPath, trace: loaded)
        return JournalBenchResult(
            trace: TraceBenchmark.traceName(trace), updates: updates.count, rawBytes: rawBytes, batch: batch,
            durability: durability == .full ? "full" : "normal", batchedMs: batchedMs, validateMs: validateMs, perCommitCount: count, perCommitMs: perCommitMs, fileBytes: fileBytes,
            payloadBytes: stats.storedBytes, compressedRows: compressed,
            snapshotRawBytes: after.lastSnapshotRawBytes ?? 0, snapshotStoredBytes: after.lastSnapshotStoredBytes ?? 0,
            compactedFileBytes: try fileSize(batchedPath), openUncompactedRunsMs: uncompacted, compactMs: compactMs,
            compactDoclessMs: doclessMs, openCompactedRunsMs: compacted)
    }

    /// Open + load into a fresh document, `openRepeats` times; each load is checked.
    private func coldOpens(_ path: String, trace: Trace) throws -> [Double] {
        var runs: [Double] = []
        for _ in 0..<openRepeats {
            let (doc, ms) = try timeMs { () throws -> YDoc in
                let j = try Journal.open(path: path)
                defer { j.close() }
                let doc = YDoc(gc: true)
                let report = try j.load(into: doc)
                if !report.quarantined.isEmpty { throw CLIError("load reported problems: \(report.quarantined)") }
                return doc
            }
            try TraceBenchmark.check(doc, textName: textName, trace: trace, what: "loaded text")
            runs.append(ms)
        }
        return runs
    }

    private func journalOrFail(_ body: () throws(JournalError) -> Journal) throws -> Journal {
        do { return try body() } catch { throw CLIError("\(error)") }
    }

    private func fileSize(_ path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw CLIError("\(path): cannot stat") }
        return Int(st.st_size)
    }

    private func makeTempDir() throws -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/ycli-bench-journal-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CLIError("cannot create a temporary directory in \(base)")
        }
        return String(cString: p)
    }

    private func removeStore(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }

    private func removeTree(_ dir: String) {
        for name in ["batched.ysync", "per-commit.ysync", "docless.ysync"] { removeStore(dir + "/" + name) }
        rmdir(dir)
    }
}
