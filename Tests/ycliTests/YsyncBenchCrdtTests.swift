import Testing
import TestSupport

/// `ysync-bench crdt`: the crdt-benchmarks scenarios run, converge and draw the same inputs as
/// Benchmarks/crdt_workload.py (the Python peers' generator); timings are not checked.
@Suite("ysync-bench crdt")
struct BenchCrdtTests {
    @Test("every scenario runs at N = 100 with the expected content and counts")
    func allScenarios() async throws {
        let out = try await YsyncBench.ok(["crdt", "--n", "100", "--json"]).json()
        let results = try #require(out["results"]?.arrayValue)
        #expect(results.map { $0["id"]?.stringValue ?? "" } == [
            "B1.1", "B1.2", "B1.3", "B1.4", "B1.5", "B1.6", "B1.7",
            "B2.1", "B2.2", "B2.3", "B2.4", "B3.1", "B3.2", "B3.3", "B3.4",
        ])
        let clients = 20 * 10  // 20·⌊√100⌋
        #expect(out["b3Clients"]?.intValue == clients)
        for r in results {
            let id = r["id"]?.stringValue ?? "?"
            #expect((r["docBytes"]?.intValue ?? 0) > 0, "\(id)")
            switch id {
            case "B1.1", "B1.2", "B1.3", "B1.4": #expect(r["contentLength"]?.intValue == 100, "\(id)")
            case "B1.6": #expect(r["contentLength"]?.intValue == 0)
            case "B2.1", "B2.2": #expect(r["contentLength"]?.intValue == 300, "\(id)")
            case "B3.1", "B3.2", "B3.3", "B3.4": #expect(r["updates"]?.intValue == clients, "\(id)")
            default: break
            }
        }
    }

    @Test("inputs match Benchmarks/crdt_workload.py draw for draw (pinned SHA-256 of its expected texts)")
    func sameInputsAsPython() async throws {
        // python3 -c 'import crdt_workload as W, hashlib; print(hashlib.sha256(W.b1("B1.7", 100, 42)[1].encode()).hexdigest())'
        let out = try await YsyncBench.ok(["crdt", "--n", "100", "--seed", "42", "--json", "--only", "B1.4", "B1.7"]).json()
        let sha = (out["results"]?.arrayValue ?? []).map { $0["contentSha256"]?.stringValue ?? "" }
        #expect(sha == ["ff3f388788c88771357bcba21466c7271294e5736b9b3ec940d59f8ce170fc03",
                        "2c43b0de76844276f4d26804e5bcb759c4baf7e851fb5aafce86a571b408e800"])
    }

    @Test("bad input is refused with a clear message")
    func badInput() async throws {
        let unknown = try await YsyncBench.run(["crdt", "--only", "B9.9"])
        #expect(!unknown.ok)
        #expect(unknown.err.contains("unknown scenario B9.9"))
        let noTrace = try await YsyncBench.run(["crdt", "--only", "B4x"])
        #expect(!noTrace.ok)
        #expect(noTrace.err.contains("B4x needs --trace"))
    }
}
