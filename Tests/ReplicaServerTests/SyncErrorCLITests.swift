import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A TCP listener on 127.0.0.1 that never accepts: the kernel completes the handshake (backlog),
/// then nothing ever answers. Its port also shows what a busy port does.
private final class SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw TestFailure.failed("cannot listen: errno \(errno)") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}

/// What a user sees when the network is not as expected: every wait bounded and named, every
/// failure one sentence without library type names or errno text.
@Suite("ycli network errors", .serialized)
struct SyncErrorCLITests {
    /// One per test (Swift Testing makes a suite value per test): lives as long as the test.
    private let dir = TempDir("ycli-neterr")

    private func store() async throws -> String {
        let path = dir.file("s.ystore")
        try await Ycli.ok(["init", path])
        try await Ycli.ok(["insert", path, "0", "offline text"])
        return path
    }

    private func expectPlain(_ message: String) {
        for leak in ["errno", "SingleConnectionFailure", "NIOConnectionError", "IOError", "descriptor:"] {
            #expect(!message.contains(leak), "\(message)")
        }
    }

    @Test("a listener that never answers: --timeout 2 ends ycli by its own deadline, naming the connect step")
    func silentListener() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let path = try await store()
        let started = ContinuousClock.now
        let r = try await Ycli.run(["sync", path, "ws://127.0.0.1:\(listener.port)/parties/main/x", "--timeout", "2"], timeout: 30)
        // Its own deadline ended it (the message says so); the loose bound only shows it did not
        // run on to the 30 s kill (a wall-clock bound near 2 s would flake on a loaded machine).
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(r.status != 0)
        #expect(r.err.contains("timed out after 2 s while connecting"), "\(r.err)")
        // The store was released and kept its change.
        #expect(try await Ycli.ok(["cat", path]).out.contains("offline text"))
    }

    @Test("a closed port: one sentence saying the connection was refused")
    func closedPort() async throws {
        let listener = try SilentListener()
        let port = listener.port
        listener.close()
        let path = try await store()
        let r = try await Ycli.run(["sync", path, "ws://127.0.0.1:\(port)/parties/main/x", "--timeout", "5"], timeout: 30)
        #expect(r.status != 0)
        #expect(r.err.contains("cannot connect to ws://127.0.0.1:\(port)/parties/main/x: connection refused"), "\(r.err)")
        expectPlain(r.err)
    }

    @Test("ycli sync --watch while the server is down prints retrying events with the next delay")
    func watchRetries() async throws {
        let listener = try SilentListener()
        let port = listener.port
        listener.close()  // nothing listens there now
        let path = try await store()
        let watcher = try Ycli.start(["sync", path, "ws://127.0.0.1:\(port)/parties/main/x", "--watch"],
                                     label: "ycli sync --watch")
        defer { watcher.stop() }
        var retries: [[String: Any]] = []
        for _ in 0..<20 where retries.count < 2 {
            let e = try await watcher.nextJSON(timeout: 15)
            if e["event"] as? String == "retrying" { retries.append(e) }
        }
        #expect(retries.count == 2, "\(retries)")
        #expect(retries.map { $0["attempt"] as? Int } == [1, 2])
        #expect((retries.first?["inSeconds"] as? Double).map { $0 > 0 } == true)
        #expect((retries.first?["reason"] as? String)?.contains("connection refused") == true, "\(retries)")
    }

    @Test("ycli serve on a busy port names the address and says what to do")
    func busyPort() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let data = TempDir("ycli-busy")
        let r = try await Ycli.run(["serve", "--host", "127.0.0.1", "--port", "\(listener.port)", "--data", data.path,
                                          "--log-level", "error"], timeout: 30)
        #expect(r.status != 0)
        #expect(r.err.contains("cannot listen on 127.0.0.1:\(listener.port): the address is already in use"), "\(r.err)")
        expectPlain(r.err)
    }
}

/// A store larger than the server's message limit syncs in pieces, both ways.
@Suite("ycli sync of a large store", .serialized)
struct LargeStoreSyncCLITests {
    @Test("a store of ~600 KB syncs through a 64 KiB frame limit and reaches a fresh store and a fresh Yjs client; too big a message is explained")
    func syncsInPieces() async throws {
        let dir = TempDir("ycli-large")
        let a = dir.file("a.ystore"), fresh = dir.file("fresh.ystore")
        try await Ycli.ok(["init", a])
        // Many lines of varied text (astral characters included), one edit: one large item.
        var text = ""
        for i in 0..<12_000 { text += "line \(i): the quick brown fox 😀 jumps\n" }
        let file = dir.file("text.txt")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        try await Ycli.ok(["write", a, file])

        let (server, port) = try await Ycli.serve(["--data", dir.file("server"), "--max-frame-bytes", "65536"])
        defer { server.stop() }
        let url = "ws://127.0.0.1:\(port)/parties/main/big"
        // The default of 1 MiB is over this server's limit: refused, and said so.
        let refused = try await Ycli.run(["sync", a, url, "--timeout", "20"])
        #expect(refused.status != 0)
        #expect(refused.err.contains("1009 message too big"), "\(refused.err)")
        #expect(refused.err.contains("--max-message-bytes"), "\(refused.err)")

        let synced = try await Ycli.ok(["sync", a, url, "--max-message-bytes", "60000", "--json", "--timeout", "60"])
        #expect(synced.out.contains("\"acknowledged\":true"), "\(synced.out)")
        #expect(synced.out.contains("\"unsyncedChanges\":0"), "\(synced.out)")
        let served = try await httpRequest(port: port, "GET", "/parties/main/big/text").text
        #expect(served == text)
        // The server sends it back in pieces under its own limit.
        try await Ycli.ok(["init", fresh])
        try await Ycli.ok(["sync", fresh, url, "--timeout", "60"])
        #expect(try await Ycli.ok(["cat", fresh]).out == text)

        // A fresh real Yjs client (y-websocket provider) gets all of it too, and its edit comes back.
        let yjs = try ChildProcess.yjsPeer(["ws://127.0.0.1:\(port)/parties/main", "big", "--client-id", "4242"], label: "yjs client")
        defer { yjs.stop() }
        #expect(try await yjs.nextJSON()["ready"] as? Bool == true)
        let length = try await yjs.command("wait-length codemirror \(text.utf16.count) 30")
        #expect(length["ok"] as? Bool == true, "yjs client: \(length)")
        #expect(try await yjs.command("text codemirror")["text"] as? String == text)
        #expect(try await yjs.command("insert codemirror 0 \(quoted("from yjs\n"))")["ok"] as? Bool == true)
        #expect(try await yjs.command("quit")["bye"] as? Bool == true)
        try await eventually("the server has the Yjs edit") {
            try await httpRequest(port: port, "GET", "/parties/main/big/text").text == "from yjs\n" + text
        }
        try await Ycli.ok(["sync", fresh, url, "--timeout", "60"])
        #expect(try await Ycli.ok(["cat", fresh]).out == "from yjs\n" + text)
    }
}
