import Replica
import CRDT

/// Replays a concurrent editing trace with one `Replica` per agent (shared by the tests and
/// `ycli bench converge --trace`). Input: for every transaction, its agent, its version (per
/// agent, how many of that agent's transactions the document holds after it, parents merged)
/// and its patches (code points). Before a transaction, its agent's replica is given exactly the
/// other agents' transactions its parents include and it lacks (merged into one update): a full
/// session would also bring concurrent work the transaction did not see.
public enum ConcurrentTraceRun {
    public struct Step: Sendable {
        public var agent: Int
        public var version: [Int]
        /// (position, deleteCount, insert) in code points.
        public var patches: [(Int, Int, String)]
        public init(agent: Int, version: [Int], patches: [(Int, Int, String)]) {
            self.agent = agent
            self.version = version
            self.patches = patches
        }
    }

    public struct Result: Sendable {
        /// Times a replica was brought up to a transaction's parents.
        public var syncs = 0
        /// Bytes of the updates those syncs imported.
        public var syncBytes = 0
    }

    /// Root text edited: "text".
    public static func run(steps: [Step], agents: Int, replicas: [Replica]) async throws -> Result {
        var updates: [[[UInt8]]] = Array(repeating: [], count: agents)  // per agent, per transaction
        var have: [[Int]] = Array(repeating: Array(repeating: 0, count: agents), count: agents)
        var result = Result()
        for step in steps {
            let a = step.agent
            var need = step.version
            need[a] -= 1
            var missing: [[UInt8]] = []
            for b in 0..<agents where b != a && need[b] > have[a][b] {
                missing.append(contentsOf: updates[b][have[a][b]..<need[b]].filter { !$0.isEmpty })
                have[a][b] = need[b]
            }
            if !missing.isEmpty {
                let merged = missing.count == 1 ? missing[0] : try Updates.merge(missing)
                try await replicas[a].importUpdate(merged, origin: "trace sync")
                result.syncs += 1
                result.syncBytes += merged.count
            }
            let patches = step.patches
            let update = try await replicas[a].edit { doc in
                let text = doc.getText("text")
                for (pos, del, ins) in patches {
                    if del > 0 { try text.delete(atCodePoint: pos, count: del) }
                    if !ins.isEmpty { try text.insert(atCodePoint: pos, ins) }
                }
            }
            updates[a].append(update ?? [])
            have[a][a] += 1
        }
        return result
    }
}
