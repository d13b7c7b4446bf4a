import CLISupport
import Foundation

/// A concurrent editing trace (`josephg/editing-traces`, kind "concurrent"): transactions by
/// several agents, each applying to the document after its `parents` (indices of earlier
/// transactions; none = the empty document, several = those branches merged first).
public struct ConcurrentTrace: Sendable {
    public struct Transaction: Sendable {
        public var parents: [Int]
        public var agent: Int
        public var patches: [TracePatch]
    }
    public var numAgents: Int
    public var endContent: String
    public var transactions: [Transaction]

    /// Reads a trace file: gzip (detected by its magic bytes) or plain JSON.
    public static func load(path: String) throws(TraceError) -> ConcurrentTrace {
        let raw = try FileBytes.read(path: path)
        let json = try Gzip.isGzip(raw) ? Gzip.decompress(raw) : raw
        do {
            let file = try JSONDecoder().decode(File.self, from: Data(json))
            let txns = file.txns.map { Transaction(parents: $0.parents, agent: $0.agent, patches: $0.patches) }
            for (i, t) in txns.enumerated() {
                guard t.agent >= 0, t.agent < file.numAgents else { throw TraceError.malformed("txns[\(i)]: agent \(t.agent) out of range") }
                guard t.parents.allSatisfy({ $0 >= 0 && $0 < i }) else { throw TraceError.malformed("txns[\(i)]: a parent is not an earlier transaction") }
            }
            return ConcurrentTrace(numAgents: file.numAgents, endContent: file.endContent, transactions: txns)
        } catch let e as TraceError {
            throw e
        } catch {
            throw .malformed("\(error)")
        }
    }

    /// For each transaction, its version: per agent, how many of that agent's transactions the
    /// document holds right after it (the parents' versions merged, plus itself). Throws when an
    /// agent's transactions do not form a chain (the replay needs that: one replica per agent).
    public func versions() throws(TraceError) -> [[Int]] {
        var out: [[Int]] = []
        out.reserveCapacity(transactions.count)
        var count = [Int](repeating: 0, count: numAgents)
        for (i, t) in transactions.enumerated() {
            var v = [Int](repeating: 0, count: numAgents)
            for p in t.parents { for a in 0..<numAgents where out[p][a] > v[a] { v[a] = out[p][a] } }
            guard v[t.agent] == count[t.agent] else {
                throw .malformed("txns[\(i)]: agent \(t.agent) branches from its own history")
            }
            count[t.agent] += 1
            v[t.agent] = count[t.agent]
            out.append(v)
        }
        return out
    }

    private struct File: Decodable {
        var numAgents: Int
        var endContent: String
        var txns: [Txn]
        struct Txn: Decodable {
            var parents: [Int]
            var agent: Int
            var patches: [TracePatch]
        }
    }
}
