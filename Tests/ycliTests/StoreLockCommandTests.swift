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
    func secondWriterNamesTheHolder() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.file("notes.ystore")
        try Ycli.ok(["init", store, "--client-id", "5"])
        try Ycli.ok(["insert", store, "0", "hello"])
        guard let binary = Ycli.binary else { throw YcliError.binaryMissing("ycli not built") }

        // A watcher whose server never answers (port 1): it holds the store and keeps redialling.
        let watch = Process()
        watch.executableURL = URL(fileURLWithPath: binary)
        watch.arguments = ["sync", store, "ws://127.0.0.1:1/parties/main/r", "--watch"]
        let out = Pipe()
        watch.standardOutput = out
        watch.standardError = FileHandle.nullDevice
        try watch.run()
        defer { if watch.isRunning { kill(watch.processIdentifier, SIGKILL); watch.waitUntilExit() } }
        // "watching" is printed once the store is open (and locked).
        var seen = ""
        while !seen.contains("\"watching\"") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        #expect(seen.contains("\"watching\""), "\(seen)")

        let pid = watch.processIdentifier
        let insert = try Ycli.run(["insert", store, "0", "x"])
        #expect(!insert.ok)
        #expect(insert.err.contains(
            "store \(store) is in use by process \(pid) (ycli sync \(store) ws://127.0.0.1:1/parties/main/r --watch); close it or wait"),
            "\(insert)")
        let note = try Ycli.run(["version", store, "v1"])
        #expect(!note.ok && note.err.contains("in use by process \(pid)"), "\(note)")

        // Readers take no lock.
        #expect(try Ycli.ok(["cat", store]).out == "hello")
        try Ycli.ok(["status", store])
        try Ycli.ok(["journal", "check", store])

        kill(pid, SIGKILL)
        watch.waitUntilExit()
        try Ycli.ok(["insert", store, "5", "!"])
        #expect(try Ycli.ok(["cat", store]).out == "hello!")
    }
}
