import Foundation
import ReplicaServer
import Replica
import RoomHost
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection to the test server driven byte by byte: non-blocking, every read bounded by
/// a deadline (polled with short async sleeps, so no cooperative thread is ever blocked).
private final class RawSocket: @unchecked Sendable {
    let fd: Int32
    private(set) var received: [UInt8] = []
    private(set) var closed = false

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure.failed("connect: errno \(errno)") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    /// Sends everything (a peer that stopped reading makes this fail after 10 s).
    func send(_ bytes: [UInt8]) async throws {
        var offset = 0
        let deadline = ContinuousClock.now + .seconds(10)
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            guard n < 0, errno == EAGAIN || errno == EWOULDBLOCK, ContinuousClock.now < deadline else {
                throw TestFailure.failed("send: errno \(errno)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Reads what is there; notes the end of the stream (EOF or reset).
    private func drain() {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !closed {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { received += chunk[0..<n] } else if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { closed = true } else { return }
        }
    }

    /// Waits until `condition` holds on what was received (and whether the server closed), or throws after `timeout`.
    func wait(_ what: String, timeout: Double = 10, _ condition: (RawSocket) -> Bool) async throws {
        try await eventually(what, timeout: timeout) {
            drain()
            return condition(self)
        }
    }

    /// Waits for the server to close the connection; returns everything it sent.
    func closedByServer(timeout: Double = 10) async throws -> [UInt8] {
        try await wait("server closes the connection", timeout: timeout) { $0.closed }
        return received
    }

    var text: String { String(decoding: received, as: UTF8.self) }
}

/// A WebSocket client frame: masked unless `masked` is false (RFC 6455 §5.2).
private func wsFrame(opcode: UInt8, fin: Bool = true, _ payload: [UInt8], masked: Bool = true) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | opcode]
    let maskBit: UInt8 = masked ? 0x80 : 0
    if payload.count < 126 {
        out.append(maskBit | UInt8(payload.count))
    } else if payload.count < 65536 {
        out += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    } else {
        out.append(maskBit | 127)
        out += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
    }
    guard masked else { return out + payload }
    let key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
    return out + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
}

/// The code of the first close frame in the server's (unmasked) frames after the HTTP head, if any.
private func closeCode(in bytes: [UInt8]) -> Int? {
    guard let headEnd = bytes.indices.first(where: { bytes[$0...].starts(with: [13, 10, 13, 10]) }) else { return nil }
    var i = headEnd + 4
    while i + 2 <= bytes.count {
        let opcode = bytes[i] & 0x0F
        var length = Int(bytes[i + 1] & 0x7F), start = i + 2
        if length == 126 {
            guard start + 2 <= bytes.count else { return nil }
            length = Int(bytes[start]) << 8 | Int(bytes[start + 1]); start += 2
        } else if length == 127 {
            guard start + 8 <= bytes.count else { return nil }
            length = bytes[start..<(start + 8)].reduce(0) { $0 << 8 | Int($1) }; start += 8
        }
        guard start + length <= bytes.count else { return nil }
        if opcode == 0x8 { return length >= 2 ? Int(bytes[start]) << 8 | Int(bytes[start + 1]) : 1005 }
        i = start + length
    }
    return nil
}

/// The HTTP/1.1 handshake of a WebSocket, by hand; returns the socket after the server's answer head.
private func rawUpgrade(port: Int, path: String, headers: String = "") async throws -> RawSocket {
    let socket = try RawSocket(port: port)
    try await socket.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(headers)\r\n")
    try await socket.wait("the upgrade answer") { $0.text.contains("\r\n\r\n") || $0.closed }
    return socket
}

/// The server's boundary against hostile HTTP and WebSocket clients: read deadlines, head sizes,
/// the connection limit, the close codes of RFC 6455, token expiry on open sockets, origins.
@Suite("Server boundary")
struct ServerBoundaryTests {
    static let secret = "test-secret-0123456789-abcdefghijklmnop"

