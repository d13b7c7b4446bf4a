import Foundation
import ReplicaServer
import Replica
import RoomHost
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

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
        // A short life, so the test is short; on a loaded machine the token can expire before the
        // upgrade is read (401): then again with a longer life (bounded: 3, 6, 12, 24 s).
        var opened: RawSocket?
        for life in [3.0, 6, 12, 24] {
            let token = try await RoomAuthenticator.sign(
                RoomClaims(expires: Date().addingTimeInterval(life), rooms: ["exp"], scope: .write), secret: Self.secret)
            opened = try await rawUpgrade(port: server.port, path: "/parties/main/exp?token=\(token)")
            if opened?.text.hasPrefix("HTTP/1.1 101") == true { break }
        }
        let socket = try #require(opened)
        #expect(socket.text.hasPrefix("HTTP/1.1 101"), "\(socket.text)")
        try await socket.wait("a close frame", timeout: 40) { closeCode(in: $0.received) != nil || $0.closed }
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
