import CLISupport
import CRDT
import TraceKit

/// The figures of one crdt-benchmarks scenario, as crdt-benchmarks defines them: `time` (the edits,
/// or for B2/B3 the edits and the syncing), update sizes, `encodeTime`, `docSize`, `parseTime`
/// (load the encoded document into a fresh one) and `memUsed` (heap held by that loaded document).
struct CrdtScenarioResult {
    var id: String
    var title: String
    var timeMs: Double
    var updates: Int
    var updateBytes: Int
    /// crdt-benchmarks' per-scenario average: B1 bytes / ops, B2 bytes / 2, B3 all bytes.
    var avgUpdateBytes: Double
    var encodeMs: Double
    var docBytes: Int
    var docSha256: String
    var parseMs: Double
    var memoryBytes: Int
    /// SHA-256 of the final content rendered as text (see `CrdtScenarios.content`), for cross-peer checks.
    var contentSha256: String
    var contentLength: Int

    var json: JSON {
        .object([("id", .string(id)), ("title", .string(title)), ("timeMs", .double(timeMs)),
                 ("updates", .int(updates)), ("updateBytes", .int(updateBytes)),
                 ("avgUpdateBytes", .double(avgUpdateBytes)), ("encodeMs", .double(encodeMs)),
                 ("docBytes", .int(docBytes)), ("docSha256", .string(docSha256)), ("parseMs", .double(parseMs)),
                 ("memoryBytes", .int(memoryBytes)), ("contentSha256", .string(contentSha256)),
                 ("contentLength", .int(contentLength))])
    }
}

/// Local updates a document emits (remote applies are not counted, as crdt-benchmarks' mutex does).
/// The document's observer holds the log (strongly: the log may be dropped before the document).
final class LocalUpdates {
    var list: [[UInt8]] = []
    init(_ doc: YDoc) {
        doc.observeUpdate { [self] e in if e.isLocal { self.list.append(e.update) } }
    }
    func drain() -> [[UInt8]] { defer { list = [] }; return list }
}

enum CrdtScenarios {
    static let titles: [(String, String)] = [
        ("B1.1", "Append N characters"),
        ("B1.2", "Insert string of length N"),
        ("B1.3", "Prepend N characters"),
        ("B1.4", "Insert N characters at random positions"),
        ("B1.5", "Insert N words at random positions"),
        ("B1.6", "Insert string, then delete it"),
        ("B1.7", "Insert/Delete strings at random positions"),
        ("B2.1", "Concurrently insert string of length N at index 0"),
        ("B2.2", "Concurrently insert N characters at random positions"),
        ("B2.3", "Concurrently insert N words at random positions"),
        ("B2.4", "Concurrently insert & delete"),
        ("B3.1", "20√N clients concurrently set number in Map"),
        ("B3.2", "20√N clients concurrently set Object in Map"),
        ("B3.3", "20√N clients concurrently set String in Map"),
        ("B3.4", "20√N clients concurrently insert text in Array"),
    ]
    static var ids: [String] { titles.map(\.0) }

    static func run(_ id: String, n: Int, seed: UInt64) throws -> CrdtScenarioResult {
        let title = titles.first { $0.0 == id }?.1 ?? id
        switch id.prefix(3) {
        case "B1.": return try b1(id, title: title, n: n, seed: seed)
        case "B2.": return try b2(id, title: title, n: n, seed: seed)
        case "B3.": return try b3(id, title: title, n: n)
        default: throw CLIError("unknown scenario \(id) (known: \(ids.joined(separator: ", ")))")
        }
    }

    static func apply(_ op: TextOp, _ t: YText) throws {
        switch op {
        case let .insert(at, s): try t.insert(at: at, s)
        case let .delete(at, count): try t.delete(at: at, count: count)
        }
    }

    // MARK: B1: one client edits, the other applies its updates (untimed).

    static func b1(_ id: String, title: String, n: Int, seed: UInt64) throws -> CrdtScenarioResult {
        let (ops, expected) = CrdtWorkload.b1(id, n: n, seed: seed)
        let doc1 = YDoc(clientID: 1), doc2 = YDoc(clientID: 2)
        let log = LocalUpdates(doc1)
        let text = doc1.getText("text")
        let (_, ms) = try timeMs { for op in ops { try apply(op, text) } }
        let updates = log.drain()
        for u in updates { try doc2.applyUpdate(u) }
        let content = text.string
        guard content == expected, doc2.getText("text").string == expected else {
            throw CLIError("\(id): final text differs from the expected one")
        }
        return try finish(id, title: title, ms: ms, updates: updates, avg: Double(total(updates)) / Double(max(1, ops.count)),
                          doc: doc1, content: content) { $0.getText("text").string }
    }

    // MARK: B2: two clients, synced on 100 characters, each edits in one transaction, then they exchange.

