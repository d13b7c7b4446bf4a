import CRDT
import Foundation
import ReplicaServer
import Sync
import Testing
import TestSupport

/// The seed's HTTP API and ours, over real HTTP on 127.0.0.1.
@Suite("Server HTTP API")
struct ServerHTTPTests {
    @Test("GET /parties/main/ROOM lists the users from the connected clients' awareness")
    func usersFromAwareness() async throws {
        let server = try await TestServer.start()
        let a = try await WSPeer.connect(server.url("team"), clientID: 501)
        let b = try await WSPeer.connect(server.url("team"), clientID: 502)
        try await eventually("synced") { await allSynced([a, b]) }
        try await a.sendAwareness(client: 501, clock: 1, json: ##"{"user":{"name":"Ada","color":"#f00"}}"##)
        try await eventually("b sees a's presence") { await !b.awarenessMessages.isEmpty }
        let r = try await server.http("GET", "/parties/main/team")
        #expect(r.status == 200)
        #expect(r.header("Content-Type")?.hasPrefix("application/json") == true)
        let json = try r.json()
        let users = try #require(json["users"] as? [[String: Any]])
        #expect(users.count == 1)
        #expect(users.first?["name"] as? String == "Ada")
        #expect(json["connections"] as? Int == 2)
        // When a leaves, its state goes with it.
        await a.close()
        try await eventually("a's state removed") {
            let j = try await server.http("GET", "/parties/main/team").json()
            return (j["users"] as? [Any])?.isEmpty == true
        }
        await server.stop()
    }

    @Test("POST /parties/main/ROOM broadcasts a text frame to every connection and says how many got it")
    func postBroadcast() async throws {
        let server = try await TestServer.start()
        var peers: [WSPeer] = []
        for _ in 0..<3 {
            let p = try await WSPeer.connect(server.url("news"))
            await p.collectTexts()
            peers.append(p)
        }
        let other = try await WSPeer.connect(server.url("elsewhere"))
        await other.collectTexts()
        for p in peers { try await eventually("synced") { await allSynced([p]) } }
        let message = #"{"requestId":"r-1","body":"saved","name":"editor"}"#
        let r = try await server.http("POST", "/parties/main/news", body: Data(message.utf8), headers: ["Content-Type": "application/json"])
        #expect(r.status == 200)
        let answer = try r.json()
        #expect(answer["delivered"] as? Int == 3)
        #expect(answer["requestId"] as? String == "r-1")
        for p in peers { try await eventually("text frame arrives") { await p.receivedTexts() == [message] } }
        #expect(await other.receivedTexts().isEmpty)
        let bad = try await server.http("POST", "/parties/main/news", body: Data("not json".utf8))
        #expect(bad.status == 400)
        await server.stop()
    }

    @Test("CORS: default * on every answer; OPTIONS preflight; an allow-list echoes allowed origins only")
    func cors() async throws {
        let open = try await TestServer.start()
        let r = try await open.http("GET", "/parties/main/x", headers: ["Origin": "https://app.example"])
        #expect(r.header("Access-Control-Allow-Origin") == "*")
        let pre = try await open.http("OPTIONS", "/parties/main/x", headers: ["Origin": "https://app.example", "Access-Control-Request-Method": "POST"])
        #expect(pre.status == 204)
        #expect(pre.header("Access-Control-Allow-Origin") == "*")
        #expect(pre.header("Access-Control-Allow-Methods")?.contains("POST") == true)
        await open.stop()

        let listed = try await TestServer.start { $0.corsOrigins = ["https://good.example"] }
        let good = try await listed.http("GET", "/parties/main/x", headers: ["Origin": "https://good.example"])
        #expect(good.header("Access-Control-Allow-Origin") == "https://good.example")
        let evil = try await listed.http("GET", "/parties/main/x", headers: ["Origin": "https://evil.example"])
        #expect(evil.header("Access-Control-Allow-Origin") == nil)
        await listed.stop()
    }

    @Test("state (full and ?sv= diff), update, text, healthz, metrics")
    func stateUpdateText() async throws {
        let server = try await TestServer.start()
        let doc = YDoc(clientID: 77)
        var updates: [[UInt8]] = []
        doc.observeUpdate { updates.append($0.update) }
        try doc.transact { try doc.getText("codemirror").insert(at: 0, "from http") }
        let r = try await server.http("POST", "/parties/main/api/update", body: Data(updates[0]))
        #expect(r.status == 200)
        #expect(try r.json()["changed"] as? Bool == true)
        let again = try await server.http("POST", "/parties/main/api/update", body: Data(updates[0]))
        #expect(try again.json()["changed"] as? Bool == false)
        #expect(try await server.http("GET", "/parties/main/api/text").text == "from http")

        let full = try await server.http("GET", "/parties/main/api/state")
        let copy = YDoc(clientID: 78)
        try copy.applyUpdate(Array(full.body))
        #expect(copy.getText("codemirror").string == "from http")
        // With our state vector, the diff has no structs left.
        let sv = Data(copy.encodeStateVector()).base64EncodedString()
        let diff = try await server.http("GET", "/parties/main/api/state?sv=\(sv.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
        #expect(diff.status == 200)
        #expect(try UpdateDecoderV1.decode(Array(diff.body)).groups.allSatisfy { $0.structs.isEmpty })
        #expect(try await server.http("GET", "/parties/main/api/state?sv=%%%").status == 400)
        #expect(try await server.http("POST", "/parties/main/api/update", body: Data([0xff, 0xff, 0xff])).status == 400)

        let health = try await server.http("GET", "/healthz")
        #expect(try health.json()["status"] as? String == "ok")
        let metrics = try await server.http("GET", "/metrics")
        #expect(metrics.header("Content-Type")?.hasPrefix("text/plain") == true)
        #expect(metrics.text.contains("ysync_rooms 1"))
        #expect(metrics.text.contains("ysync_updates_applied_total 1"))
        #expect(metrics.text.contains(#"ysync_http_requests_total{route="update",status="200"} 2"#))
        await server.stop()
    }

    @Test("reads of 300 unknown rooms answer an empty document and create nothing; a write creates the room")
    func readsCreateNothing() async throws {
        let server = try await TestServer.start()
        let rooms = server.dataDirectory + "/rooms"
        for i in 0..<100 {
            #expect(try await server.http("GET", "/parties/main/ghost-\(i)/text").text == "")
            let state = try await server.http("GET", "/parties/main/ghost-\(i)b/state")
            #expect(Array(state.body) == YDoc(clientID: 1).encodeStateAsUpdate())
            let users = try await server.http("GET", "/parties/main/ghost-\(i)c").json()
            #expect(users["connections"] as? Int == 0 && (users["users"] as? [Any])?.isEmpty == true)
        }
        #expect(try await server.http("GET", "/parties/main/ghost/state?sv=%%%").status == 400)
        #expect(try FileManager.default.contentsOfDirectory(atPath: rooms).isEmpty)
        let health = try await server.http("GET", "/healthz").json()
        #expect(health["rooms"] as? Int == 0)
        #expect(try await server.http("GET", "/metrics").text.contains("ysync_rooms_stored 0"))

        let doc = YDoc(clientID: 5)
        try doc.getText("codemirror").insert(at: 0, "now it exists")
        #expect(try await server.http("POST", "/parties/main/ghost-1/update", body: Data(doc.encodeStateAsUpdate())).status == 200)
        #expect(try await server.http("GET", "/parties/main/ghost-1/text").text == "now it exists")
        #expect(try FileManager.default.contentsOfDirectory(atPath: rooms).contains("ghost-1.ysync"))
        #expect(try await server.http("GET", "/metrics").text.contains("ysync_rooms_stored 1"))
        await server.stop()
    }

    @Test("with --metrics-token, /metrics needs that token (and a room token does not open it)")
    func metricsToken() async throws {
        let server = try await TestServer.start { $0.metricsToken = "scrape-me" }
        let open = try await server.http("GET", "/metrics")
        #expect(open.status == 401)
        #expect(open.text.contains("metrics token"), "\(open.text)")
        #expect(try await server.http("GET", "/metrics", headers: ["Authorization": "Bearer scrape-mf"]).status == 401)
        let scraped = try await server.http("GET", "/metrics", headers: ["Authorization": "Bearer scrape-me"])
        #expect(scraped.status == 200)
        #expect(scraped.text.contains(#"ysync_http_requests_total{route="metrics",status="401"} 2"#))
        #expect(try await server.http("GET", "/healthz").status == 200)
        await server.stop()
    }
}
