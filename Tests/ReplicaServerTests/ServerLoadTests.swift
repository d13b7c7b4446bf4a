import CRDT
import Foundation
import Testing
import TestSupport

/// A bounded load test: 200 concurrent clients over 8 rooms, each sending its updates while
/// the others do; zero lost updates, every client converges. (Timings are for the benchmark.)
@Suite("Server load")
struct ServerLoadTests {
    @Test("200 clients in 8 rooms: every update reaches every client of its room")
    func twoHundredClients() async throws {
        let rooms = 8, perRoom = 25, updatesEach = 5
        let server = try await TestServer.start()
        var peers: [[WSPeer]] = []
        for r in 0..<rooms {
            var row: [WSPeer] = []
            for c in 0..<perRoom {
                row.append(try await WSPeer.connect(server.url("load-\(r)"), clientID: ClientID(r * 1000 + c + 1)))
            }
            peers.append(row)
        }
        for row in peers {
            try await eventually("all synced", timeout: 30) { await allSynced(row) }
        }
        // Everyone sends at once (concurrently across clients, in order per client).
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (r, row) in peers.enumerated() {
                for (c, peer) in row.enumerated() {
                    group.addTask {
                        for u in 0..<updatesEach { try await peer.insert("<\(r).\(c).\(u)>", at: 0) }
                    }
                }
            }
            try await group.waitForAll()
        }
        for (r, row) in peers.enumerated() {
            let expected = Set((0..<perRoom).flatMap { c in (0..<updatesEach).map { "<\(r).\(c).\($0)>" } })
            try await eventually("room \(r) converged", timeout: 60) {
                let first = await row[0].text()
                for p in row where await p.text() != first { return false }
                return Set(Self.tokens(first)) == expected
            }
            let served = try await server.http("GET", "/parties/main/load-\(r)/text?name=t").text
            #expect(served == (await row[0].text()))
            #expect(Self.tokens(served).count == perRoom * updatesEach)  // each exactly once
        }
        let metrics = try await server.http("GET", "/metrics").text
        #expect(metrics.contains("ysync_updates_applied_total \(rooms * perRoom * updatesEach)"))
        for row in peers { for p in row { await p.close() } }
        await server.stop()
    }

    static func tokens(_ text: String) -> [String] {
        text.split(separator: ">").map { String($0) + ">" }
    }
}
