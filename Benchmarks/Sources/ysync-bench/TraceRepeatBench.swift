import CLISupport
import CRDT
import TraceKit

/// crdt-benchmarks' B4x100: a sequential trace replayed K times into one document (each replay
/// edits the front of the text that the earlier replays left), so the final text is endContent
/// K times. One transaction per patch, as in `ycli bench trace`.
enum TraceRepeatBench {
    static func run(path: String, times: Int) throws -> CrdtScenarioResult {
        let trace: Trace
        do { trace = try Trace.load(path: path) } catch { throw CLIError("\(path): \(error)") }
        let id = "B4x\(times)"
        let doc = YDoc(clientID: 1)
        let (_, ms) = try timeMs { () throws -> Void in
            for _ in 0..<times { try TraceBenchmark.replayOrFail(trace, into: doc, textName: "text") }
        }
        let content = doc.getText("text").string
        let expected = String(repeating: trace.endContent, count: times)
        do { try TraceReplay.checkText(content, equals: expected, what: "\(id) text") } catch { throw CLIError("\(error)") }
        return try CrdtScenarios.finish(
            id, title: "Apply \(TraceBenchmark.traceName(path)) \(times) times", ms: ms,
            updates: [], avg: 0, doc: doc, content: content) { $0.getText("text").string }
    }
}
