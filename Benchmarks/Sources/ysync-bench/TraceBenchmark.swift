import CLISupport
import CRDT
import TraceKit

/// The figures of one `ycli bench trace` run.
struct TraceBenchResult {
    var trace: String
    var textName: String
    var clientID: ClientID
    var patches: Int
    var transactions: Int
    var finalLength: Int
    var parseMs: Double
    var replayRunsMs: [Double]
    var replayObservedMs: Double
    var replayDocMemoryBytes: Int
    var fullStateBytes: Int
    var fullStateSha256: String
    var updateCount: Int
    var updateStreamBytes: Int
    var updateStreamSha256: String
    var loadRunsMs: [Double]
    var encodeRunsMs: [Double]
    var memoryBytes: Int
    var encodeMatchesFullState: Bool

    var replayMs: Double { median(replayRunsMs) }
    var loadMs: Double { median(loadRunsMs) }
    var encodeMs: Double { median(encodeRunsMs) }

    var json: JSON {
        .object([
            ("trace", .string(trace)),
            ("patches", .int(patches)),
            ("replayMs", .double(replayMs)),
            ("fullStateBytes", .int(fullStateBytes)),
            ("fullStateSha256", .string(fullStateSha256)),
            ("updateStreamBytes", .int(updateStreamBytes)),
            ("updateStreamSha256", .string(updateStreamSha256)),
            ("loadMs", .double(loadMs)),
            ("encodeMs", .double(encodeMs)),
            ("memoryBytes", .int(memoryBytes)),
            ("memoryMethod", .string("mallinfo2: heap in use after minus before applying the full state to a fresh YDoc")),
            ("transactions", .int(transactions)),
            ("finalLength", .int(finalLength)),
            ("textName", .string(textName)),
            ("clientId", .uint(clientID)),
            ("updateCount", .int(updateCount)),
            ("replayObservedMs", .double(replayObservedMs)),
            ("replayDocMemoryBytes", .int(replayDocMemoryBytes)),
            ("encodeMatchesFullState", .bool(encodeMatchesFullState)),
            ("parseMs", .double(parseMs)),
            ("replayRunsMs", .array(replayRunsMs.map { .double($0) })),
            ("loadRunsMs", .array(loadRunsMs.map { .double($0) })),
            ("encodeRunsMs", .array(encodeRunsMs.map { .double($0) })),
        ])
    }
}

func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return .nan }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Milliseconds spent in `body`, with the monotonic `ContinuousClock`.
@inline(never)
func timeMs<R>(_ body: () throws -> R) rethrows -> (R, Double) {
    let clock = ContinuousClock()
    let start = clock.now
    let result = try body()
    let d = start.duration(to: clock.now)
    return (result, Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15)
}

/// Collects the v1 updates a document emits: their count, total size and SHA-256 of their concatenation.
/// The update stream of a replay, kept as bytes while timing and hashed afterwards.
final class UpdateStreamDigest {
    var bytes: [UInt8] = []
    var count = 0
    var hasher: SHA256 {
        var h = SHA256()
        h.update(bytes)
        return h
    }
}

enum TraceBenchmark {
    static func run(path: String, textName: String, clientID: ClientID, repeats: Int, loadRepeats: Int) throws -> TraceBenchResult {
        let (trace, parseMs) = try timeMs { () throws -> Trace in
            do throws(TraceError) {
                return try Trace.load(path: path)
            } catch {
                if case .io = error { throw CLIError(error.description) }  // already names the file
                throw CLIError("\(path): \(error)")
            }
        }

        // 1. Replay, timed (no observer), `repeats` times into fresh documents.
        var replayRuns: [Double] = []
        var replayDocMemory = 0
        for run in 0..<repeats {
            let heapBefore = Heap.bytesInUse()
            let doc = YDoc(clientID: clientID, gc: true)
            let (_, ms) = try timeMs { try replayOrFail(trace, into: doc, textName: textName) }
            if run == 0 { replayDocMemory = Heap.bytesInUse() - heapBefore }
            replayRuns.append(ms)
            try check(doc, textName: textName, trace: trace, what: "replayed text")
        }

        // 2. Replay once more with an update observer: the stream of v1 updates the transactions emit.
        let stream = UpdateStreamDigest()
        let doc = YDoc(clientID: clientID, gc: true)
        stream.bytes.reserveCapacity(1 << 20)
        doc.observeUpdate { event in
            stream.bytes.append(contentsOf: event.update)
            stream.count += 1
        }
        let (_, observedMs) = try timeMs { try replayOrFail(trace, into: doc, textName: textName) }
        try check(doc, textName: textName, trace: trace, what: "replayed text (observed)")

        // 3. Full state out of the replayed document.
        let fullState = doc.encodeStateAsUpdate()

        // 4. Load the full state into fresh documents; heap held by the first one.
        var loadRuns: [Double] = []
        var memory = 0
        var loaded: YDoc?
        for run in 0..<loadRepeats {
            let heapBefore = Heap.bytesInUse()
            let fresh = YDoc(clientID: clientID &+ 1, gc: true)
            let (_, ms) = try timeMs { try fresh.applyUpdate(fullState) }
            if run == 0 { memory = Heap.bytesInUse() - heapBefore }
            loadRuns.append(ms)
            if fresh.hasPending { throw CLIError("loading the full state left pending structs") }
            try check(fresh, textName: textName, trace: trace, what: "loaded text")
            loaded = fresh
        }

        // 5. Encode the full state out of a freshly loaded document.
        var encodeRuns: [Double] = []
        var reencoded: [UInt8] = []
        for _ in 0..<loadRepeats {
            let (bytes, ms) = timeMs { loaded!.encodeStateAsUpdate() }
            encodeRuns.append(ms)
            reencoded = bytes
        }

        return TraceBenchResult(
            trace: traceName(path), textName: textName, clientID: clientID,
            patches: trace.patches.count, transactions: trace.transactionCount,
            finalLength: trace.endContent.unicodeScalars.count, parseMs: parseMs,
            replayRunsMs: replayRuns, replayObservedMs: observedMs, replayDocMemoryBytes: replayDocMemory,
            fullStateBytes: fullState.count, fullStateSha256: SHA256.hex(fullState),
            updateCount: stream.count, updateStreamBytes: stream.hasher.byteCount,
            updateStreamSha256: stream.hasher.hexDigest(),
            loadRunsMs: loadRuns, encodeRunsMs: encodeRuns, memoryBytes: memory,
            encodeMatchesFullState: reencoded == fullState
        )
    }

    static func replayOrFail(_ trace: Trace, into doc: YDoc, textName: String) throws {
        do {
            try TraceReplay.replay(trace, into: doc, textName: textName)
        } catch {
            throw CLIError("replay failed: \(error)")
        }
    }

    static func check(_ doc: YDoc, textName: String, trace: Trace, what: String) throws {
        do {
            try TraceReplay.checkText(doc.getText(textName).string, equals: trace.endContent, what: what)
        } catch {
            throw CLIError("\(error)")
        }
    }

    /// "…/automerge-paper.json.gz" -> "automerge-paper".
    static func traceName(_ path: String) -> String {
        var name = String(path.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        for suffix in [".gz", ".json"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return name
    }
}