    @Test("partial heads and bodies are answered 408 and closed after the timeout; /healthz answers meanwhile; no room is loaded")
    func readTimeouts() async throws {
        let server = try await TestServer.start {
            $0.headerTimeout = 1
            $0.bodyTimeout = 1
        }
        var partial: [RawSocket] = []
        for i in 0..<20 {
            let socket = try RawSocket(port: server.port)
            if i % 2 == 0 {
                try await socket.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            } else {
                try await socket.send("POST /parties/main/pending/update HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
            }
            partial.append(socket)
        }
        let health = try await server.http("GET", "/healthz")
        #expect(health.status == 200)
        for socket in partial {
            let answer = String(decoding: try await socket.closedByServer(), as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
        }
        #expect(try await server.http("GET", "/healthz").status == 200)
        // The route read the body before leasing the room: nothing of "pending" was ever opened.
        let rooms = (try? FileManager.default.contentsOfDirectory(atPath: server.dataDirectory + "/rooms")) ?? []
        #expect(!rooms.contains { $0.hasPrefix("pending") }, "\(rooms) \(server.logs.all.filter { $0.contains("pending") })")
        await server.stop()
    }

    @Test("a connection that never sends a byte is closed after the idle timeout")
    func idleTimeout() async throws {
        let server = try await TestServer.start { $0.httpIdleTimeout = 1 }
        let socket = try RawSocket(port: server.port)
        #expect(try await socket.closedByServer().isEmpty)
        await server.stop()
    }

    @Test("a 100 KB header is answered 431, a 100 KB URL 414, and both connections closed")
    func hugeHeads() async throws {
        let server = try await TestServer.start()
        let header = try RawSocket(port: server.port)
        try await header.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n")
        let url = try RawSocket(port: server.port)
        try await url.send("GET /healthz?\(String(repeating: "a", count: 100_000)) HTTP/1.1\r\nHost: x\r\n\r\n")
        let headerAnswer = String(decoding: try await header.closedByServer(), as: UTF8.self)
        let urlAnswer = String(decoding: try await url.closedByServer(), as: UTF8.self)
        #expect(headerAnswer.hasPrefix("HTTP/1.1 431"), "\(headerAnswer.prefix(200))")
        #expect(urlAnswer.hasPrefix("HTTP/1.1 414"), "\(urlAnswer.prefix(200))")
        #expect(try await server.http("GET", "/healthz").status == 200)
        await server.stop()
    }

    @Test("over --max-connections only /healthz is served (503 otherwise); past the reserve a connection is closed")
    func connectionLimit() async throws {
        let server = try await TestServer.start {
            $0.maxConnections = 3
            $0.healthReserve = 2
        }
        var held: [RawSocket] = []
        for _ in 0..<3 { held.append(try RawSocket(port: server.port)) }
        try await eventually("3 connections counted") { server.server.openConnections == 3 }
        let health = try RawSocket(port: server.port)
        try await health.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let healthAnswer = String(decoding: try await health.closedByServer(), as: UTF8.self)
        #expect(healthAnswer.hasPrefix("HTTP/1.1 200"), "\(healthAnswer)")
        #expect(healthAnswer.contains("\"connections\":4"), "\(healthAnswer)")
        let other = try RawSocket(port: server.port)
        try await other.send("GET /parties/main/r/text HTTP/1.1\r\nHost: x\r\n\r\n")
        let otherAnswer = String(decoding: try await other.closedByServer(), as: UTF8.self)
        #expect(otherAnswer.hasPrefix("HTTP/1.1 503"), "\(otherAnswer)")
        // 3 held + 2 in the reserve: the 6th is closed without an answer.
        try await eventually("back to 3 connections") { server.server.openConnections == 3 }
        held.append(try RawSocket(port: server.port))
        held.append(try RawSocket(port: server.port))
        try await eventually("5 connections counted") { server.server.openConnections == 5 }
        let past = try RawSocket(port: server.port)
        #expect(try await past.closedByServer().isEmpty)
        held.removeAll()
        try await eventually("the held connections are counted out") { server.server.openConnections == 0 }
        #expect(try await server.http("GET", "/parties/main/r/text").status == 200)
        await server.stop()
    }

    @Test("the HTTP body limit follows --max-frame-bytes (413 over it)")
    func bodyLimit() async throws {
        let server = try await TestServer.start { $0.limits.maxFrameBytes = 4096 }
        let big = try await server.http("POST", "/parties/main/b/update", body: Data(count: 5000))
        #expect(big.status == 413)
        await server.stop()
    }

    @Test("frame rules: unmasked 1002, bad UTF-8 1007, lone continuation 1002, fragmented oversize 1009", arguments: [
        ("unmasked", 1002), ("utf8", 1007), ("continuation", 1002), ("oversize", 1009),
    ])
    func frameRules(kind: String, expected: Int) async throws {
        let server = try await TestServer.start { $0.limits.maxFrameBytes = 4096 }
        let socket = try await rawUpgrade(port: server.port, path: "/parties/main/frames")
        #expect(socket.text.hasPrefix("HTTP/1.1 101"), "\(socket.text)")
        let frames: [UInt8] = switch kind {
        case "unmasked": wsFrame(opcode: 0x2, [0, 0, 1, 0], masked: false)
        case "utf8": wsFrame(opcode: 0x1, [0x61, 0xFF, 0xFE, 0x62])
        case "continuation": wsFrame(opcode: 0x0, [0, 0, 1, 0])
        default: wsFrame(opcode: 0x2, fin: false, [UInt8](repeating: 7, count: 3000)) + wsFrame(opcode: 0x0, [UInt8](repeating: 7, count: 3000))
        }
        try await socket.send(frames)
        try await socket.wait("a close frame") { closeCode(in: $0.received) != nil || $0.closed }
        #expect(closeCode(in: socket.received) == expected)
        #expect(try await server.http("GET", "/healthz").status == 200)
        await server.stop()
    }

    @Test("shutdown closes WebSockets with 1001 going away")
    func shutdownGoingAway() async throws {
        let server = try await TestServer.start()
        let socket = try await rawUpgrade(port: server.port, path: "/parties/main/bye")
        #expect(socket.text.hasPrefix("HTTP/1.1 101"))
        // Joined: the server's SyncStep1 arrived.
        try await socket.wait("the server's first frame") { socket in
            guard let head = socket.text.range(of: "\r\n\r\n") else { return false }
            return !socket.text[head.upperBound...].isEmpty
        }
        let stopped = Task { await server.server.shutdown() }
        try await socket.wait("a close frame") { closeCode(in: $0.received) != nil || $0.closed }
        #expect(closeCode(in: socket.received) == 1001)
        await stopped.value
        await server.stop()
    }

    @Test("an open connection is closed with 4401 when its token expires")
    func tokenExpiry() async throws {
        let server = try await TestServer.start { $0.jwtSecret = Self.secret }
        let token = try await RoomAuthenticator.sign(
            RoomClaims(expires: Date().addingTimeInterval(4), rooms: ["exp"], scope: .write), secret: Self.secret)
        let socket = try await rawUpgrade(port: server.port, path: "/parties/main/exp?token=\(token)")
        #expect(socket.text.hasPrefix("HTTP/1.1 101"), "\(socket.text)")
        try await socket.wait("a close frame", timeout: 15) { closeCode(in: $0.received) != nil || $0.closed }
        #expect(closeCode(in: socket.received) == 4401)
        #expect(server.logs.all.contains { $0.contains("4401") })
        await server.stop()
    }

    @Test("with --cors-origin a foreign Origin is refused (403) for POST and upgrade; no Origin and a listed one pass")
    func foreignOrigin() async throws {
        let server = try await TestServer.start { $0.corsOrigins = ["https://good.example"] }
        let update = Data([0, 0])
        let foreign = try await server.http("POST", "/parties/main/o/update", body: update, headers: ["Origin": "https://evil.example"])
        #expect(foreign.status == 403)
        #expect(try await server.http("POST", "/parties/main/o/update", body: update).status == 200)
        #expect(try await server.http("POST", "/parties/main/o/update", body: update, headers: ["Origin": "https://good.example"]).status == 200)
        let refused = try await rawUpgrade(port: server.port, path: "/parties/main/o", headers: "Origin: https://evil.example\r\n")
        #expect(refused.text.hasPrefix("HTTP/1.1 403"), "\(refused.text)")
        let allowed = try await rawUpgrade(port: server.port, path: "/parties/main/o", headers: "Origin: https://good.example\r\n")
        #expect(allowed.text.hasPrefix("HTTP/1.1 101"), "\(allowed.text)")
        let plain = try await rawUpgrade(port: server.port, path: "/parties/main/o")
        #expect(plain.text.hasPrefix("HTTP/1.1 101"), "\(plain.text)")
        await server.stop()
    }

    @Test("a token whose header alg is not HS256, or whose nbf is ahead, is refused; a refused upgrade says 401")
    func algAndNotBefore() async throws {
        let server = try await TestServer.start { $0.jwtSecret = Self.secret }
        let good = try await RoomAuthenticator.sign(
            RoomClaims(expires: Date().addingTimeInterval(600), rooms: ["a"], scope: .write), secret: Self.secret)
        #expect(try await server.http("GET", "/parties/main/a/text?token=\(good)").status == 200)
        let parts = good.split(separator: ".").map(String.init)
        let none = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        let algNone = try await server.http("GET", "/parties/main/a/text?token=\(none).\(parts[1]).")
        #expect(algNone.status == 401)
        #expect(algNone.text.contains("alg"), "\(algNone.text)")
        let early = try await RoomAuthenticator.sign(
            RoomClaims(expires: Date().addingTimeInterval(600), rooms: ["a"], scope: .write, notBefore: Date().addingTimeInterval(300)),
            secret: Self.secret)
        let notYet = try await server.http("GET", "/parties/main/a/text?token=\(early)")
        #expect(notYet.status == 401)
        #expect(notYet.text.contains("not valid yet"), "\(notYet.text)")
        let upgrade = try await rawUpgrade(port: server.port, path: "/parties/main/a?token=\(early)")
        #expect(upgrade.text.hasPrefix("HTTP/1.1 401"), "\(upgrade.text)")
        #expect(upgrade.text.contains("not valid yet"), "\(upgrade.text)")
        await server.stop()
    }
}
