import Foundation
import Testing
import TestSupport

/// Two stores edit while apart, exchange through `ycli sync --via-file`, are reopened from disk
/// and agree; the journal shows each update once. Runs the built ycli binary.
@Suite("Offline hand-over through ycli", .serialized)
struct OfflineHandoverTests {
    static var ycli: String? {
        if let p = TestEnvironment.environment("YCLI_BINARY"), !p.isEmpty { return p }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let c = dir.appendingPathComponent("ycli")
            if FileManager.default.isExecutableFile(atPath: c.path) { return c.path }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    @discardableResult
    func run(_ args: [String]) throws -> String {
        guard let binary = Self.ycli else { throw HarnessFailure("ycli binary not found (build with --build-tests, or set YCLI_BINARY)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw HarnessFailure("ycli \(args.joined(separator: " ")) failed (\(p.terminationStatus)): \(String(decoding: e, as: UTF8.self))")
        }
        return String(decoding: o, as: UTF8.self)
    }

    func json(_ args: [String]) throws -> [String: Any] {
        let text = try run(args + ["--json"])
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    @Test("edit apart, exchange a folder, reopen, agree; each update journaled once")
    func handover() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = dir.path("a.ystore"), b = dir.path("b.ystore"), folder = dir.path("usb")
        try run(["init", a, "--client-id", "11"])
        try run(["init", b, "--client-id", "22"])
        try run(["insert", a, "0", "hello from a. "])
        try run(["insert", b, "0", "b was here. "])
        #expect(try json(["status", a])["unsyncedChanges"] as? Int == 14)

        // a writes (no peer state vector yet: full state), b imports and writes what a lacks
        // (a's state vector is in the folder now), a imports it.
        try run(["sync", a, "--via-file", folder])
        let bSync = try json(["sync", b, "--via-file", folder])
        #expect((bSync["imported"] as? [Any])?.count == 1)
        let aSync = try json(["sync", a, "--via-file", folder])
        #expect((aSync["imported"] as? [Any])?.count == 1)
        // Both confirmed each other's changes through the state vector files.
        #expect(aSync["unsyncedChanges"] as? Int == 0)
        try run(["sync", b, "--via-file", folder])
        #expect(try json(["status", b])["unsyncedChanges"] as? Int == 0)

        // Reopened from disk, they agree.
        let textA = try run(["cat", a]), textB = try run(["cat", b])
        #expect(textA == textB)
        #expect(textA.contains("hello from a. ") && textA.contains("b was here. "))
        let svA = try json(["status", a])["stateVector"] as? [String: Int]
        let svB = try json(["status", b])["stateVector"] as? [String: Int]
        #expect(svA == svB && svA == ["11": 14, "22": 12])

        // Idempotent: syncing again imports nothing and journals nothing.
        let rowsA = try json(["status", a])["rows"] as? Int
        let again = try json(["sync", a, "--via-file", folder])
        #expect((again["imported"] as? [Any])?.count == 0)
        #expect(try json(["status", a])["rows"] as? Int == rowsA)
        // Each update once: a's journal = its own insert + b's update, one row each.
        let log = try JSONSerialization.jsonObject(with: Data(try run(["log", a, "--json"]).utf8)) as? [[String: Any]] ?? []
        #expect(log.count == 2, "\(log)")
        #expect(log.filter { ($0["origin"] as? String)?.hasPrefix("sync ") == true }.count == 1)

        // More edits apart, another round: only the difference travels.
        try run(["insert", a, "0", "A2 "])
        try run(["insert", b, "0", "B2 "])
        try run(["sync", a, "--via-file", folder])
        try run(["sync", b, "--via-file", folder])
        try run(["sync", a, "--via-file", folder])
        #expect(try run(["cat", a]) == (try run(["cat", b])))
        let log2 = try JSONSerialization.jsonObject(with: Data(try run(["log", b, "--json"]).utf8)) as? [[String: Any]] ?? []
        #expect(log2.count == 4, "\(log2)")
    }
}
