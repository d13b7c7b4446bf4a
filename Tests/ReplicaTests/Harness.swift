import CRDT
import Foundation
import Journal
import Replica
import Sync
import TestSupport

struct HarnessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Journal options for tests: no fsync per commit.
func fastJournal() -> JournalOptions {
    var o = JournalOptions()
    o.durability = .normal
    return o
}

/// Everything a replica shows of its document: root text "t", map "m", array "a" (nested types rendered).
func content(_ r: Replica) async -> String {
    await r.read { doc in
        "t=\(doc.getText("t").string.debugDescription) m=\((try? doc.getMap("m").toAny()) ?? .null) a=\((try? doc.getArray("a").toAny()) ?? .null)"
    }
}

/// One random change to Text/Map/Array, nested types included.
func randomEdit(_ doc: YDoc, _ g: inout SeededRandom) throws {
    let words = ["a", "bc", "déf", "🙂", "xyz ", "\n", "long word "]
    func editText(_ t: YText) throws {
        if t.length > 0 && g.chance(0.35) {
            let at = g.int(0..<t.length)
            try t.delete(at: at, count: min(t.length - at, g.int(1...4)))
        } else {
            try t.insert(atCodePoint: g.int(0...t.codePointCount), g.pick(words))
        }
    }
    func value() -> YAny {
        switch g.int(0..<4) {
        case 0: return .string(g.pick(words))
        case 1: return .integer(Int64(g.int(-1000...1000)))
        case 2: return .bool(g.chance(0.5))
        default: return .null
        }
    }
    func editArray(_ a: YArray, depth: Int) throws {
        let r = g.int(0..<10)
        if a.count > 0 && r < 3 {
            let at = g.int(0..<a.count)
            try a.delete(at: at, count: min(a.count - at, g.int(1...2)))
        } else if depth < 2 && r == 3 {
            let m = try a.insertMap(at: g.int(0...a.count))
            m.set("k", value())
        } else if depth < 2 && r == 4 {
            let t = try a.insertText(at: g.int(0...a.count))
            try t.insert(at: 0, g.pick(words))
        } else if a.count > 0 && r == 5, case .map(let m)? = a.get(g.int(0..<a.count)) {
            try editMap(m, depth: depth + 1)
        } else if a.count > 0 && r == 6, case .text(let t)? = a.get(g.int(0..<a.count)) {
            try editText(t)
        } else {
            try a.insert(at: g.int(0...a.count), [value()])
        }
    }
    func editMap(_ m: YMap, depth: Int) throws {
        let key = "k\(g.int(0..<6))"
        let r = g.int(0..<10)
        if r < 2 {
            m.delete(key)
        } else if depth < 2 && r == 2 {
            m.setText(key).insertIgnoringErrors(g.pick(words))
        } else if depth < 2 && r == 3 {
            m.setArray(key).push([value()])
        } else if r == 4, case .text(let t)? = m.get(key) {
            try editText(t)
        } else if r == 5, case .array(let a)? = m.get(key) {
            try editArray(a, depth: depth + 1)
        } else {
            m.set(key, value())
        }
    }
    let n = g.int(1...3)
    for _ in 0..<n {
        switch g.int(0..<3) {
        case 0: try editText(doc.getText("t"))
        case 1: try editMap(doc.getMap("m"), depth: 0)
        default: try editArray(doc.getArray("a"), depth: 0)
        }
    }
}

extension YText {
    func insertIgnoringErrors(_ s: String) { try? insert(at: 0, s) }
}

/// A connection between two replicas over an in-memory network.
struct Edge {
    let a: Int, b: Int
    var network: InMemoryNetwork
    var sessions: (SessionID, SessionID)
}

func connectPair(_ ra: Replica, _ rb: Replica, profile: FaultProfile) async -> (InMemoryNetwork, SessionID, SessionID) {
    let (ta, tb, net) = InMemoryNetwork.pair(profile: profile, clock: .realTime)
    let sa = await ra.connect(ta)
    let sb = await rb.connect(tb)
    return (net, sa, sb)
}

/// Waits until every replica has the same state vector, no pending structs, the same content.
/// Returns nil on success, else what still differs after `timeout` seconds.
func waitForConvergence(_ replicas: [Replica], timeout: Double = 60) async -> String? {
    var last = ""
    let converged = await eventually(timeout: timeout) {
        var svs: [StateVector] = []
        var pending = false
        for r in replicas {
            svs.append(await r.stateVector)
            if await r.hasPending { pending = true }
        }
        if !pending && svs.allSatisfy({ $0 == svs[0] }) {
            var contents: [String] = []
            for r in replicas { contents.append(await content(r)) }
            if contents.allSatisfy({ $0 == contents[0] }) { return true }
            last = "same state vectors, different content:\n" + contents.enumerated().map { "  #\($0.offset): \($0.element.prefix(300))" }.joined(separator: "\n")
        } else {
            last = "state vectors differ (pending: \(pending)):\n" + svs.enumerated().map { "  #\($0.offset): \($0.element.sortedDescending.map { "\($0.client):\($0.clock)" }.joined(separator: " "))" }.joined(separator: "\n")
        }
        return false
    }
    return converged ? nil : last
}

/// A barrier for replicas linked only to each other over perfect links (no loss, no duplicates):
/// waits until every frame any of them sent has been received and processed by another (the
/// totals of `framesSent` and `framesReceived` agree) and, with `acknowledged`, every change is
/// acknowledged (`unsyncedChanges == 0`: the peer's confirmation arrived, and with the frame
/// totals its answer too). An outcome, not a quiet period: counters read afterwards are final
/// for what was done before. True when reached within `timeout` seconds.
func waitForDelivery(_ replicas: [Replica], acknowledged: Bool = true, timeout: Double = 60) async -> Bool {
    // Replicas are read one after another, so one reading can be skewed: two equal ones count.
    func reading() async -> [ReplicaStats]? {
        var all: [ReplicaStats] = []
        for r in replicas {
            if acknowledged, await r.unsyncedChanges > 0 { return nil }
            all.append(await r.stats)
        }
        let sent = all.reduce(0) { $0 + $1.framesSent }, received = all.reduce(0) { $0 + $1.framesReceived }
        return sent == received ? all : nil
    }
    return await eventually(timeout: timeout) {
        guard let first = await reading() else { return false }
        return await reading() == first
    }
}
