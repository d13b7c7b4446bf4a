import CRDT
import Foundation
import Replica
import ReplicaServer
import Testing
import TestSupport

/// Real clients and servers that are not ours: pycrdt-websocket 0.16.5 (yrs) from PyPI.
@Suite("pycrdt-websocket interop", .serialized)
struct PycrdtWebsocketInteropTests {
    @Test("pycrdt-websocket clients and a Swift client edit one room of our server; awareness shows in GET users")
    func pythonClientsAgainstOurServer() async throws {
        let server = try await TestServer.start()
        let base = "ws://127.0.0.1:\(server.port)/parties/main"
        let pyA = try ChildProcess.pythonPeer("pyws_client.py", [base, "mixed", "--client-id", "1001"], label: "pyws_client A")
        let pyB = try ChildProcess.pythonPeer("pyws_client.py", [base, "mixed", "--client-id", "1002"], label: "pyws_client B")
        defer {
            pyA.stop()
            pyB.stop()
        }
        #expect(try await pyA.nextJSON()["ready"] as? Bool == true)
        #expect(try await pyB.nextJSON()["ready"] as? Bool == true)
        let swift = try await WSPeer.connect(server.url("mixed"), clientID: 2001)
        try await eventually("swift synced") { await swift.isSynced }

        try await pyA.command("insert t 0 \(quoted("from python. "))")
        try await eventually("swift sees python") { await swift.text() == "from python. " }
        try await swift.insert("from swift.")
        let waited = try await pyB.command("wait-text t \(quoted("from python. from swift.")) 10")
        #expect(waited["ok"] as? Bool == true, "pycrdt client B: \(waited)")
        let waitedA = try await pyA.command("wait-text t \(quoted("from python. from swift.")) 10")
        #expect(waitedA["ok"] as? Bool == true, "pycrdt client A: \(waitedA)")

        // Awareness from a pycrdt client reaches the HTTP users list.
        let aw = try await pyA.command(#"awareness {"user":{"name":"py-A"}}"#)
        #expect(aw["ok"] as? Bool == true)
        try await eventually("users lists py-A") {
            let users = try await server.http("GET", "/parties/main/mixed").json()["users"] as? [[String: Any]] ?? []
            return users.contains { $0["name"] as? String == "py-A" }
        }
        // Two Replicas (journaled clients) and the pycrdt clients see each other's presence.
        let dir = TempDir("ysync-pyws-presence")
        let r1 = try Replica(path: dir.file("one.ystore"), create: true, clientID: 3001)
        let r2 = try Replica(path: dir.file("two.ystore"), create: true, clientID: 3002)
        try await r1.setPresence(#"{"user":{"name":"swift-1"}}"#)
        try await r2.setPresence(#"{"user":{"name":"swift-2"}}"#)
        let url = server.url("mixed")
        await r1.connect(dial: { try await WebSocketTransport.connect(url: url) })
        await r2.connect(dial: { try await WebSocketTransport.connect(url: url) })
        try await eventually("the Replicas see py-A and each other") {
            let p1 = await r1.presence, p2 = await r2.presence
            return p1[1001]?.contains("py-A") == true && p1[3002]?.contains("swift-2") == true
                && p2[1001]?.contains("py-A") == true && p2[3001]?.contains("swift-1") == true
        }
        let seen = try await pyB.command("wait-peers 3 10")
        let states = seen["states"] as? [String: Any] ?? [:]
        #expect(seen["ok"] as? Bool == true && "\(states)".contains("swift-1") && "\(states)".contains("swift-2"),
                "pycrdt client B sees: \(seen)")
        await r1.close()
        await r2.close()

        // Full states agree byte for byte in content: load pycrdt's state into a YDoc.
        let state = try await pyB.command("state")
        let b64 = try #require(state["state"] as? String, "\(state)")
        let doc = YDoc(clientID: 9)
        try doc.applyUpdate(Array(try #require(Data(base64Encoded: b64))))
        #expect(doc.getText("t").string == "from python. from swift.")
        #expect(doc.stateVector == (await swift.stateVector()))

        _ = try await pyA.command("quit")
        // Its awareness state goes when it leaves.
        try await eventually("py-A gone from users") {
            let users = try await server.http("GET", "/parties/main/mixed").json()["users"] as? [[String: Any]] ?? []
            return !users.contains { $0["name"] as? String == "py-A" }
        }
        await server.stop()
    }

    @Test("our WebSocket client and ycli sync against pycrdt-websocket's own server")
    func ourClientAgainstPythonServer() async throws {
        let py = try ChildProcess.pythonPeer("pyws_server.py", ["--host", "127.0.0.1", "--port", "0"], label: "pyws_server")
        defer { py.stop() }
        let ready = try await py.nextJSON()
        let port = try #require(ready["port"] as? Int, "\(ready)")
        let url = "ws://127.0.0.1:\(port)/parties/main/foreign"

        // A Replica (journaled store) with our transport.
        let dir = TempDir("ysync-foreign")
        let replica = try Replica(path: dir.file("r.ystore"), create: true, clientID: 31)
        try await replica.edit { doc in try doc.getText("t").insert(at: 0, "swift replica. ") }
        await replica.connect(dial: { try await WebSocketTransport.connect(url: url) })
        try await eventually("python server has our edit") {
            let t = try await py.command("text parties/main/foreign t")
            return t["text"] as? String == "swift replica. "
        }
        _ = try await py.command("insert parties/main/foreign t 0 \(quoted("server side. "))")
        try await eventually("replica has the server's edit") {
            await replica.read { $0.getText("t").string } == "server side. swift replica. "
        }
        await replica.close()
        _ = try? await py.command("quit", timeout: 5)
    }
}
