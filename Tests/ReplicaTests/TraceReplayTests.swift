import CRDT
import Foundation
import Replica
import Sync
import Testing
import TestSupport
import TraceKit

/// The real concurrent traces (`Benchmarks/traces/concurrent/`), one replica per agent.
///
/// A transaction applies to the state after its parents. Before it, its agent's replica is
/// brought to exactly that state: it is sent the updates of the transactions it lacks (those of
/// other agents below the parents' version), merged into one update, and imports them (journaled
/// like any remote update). A full session would not do here: it would also bring concurrent work
/// the transaction did not see, and the trace's positions would then point elsewhere. At the end
/// the replicas are connected in a star over in-memory sessions and must all converge to
/// `endContent`.
@Suite("Concurrent traces", .serialized, .ownThread)
struct TraceReplayTests {
    @Test("replay ends with endContent on every replica", arguments: ["friendsforever", "clownschool"])
    func replay(name: String) async throws {
        // A missing trace file is this test's failure (RepoData.MissingFile names it), not a crash.
        let trace = try ConcurrentTrace.load(path: try RepoData.trace("concurrent/\(name).json.gz"))
        let dir = TempDir()
        let replicas = try (0..<trace.numAgents).map {
            try Replica(path: dir.file("agent\($0).ystore"), create: true, clientID: ClientID($0 + 1),
                        journal: fastJournal(), options: ReplicaOptions(confirmations: false))
        }
        let result = try await ConcurrentTraceRun.run(trace, replicas: replicas)
        #expect(result.syncs > 0)
        // Final: a star over in-memory sessions.
        for i in 1..<replicas.count { _ = await connectPair(replicas[0], replicas[i], profile: .perfect) }
        let problem = await waitForConvergence(replicas, timeout: 60)
        #expect(problem == nil, "\(name): \(problem ?? "")")
        for (i, r) in replicas.enumerated() {
            let text = await r.read { $0.getText("text").string }
            #expect(text == trace.endContent, "\(name): agent \(i) differs from endContent")
            await r.close()
        }
    }
}

extension ConcurrentTraceRun {
    static func run(_ trace: ConcurrentTrace, replicas: [Replica]) async throws -> Result {
        let versions = try trace.versions()
        let steps = trace.transactions.enumerated().map { i, t in
            Step(agent: t.agent, version: versions[i], patches: t.patches.map { ($0.position, $0.deleteCount, $0.insert) })
        }
        return try await run(steps: steps, agents: trace.numAgents, replicas: replicas)
    }
}
