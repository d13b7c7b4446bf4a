import Foundation
import ReplicaServer
import Replica
import RoomHost
import Testing
import TestSupport

/// HS256 room tokens: refused without, with a bad signature, expired, for another room; a
/// read-only token receives but cannot write.
@Suite("Server auth")
struct ServerAuthTests {
    static let secret = "test-secret-0123456789-abcdefghijklmnop"

    func token(rooms: [String], scope: Access = .write, ttl: Double = 600, secret: String = secret) async throws -> String {
        try await RoomAuthenticator.sign(RoomClaims(expires: Date().addingTimeInterval(ttl), rooms: rooms, scope: scope), secret: secret)
    }

    func refused(_ url: String, token: String?) async -> Bool {
        do {
            let t = try await WebSocketTransport.connect(url: url, token: token)
            await t.close()
            return false
        } catch {
            return true
        }
    }

    @Test("WebSocket and HTTP refuse missing, forged, expired and other-room tokens")
    func refusals() async throws {
        let server = try await TestServer.start { $0.jwtSecret = Self.secret }
        let url = server.url("private")
        #expect(await refused(url, token: nil))
        #expect(await refused(url, token: try await token(rooms: ["private"], secret: "another-secret-0123456789-abcdefghijkl")))
        #expect(await refused(url, token: try await token(rooms: ["private"], ttl: -60)))
        #expect(await refused(url, token: try await token(rooms: ["public"])))
        #expect(await refused(url, token: "not.a.jwt"))
        #expect(!(await refused(url, token: try await token(rooms: ["private"]))))
        #expect(!(await refused(url, token: try await token(rooms: ["*"]))))
        // A token in the query string works too (what browser clients can send).
        let q = try await token(rooms: ["private"])
        #expect(!(await refused(url + "?token=" + q, token: nil)))

        #expect(try await server.http("GET", "/parties/main/private").status == 401)
        let other = try await token(rooms: ["public"])
        #expect(try await server.http("GET", "/parties/main/private", headers: ["Authorization": "Bearer \(other)"]).status == 403)
        let reader = try await token(rooms: ["private"], scope: .read)
        #expect(try await server.http("GET", "/parties/main/private", headers: ["Authorization": "Bearer \(reader)"]).status == 200)
        #expect(try await server.http("POST", "/parties/main/private/update", body: Data([0, 0]),
                                      headers: ["Authorization": "Bearer \(reader)"]).status == 403)
        let metrics = try await server.http("GET", "/metrics").text
        #expect(metrics.contains(#"ysync_connections_refused_total{reason="auth"}"#))
        #expect(server.logs.all.contains { $0.contains("refused a connection to room private") })
        await server.stop()
    }

    @Test("a secret shorter than 32 bytes is refused at start-up")
    func weakSecret() async throws {
        await #expect(throws: ServerError.self) { _ = try await TestServer.start { $0.jwtSecret = "short" } }
    }

    @Test("a read-only connection receives updates; its own updates are refused")
    func readOnly() async throws {
        let server = try await TestServer.start { $0.jwtSecret = Self.secret }
        let writer = try await WSPeer.connect(server.url("ro"), token: try await token(rooms: ["ro"]))
        let reader = try await WSPeer.connect(server.url("ro"), token: try await token(rooms: ["ro"], scope: .read))
        try await eventually("synced") { await allSynced([writer, reader]) }
        try await writer.insert("written")
        try await eventually("reader receives") { await reader.text() == "written" }
        try await reader.insert(" by reader")
        // The server has refused it once the reader is told so; a relay to the writer, had there
        // been one, would be queued ahead of the answer to the writer's SyncStep1.
        try await eventually("the reader is told its update was refused") { await reader.authFrames > 0 }
        try await roundTrip(writer)
        #expect(await writer.text() == "written")
        let w = try await token(rooms: ["ro"])
        #expect(try await server.http("GET", "/parties/main/ro/text?name=t", headers: ["Authorization": "Bearer \(w)"]).text == "written")
        let metrics = try await server.http("GET", "/metrics").text
        #expect(metrics.contains(#"ysync_updates_refused_total{reason="read_only"} 1"#))
        await server.stop()
    }

    @Test("ycli sync with a read-only token and local changes fails at once, saying why")
    func readOnlySyncIsExplained() async throws {
        let server = try await TestServer.start { $0.jwtSecret = Self.secret }
        let pathDir = TempDir("ycli-readonly")
        let path = pathDir.file("s.ystore")
        try await Ycli.ok(["init", path])
        try await Ycli.ok(["insert", path, "0", "offline text"])
        let reader = try await token(rooms: ["ro-cli"], scope: .read)
        let r = try await Ycli.run(["sync", path, server.url("ro-cli"), "--token", reader, "--timeout", "20"], timeout: 30)
        #expect(r.status != 0)
        #expect(r.err.contains("the server refused our changes") && r.err.contains("read-only"), "\(r.err)")
        #expect(try await Ycli.ok(["cat", path]).out.contains("offline text"))
        await server.stop()
    }

    @Test("a refused upgrade reaches the client with the server's status and reason")
    func refusedUpgradeIsExplained() async throws {
        let server = try await TestServer.start { $0.jwtSecret = Self.secret }
        let dir = TempDir("ycli-refused")
        let path = dir.file("s.ystore")
        try await Ycli.ok(["init", path])
        // No token, then a token for another room: each fails at once, naming the HTTP answer.
        let none = try await Ycli.run(["sync", path, server.url("locked"), "--timeout", "20"], timeout: 30)
        #expect(none.status != 0)
        #expect(none.err.contains("refused the WebSocket upgrade: 401"), "\(none.err)")
        let other = try await token(rooms: ["elsewhere"], scope: .write)
        let wrong = try await Ycli.run(["sync", path, server.url("locked"), "--token", other, "--timeout", "20"], timeout: 30)
        #expect(wrong.status != 0)
        #expect(wrong.err.contains("refused the WebSocket upgrade: 403"), "\(wrong.err)")
        #expect(!wrong.err.contains("upgrade failed"), "\(wrong.err)")
        await server.stop()
    }
}
