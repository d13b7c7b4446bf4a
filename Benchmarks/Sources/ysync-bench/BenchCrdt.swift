import CLISupport
import ArgumentParser
import CRDT

extension BenchCommand {
    struct CrdtCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "crdt",
            abstract: "The crdt-benchmarks scenarios B1.1–B3.4 (and B4xK with --trace) on ysync.",
            discussion: """
            Scenarios as dmonad/crdt-benchmarks defines them (N = 6000 by default): B1 one client edits (each op its own transaction), B2 two clients edit concurrently in one transaction each and exchange updates, B3 20·⌊√N⌋ clients make one change each and one client applies all updates in one transaction. Inputs come from a seeded SplitMix64 (Benchmarks/crdt_workload.py draws the same ones for pycrdt and loro). --trace FILE adds B4xK: the trace replayed --times times into one document.

            Figures per scenario (median of --repeat runs for the times): timeMs, updates / updateBytes / avgUpdateBytes, encodeMs, docBytes (+ SHA-256), parseMs (fresh document + applyUpdate), memoryBytes (heap in use after minus before that load, glibc mallinfo2), contentSha256 of the final content. Fails if clients do not converge or the content is not the expected one.
            """
        )

        @Option(help: ArgumentHelp("N, the scenario size.", valueName: "N"))
        var n: Int = 6000

        @Option(help: ArgumentHelp("Base seed of the inputs.", valueName: "S"))
        var seed: UInt64 = 42

        @Option(name: .customLong("repeat"), help: ArgumentHelp("Runs per scenario; times are medians.", valueName: "R"))
        var repeats: Int = 1

        @Option(name: .customLong("only"), parsing: .upToNextOption, help: ArgumentHelp("Only these scenarios (B1.1 … B3.4, B4x).", valueName: "ID"))
        var only: [String] = []

        @Option(help: ArgumentHelp("Sequential trace for B4xK.", valueName: "TRACE.json.gz"))
        var trace: String?

        @Option(help: ArgumentHelp("K of B4xK: replays into one document.", valueName: "K"))
        var times: Int = 100

        @Flag(help: "Print one JSON object.")
        var json = false

        func validate() throws {
            if n < 10 || n > 10_000_000 { throw ValidationError("--n must be between 10 and 10000000") }
            if repeats < 1 || repeats > 1000 { throw ValidationError("--repeat must be between 1 and 1000") }
            if times < 1 || times > 10_000 { throw ValidationError("--times must be between 1 and 10000") }
            let known = Set(CrdtScenarios.ids + ["B4x"])
            if let bad = only.first(where: { !known.contains($0) }) {
                throw ValidationError("unknown scenario \(bad); known: \(CrdtScenarios.ids.joined(separator: ", ")), B4x")
            }
            if only.contains("B4x") && trace == nil { throw ValidationError("B4x needs --trace FILE") }
        }

        func run() throws {
            var ids = only.isEmpty ? CrdtScenarios.ids + (trace == nil ? [] : ["B4x"]) : only
            ids = ids.filter { $0 != "B4x" } + (ids.contains("B4x") ? ["B4x"] : [])
            var results: [CrdtScenarioResult] = []
            for id in ids {
                var runs: [CrdtScenarioResult] = []
                for _ in 0..<repeats {
                    if id == "B4x" { runs.append(try TraceRepeatBench.run(path: trace!, times: times)) }
                    else { runs.append(try CrdtScenarios.run(id, n: n, seed: seed)) }
                }
                var r = runs[0]
                r.timeMs = median(runs.map(\.timeMs))
                r.encodeMs = median(runs.map(\.encodeMs))
                r.parseMs = median(runs.map(\.parseMs))
                results.append(r)
                if !json { Console.out(line(r)) }
            }
            if json {
                let out: JSON = .object([("peer", .string("ysync")), ("n", .int(n)), ("seed", .uint(seed)),
                                         ("repeat", .int(repeats)), ("b3Clients", .int(CrdtWorkload.b3Clients(n: n))),
                                         ("results", .array(results.map(\.json)))])
                Console.out(out.rendered(pretty: true, prettyDepth: 2) + "\n")
            }
        }

        private func line(_ r: CrdtScenarioResult) -> String {
            "[\(r.id)] \(r.title): time \(formatFixed(r.timeMs, 2)) ms, updates \(r.updates) (\(r.updateBytes) bytes, avg \(formatFixed(r.avgUpdateBytes, 1))), "
                + "encode \(formatFixed(r.encodeMs, 2)) ms, doc \(r.docBytes) bytes, parse \(formatFixed(r.parseMs, 2)) ms, memory \(r.memoryBytes) bytes\n"
        }
    }
}
