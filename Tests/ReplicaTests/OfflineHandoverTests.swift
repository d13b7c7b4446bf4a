import Foundation
import Testing
import TestSupport

/// Two stores edit while apart, exchange through `ycli sync --via-file`, are reopened from disk
/// and agree; the journal shows each update once. Runs the built ycli binary.
@Suite("Offline hand-over through ycli", .serialized)
struct OfflineHandoverTests {
    @discardableResult
    func run(_ args: [String]) async throws -> String {
        try await Ycli.ok(args).out
    }

    func json(_ args: [String]) async throws -> [String: Any] {
        let text = try await run(args + ["--json"])
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    @Test("edit apart, exchange a folder, reopen, agree; each update journaled once")
    func handover() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = dir.file("a.ystore"), b = dir.file("b.ystore"), folder = dir.file("usb")
        try await run(["init", a, "--client-id", "11"])
        try await run(["init", b, "--client-id", "22"])
        try await run(["insert", a, "0", "hello from a. "])
        try await run(["insert", b, "0", "b was here. "])
        #expect(try await json(["status", a])["unsyncedChanges"] as? Int == 14)

        // a writes (no peer state vector yet: full state), b imports and writes what a lacks
        // (a's state vector is in the folder now), a imports it.
        try await run(["sync", a, "--via-file", folder])
        let bSync = try await json(["sync", b, "--via-file", folder])
        #expect((bSync["imported"] as? [Any])?.count == 1)
        let aSync = try await json(["sync", a, "--via-file", folder])
        #expect((aSync["imported"] as? [Any])?.count == 1)
        // Both confirmed each other's changes through the state vector files.
        #expect(aSync["unsyncedChanges"] as? Int == 0)
        try await run(["sync", b, "--via-file", folder])
        #expect(try await json(["status", b])["unsyncedChanges"] as? Int == 0)

        // Reopened from disk, they agree.
        let textA = try await run(["cat", a]), textB = try await run(["cat", b])
        #expect(textA == textB)
        #expect(textA.contains("hello from a. ") && textA.contains("b was here. "))
        let svA = try await json(["status", a])["stateVector"] as? [String: Int]
        let svB = try await json(["status", b])["stateVector"] as? [String: Int]
        #expect(svA == svB && svA == ["11": 14, "22": 12])

        // Idempotent: syncing again imports nothing and journals nothing.
        let rowsA = try await json(["status", a])["rows"] as? Int
        let again = try await json(["sync", a, "--via-file", folder])
        #expect((again["imported"] as? [Any])?.count == 0)
        #expect(try await json(["status", a])["rows"] as? Int == rowsA)
        // Each update once: a's journal = its own insert + b's update, one row each.
        let log = try JSONSerialization.jsonObject(with: Data(try await run(["log", a, "--json"]).utf8)) as? [[String: Any]] ?? []
        #expect(log.count == 2, "\(log)")
        #expect(log.filter { ($0["origin"] as? String)?.hasPrefix("sync ") == true }.count == 1)

        // More edits apart, another round: only the difference travels.
        try await run(["insert", a, "0", "A2 "])
        try await run(["insert", b, "0", "B2 "])
        try await run(["sync", a, "--via-file", folder])
        try await run(["sync", b, "--via-file", folder])
        try await run(["sync", a, "--via-file", folder])
        #expect(try await run(["cat", a]) == (try await run(["cat", b])))
        let log2 = try JSONSerialization.jsonObject(with: Data(try await run(["log", b, "--json"]).utf8)) as? [[String: Any]] ?? []
        #expect(log2.count == 4, "\(log2)")
    }
}
