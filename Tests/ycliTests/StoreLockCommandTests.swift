import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One writer per store, enforced by the journal: while `ycli sync --watch` holds a store,
/// another writer command fails at once with a sentence naming the holder; readers still work.
@Suite("ycli store lock", .serialized)
struct StoreLockCommandTests {
    @Test("a second writer fails at once naming the watching process; readers work; SIGKILL frees the store")
    func secondWriterNamesTheHolder() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("notes.ystore")
        try await Ycli.ok(["init", store, "--client-id", "5"])
        try await Ycli.ok(["insert", store, "0", "hello"])
        // A watcher whose server never answers (port 1): it holds the store and keeps redialling.
        let watch = try Ycli.start(["sync", store, "ws://127.0.0.1:1/parties/main/r", "--watch"], input: .none)
        defer { watch.stop() }
        // "watching" is printed once the store is open (and locked).
        var seen: [String] = []
        while !(seen.last ?? "").contains("\"watching\"") {
            seen.append(try await watch.nextLine())
        }

        let pid = watch.pid
        let insert = try await Ycli.run(["insert", store, "0", "x"])
        #expect(!insert.ok)
        #expect(insert.err.contains(
            "store \(store) is in use by process \(pid) (ycli sync \(store) ws://127.0.0.1:1/parties/main/r --watch); close it or wait"),
            "\(insert)")
        let note = try await Ycli.run(["version", store, "v1"])
        #expect(!note.ok && note.err.contains("in use by process \(pid)"), "\(note)")

        // Readers take no lock.
        #expect(try await Ycli.ok(["cat", store]).out == "hello")
        try await Ycli.ok(["status", store])
        try await Ycli.ok(["journal", "check", store])

        #expect(try await watch.signal(SIGKILL) == SIGKILL)
        try await Ycli.ok(["insert", store, "5", "!"])
        #expect(try await Ycli.ok(["cat", store]).out == "hello!")
    }
}
