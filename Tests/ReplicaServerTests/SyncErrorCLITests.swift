import Foundation
import Testing

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
    private func store() async throws -> String {
        let path = try makeTempDir("ycli-neterr") + "/s.ystore"
        try await YcliBinary.ok(["init", path])
        try await YcliBinary.ok(["insert", path, "0", "offline text"])
        return path
    }

    private func expectPlain(_ message: String) {
        for leak in ["errno", "SingleConnectionFailure", "NIOConnectionError", "IOError", "descriptor:"] {
            #expect(!message.contains(leak), "\(message)")
        }
    }

    @Test("a listener that never answers: --timeout 2 ends within 5 s naming the connect step")
    func silentListener() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let path = try await store()
        let started = ContinuousClock.now
        let r = try await YcliBinary.run(["sync", path, "ws://127.0.0.1:\(listener.port)/parties/main/x", "--timeout", "2"], timeout: 30)
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(r.status != 0)
        #expect(r.err.contains("timed out after 2 s while connecting"), "\(r.err)")
        // The store was released and kept its change.
        #expect(try await YcliBinary.ok(["cat", path]).out.contains("offline text"))
    }

    @Test("a closed port: one sentence saying the connection was refused")
    func closedPort() async throws {
        let listener = try SilentListener()
        let port = listener.port
        listener.close()
        let path = try await store()
        let r = try await YcliBinary.run(["sync", path, "ws://127.0.0.1:\(port)/parties/main/x", "--timeout", "5"], timeout: 30)
        #expect(r.status != 0)
        #expect(r.err.contains("cannot connect to ws://127.0.0.1:\(port)/parties/main/x: connection refused"), "\(r.err)")
        expectPlain(r.err)
    }

    @Test("ycli serve on a busy port names the address and says what to do")
    func busyPort() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let data = try makeTempDir("ycli-busy")
        let r = try await YcliBinary.run(["serve", "--host", "127.0.0.1", "--port", "\(listener.port)", "--data", data,
                                          "--log-level", "error"], timeout: 30)
        #expect(r.status != 0)
        #expect(r.err.contains("cannot listen on 127.0.0.1:\(listener.port): the address is already in use"), "\(r.err)")
        expectPlain(r.err)
    }
}
