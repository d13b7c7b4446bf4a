import CRDT
import Foundation
import Testing
import TestSupport

/// Each loaded room holds 4 descriptors (SQLite database, WAL, shared memory, lock): with
/// `RLIMIT_NOFILE` spent the server accepts nothing, `/healthz` neither. `ycli serve` under
/// `ulimit -n 256` (a child process: the limit is its own) derives its room limit from it.
@Suite("Server descriptor budget (child process)", .serialized)
struct ServerDescriptorTests {
    /// `ycli serve` started by a shell that lowered its descriptor limit first.
    static func serve(ulimit: Int, data: String) async throws -> (ChildProcess, Int) {
        let p = try ChildProcess(executable: "/bin/sh",
                                 arguments: ["-c", #"ulimit -n \#(ulimit) && exec "$0" serve --host 127.0.0.1 --port 0 --data "$1""#, try Ycli.path(), data],
                                 label: "ycli serve (ulimit -n \(ulimit))")
        let ready = try await p.nextJSON(timeout: 60)
        guard let port = ready["port"] as? Int, port > 0 else { throw TestFailure.failed("ycli serve said \(ready)") }
        return (p, port)
    }

    static func metric(_ port: Int, _ line: String) async throws -> Double {
        let text = try await httpRequest(port: port, "GET", "/metrics").text
        guard let found = text.split(separator: "\n").first(where: { $0.hasPrefix(line + " ") }) else { return 0 }
        return Double(found.split(separator: " ").last ?? "") ?? 0
    }

    static func update(_ text: String) throws -> Data {
        let doc = YDoc(clientID: 9)
        try doc.transact { try doc.getText("t").insert(at: 0, text) }
        return Data(doc.encodeStateAsUpdate())
    }

    @Test("under ulimit -n 256: 70 rooms written one after another (280 descriptors) all succeed, idle ones unloaded; when every room is held a new one is 503 / 1013 and /healthz still answers", .ownThread)
    func roomsWithinTheDescriptorLimit() async throws {
        let dir = TempDir("ysync-nofile")
        let (server, port) = try await Self.serve(ulimit: 256, data: dir.file("data"))
        defer { server.stop() }
        // 256 - 128 connections - 16 for /healthz - 64 reserved = 48 descriptors: 12 rooms.
        try await eventually("the start-up line", timeout: 10) { server.stderr.contains("and 12 loaded rooms") }
        var statuses: [Int: Int] = [:]
        for i in 0..<70 {
            let r = try await httpRequest(port: port, "POST", "/parties/main/r\(i)/update", body: try Self.update("r\(i)"), timeout: 30)
            statuses[r.status, default: 0] += 1
        }
        #expect(statuses == [200: 70])
        #expect(try await Self.metric(port, "ysync_rooms") <= 12)
        #expect(try await Self.metric(port, #"ysync_rooms_unloaded_total{reason="room_limit"}"#) >= 58)
        #expect(try await httpRequest(port: port, "GET", "/healthz").status == 200)
        // What went to disk on unload comes back.
        #expect(try await httpRequest(port: port, "GET", "/parties/main/r0/text?name=t").text == "r0")

        // 12 rooms held by a WebSocket each: nothing can be unloaded for a 13th.
        var holders: [RawWebSocket] = []
        for i in 0..<12 { holders.append(try await RawWebSocket(port: port, path: "/parties/main/held\(i)")) }
        try await eventually("12 rooms held", timeout: 30) {
            (try? await Self.metric(port, "ysync_connections")) == 12
        }
        let refused = try await httpRequest(port: port, "POST", "/parties/main/extra/update", body: try Self.update("x"))
        #expect(refused.status == 503)
        #expect(try (refused.json()["error"] as? String)?.contains("12 rooms are loaded and every one is in use") == true)
        let socket = try await RawWebSocket(port: port, path: "/parties/main/extra2")
        #expect(try await socket.drainUntilClose().closeCode == 1013)
        let health = try await httpRequest(port: port, "GET", "/healthz")
        #expect(health.status == 200)
        #expect(try await Self.metric(port, #"ysync_rooms_refused_total{reason="room_limit"}"#) == 2)
        print("descriptor budget: ulimit -n 256, 70 rooms written: \(statuses); with 12 held, a 13th: HTTP \(refused.status), WebSocket 1013; /healthz \(health.text)")
        _ = holders
    }
}
