import ArgumentParser
import CLISupport
import CRDT

/// `ysync-bench`: the benchmarks, outside the product (`ycli` keeps the user's commands only).
/// `scripts/bench-all.sh` drives it next to the Python peers.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ysync-bench",
        abstract: "Benchmarks of ysync, run beside pycrdt, loro and pycrdt-websocket by scripts/bench-all.sh.",
        subcommands: [TraceCommand.self, JournalBench.self, ConvergeCommand.self, CrdtCommand.self] + serverBenchCommands
    )
}

extension BenchCommand {
    struct TraceCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "trace",
            abstract: "Replay a sequential editing trace and measure replay, full-state size, load and encode.",
            discussion: """
            TRACE is a (gzipped) sequential trace: {startContent, endContent, txns: [{patches: [[pos, del, ins]]}]} with positions in code points. Each patch is one transaction (delete, then insert) on root text NAME of a document with client id N. Fails if the final text differs from endContent.

            Figures (medians of --repeat replays, --load-repeat loads and encodes): replayMs (no update observer), fullStateBytes and its SHA-256, updateStreamBytes / updateStreamSha256 (the concatenated v1 updates emitted by a second, observed replay), loadMs (full state into a fresh document), encodeMs (full state out of that loaded document), memoryBytes (heap in use after minus before the first load, from glibc's mallinfo2). JSON parsing is not part of any timing.
            """
        )

        @Option(name: .customLong("client-id"), help: ArgumentHelp("Client id of the replaying document.", valueName: "N"))
        var clientID: UInt64 = 1

        @Option(name: .customLong("text"), help: ArgumentHelp("Name of the root text.", valueName: "NAME"))
        var textName: String = "text"

        @Option(name: .customLong("repeat"), help: ArgumentHelp("Timed replays; the median is reported.", valueName: "R"))
        var repeats: Int = 3

        @Option(name: .customLong("load-repeat"), help: ArgumentHelp("Timed loads and encodes (cheap: more runs); medians are reported.", valueName: "L"))
        var loadRepeats: Int = 10

        @Flag(help: "Print one JSON object with all figures.")
        var json = false

        @Argument(help: ArgumentHelp("Trace file (.json.gz or .json).", valueName: "TRACE.json.gz"))
        var tracePath: String

        func validate() throws {
            if repeats < 1 || repeats > 1000 { throw ValidationError("--repeat must be between 1 and 1000") }
            if loadRepeats < 1 || loadRepeats > 10000 { throw ValidationError("--load-repeat must be between 1 and 10000") }
            // Yjs client ids are uint32, yrs' up to 2^53 - 1.
            if clientID > (1 << 53) - 1 { throw ValidationError("--client-id must be below 2^53") }
        }

        func run() throws {
            let r = try TraceBenchmark.run(path: tracePath, textName: textName, clientID: clientID,
                                           repeats: repeats, loadRepeats: loadRepeats)
            if json {
                Console.out(r.json.rendered() + "\n")
                return
            }
            func ms(_ x: Double) -> String { formatFixed(x, 2) + " ms" }
            var lines: [(String, String)] = [
                ("trace", r.trace),
                ("patches", "\(r.patches) in \(r.transactions) transactions, final length \(r.finalLength) code points"),
                ("parse", ms(r.parseMs) + " (not part of the replay)"),
                ("replay", ms(r.replayMs) + "   runs: " + r.replayRunsMs.map { formatFixed($0, 1) }.joined(separator: ", ")),
                ("replay + observer", ms(r.replayObservedMs)),
                ("full state", "\(r.fullStateBytes) bytes  sha256 \(r.fullStateSha256)"),
                ("update stream", "\(r.updateStreamBytes) bytes in \(r.updateCount) updates  sha256 \(r.updateStreamSha256)"),
                ("load", ms(r.loadMs) + "   (median of \(r.loadRunsMs.count))"),
                ("encode", ms(r.encodeMs) + "   (median of \(r.encodeRunsMs.count))" + (r.encodeMatchesFullState ? "" : "   (differs from the replayed doc's full state!)")),
                ("memory (loaded doc)", "\(r.memoryBytes) bytes (mallinfo2)"),
                ("memory (replayed doc)", "\(r.replayDocMemoryBytes) bytes (mallinfo2)"),
            ]
            let width = lines.map { $0.0.count }.max() ?? 0
            lines = lines.map { ($0.0 + String(repeating: " ", count: width - $0.0.count), $0.1) }
            Console.out(lines.map { "\($0.0)  \($0.1)" }.joined(separator: "\n") + "\n")
        }
    }
}