    static func b2(_ id: String, title: String, n: Int, seed: UInt64) throws -> CrdtScenarioResult {
        let (ops1, ops2) = CrdtWorkload.b2(id, n: n, seed: seed)
        let doc1 = YDoc(clientID: 1), doc2 = YDoc(clientID: 2)
        let log1 = LocalUpdates(doc1), log2 = LocalUpdates(doc2)
        let t1 = doc1.getText("text"), t2 = doc2.getText("text")
        try t1.insert(at: 0, CrdtWorkload.b2InitialText(seed: seed))
        var sent = log1.drain()
        for u in sent { try doc2.applyUpdate(u) }
        let (_, ms) = try timeMs { () throws -> Void in
            try doc1.transact { for op in ops1 { try apply(op, t1) } }
            let u1 = log1.drain()
            for u in u1 { try doc2.applyUpdate(u) }
            try doc2.transact { for op in ops2 { try apply(op, t2) } }
            let u2 = log2.drain()
            for u in u2 { try doc1.applyUpdate(u) }
            sent += u1 + u2
        }
        let content = t1.string
        guard content == t2.string else { throw CLIError("\(id): the two clients did not converge") }
        return try finish(id, title: title, ms: ms, updates: sent, avg: Double(total(sent)) / 2,
                          doc: doc1, content: content) { $0.getText("text").string }
    }

    // MARK: B3: 20√N clients each make one change; client 1 applies all updates in one transaction (timed).

    static func b3(_ id: String, title: String, n: Int) throws -> CrdtScenarioResult {
        let clients = CrdtWorkload.b3Clients(n: n)
        var updates: [[UInt8]] = []
        var docs: [YDoc] = []
        for i in 0..<clients {
            let doc = YDoc(clientID: ClientID(i + 1))
            let log = LocalUpdates(doc)
            switch id {
            case "B3.1": doc.getMap("map").set("v", .integer(Int64(i)))
            case "B3.2": doc.getMap("map").set("v", .object([("name", .string(String(i))), ("address", .string("here"))]))
            case "B3.3": doc.getMap("map").set("v", .string(String(repeating: String(i), count: clients)))
            case "B3.4": try doc.getArray("array").insert(at: 0, [.string(String(i))])
            default: throw CLIError("unknown scenario \(id)")
            }
            updates += log.drain()
            docs.append(doc)
        }
        try docs[0].transact { for u in updates { try docs[0].applyUpdate(u) } }
        let (_, ms) = try timeMs { try docs[1].transact { for u in updates { try docs[1].applyUpdate(u) } } }
        let render = { (d: YDoc) in b3Content(id, d) }
        let content = render(docs[0])
        guard content == render(docs[1]) else { throw CLIError("\(id): clients 1 and 2 did not converge") }
        return try finish(id, title: title, ms: ms, updates: updates, avg: Double(total(updates)),
                          doc: docs[0], content: content, render: render)
    }

    /// Map value "v" or the array, as text: number, "name|address", string, or items joined by ",".
    static func b3Content(_ id: String, _ doc: YDoc) -> String {
        if id == "B3.4" {
            return doc.getArray("array").toArray().map { v -> String in
                if case let .any(.string(s)) = v { return s }
                return "?"
            }.joined(separator: ",")
        }
        guard case let .any(value)? = doc.getMap("map").get("v") else { return "<missing>" }
        switch value {
        case let .integer(x): return String(x)
        case let .float64(x): return String(Int64(x))
        case let .string(s): return s
        case let .object(fields):
            func field(_ k: String) -> String {
                if case let .string(s)? = fields.first(where: { $0.0 == k })?.1 { return s }
                return "?"
            }
            return field("name") + "|" + field("address")
        default: return "\(value)"
        }
    }

    // MARK: Common tail: encode, parse into a fresh document, memory.

    static func total(_ updates: [[UInt8]]) -> Int { updates.reduce(0) { $0 + $1.count } }

    static func finish(_ id: String, title: String, ms: Double, updates: [[UInt8]], avg: Double, doc: YDoc,
                       content: String, render: (YDoc) -> String) throws -> CrdtScenarioResult {
        let (state, encodeMs) = timeMs { doc.encodeStateAsUpdate() }
        let heapBefore = Heap.bytesInUse()
        let (loaded, parseMs) = try timeMs { () throws -> YDoc in
            let d = YDoc(clientID: 999_999)
            try d.applyUpdate(state)
            return d
        }
        let memory = Heap.bytesInUse() - heapBefore
        guard render(loaded) == content else { throw CLIError("\(id): the loaded document differs from the original") }
        return CrdtScenarioResult(
            id: id, title: title, timeMs: ms, updates: updates.count, updateBytes: total(updates),
            avgUpdateBytes: avg, encodeMs: encodeMs, docBytes: state.count, docSha256: SHA256.hex(state),
            parseMs: parseMs, memoryBytes: memory, contentSha256: SHA256.hex(Array(content.utf8)),
            contentLength: content.utf8.count)
    }
}
