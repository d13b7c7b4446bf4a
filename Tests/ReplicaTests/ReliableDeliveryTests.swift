import CRDT
import Foundation
import Replica
import Sync
import Testing
import TestSupport

@Suite("Replica over reliable transports", .serialized)
struct ReliableDeliveryTests {
    @Test("confirmation answers on a lossless link carry no delete the peer has")
    func confirmationsCarryNoKnownDeletes() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = try Replica(path: dir.file("a.ystore"), create: true, clientID: 1, journal: fastJournal())
        let b = try Replica(path: dir.file("b.ystore"), create: true, clientID: 2, journal: fastJournal())
        try await a.edit { try $0.getText("t").insert(at: 0, "hello brave new world") }
        try await a.edit { try $0.getText("t").delete(at: 6, count: 6) }
        _ = await connectPair(a, b, profile: .perfect)
        #expect(await waitForConvergence([a, b]) == nil)
        #expect(await waitForDelivery([a, b]))
        // Live edits with deletes on both sides: every confirmation is answered.
        for i in 0..<5 {
            try await a.edit { try $0.getText("t").delete(at: 0, count: 1) }
            try await b.edit { try $0.getText("t").insert(at: 0, "b\(i)") }
            // Every frame through (not every change acknowledged: a round's confirmation may
            // still be on its quiet delay; the check below waits for the answers).
            #expect(await waitForDelivery([a, b], acknowledged: false), "round \(i)")
        }
        #expect(await waitForConvergence([a, b]) == nil)
        // Confirmations go out after a quiet delay (longer on a loaded machine): wait for them.
        let trimmed = await eventually {
            let sa = await a.sessionStats[0], sb = await b.sessionStats[0]
            return sa.step2Sent > 1 && sb.step2Sent > 1 && sa.step2Trimmed > 0 && sb.step2Trimmed > 0
        }
        let (sa, sb) = (await a.sessionStats[0], await b.sessionStats[0])
        #expect(trimmed, "a: \(sa), b: \(sb)")
        await a.close()
        await b.close()
    }

    @Test("a delete lost in a partition of a once-lossless link is repaired by resync")
    func partitionTurnsLinkLossy() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = try Replica(path: dir.file("a.ystore"), create: true, clientID: 1, journal: fastJournal())
        let b = try Replica(path: dir.file("b.ystore"), create: true, clientID: 2, journal: fastJournal())
        try await a.edit { try $0.getText("t").insert(at: 0, "abcdef") }
        let (net, _, _) = await connectPair(a, b, profile: .perfect)
        #expect(await waitForConvergence([a, b]) == nil)
        #expect(await waitForDelivery([a, b]))
        // A confirmation round before the loss: deletes known, answers trimmed.
        try await a.edit { try $0.getText("t").delete(at: 0, count: 1) }
        #expect(await eventually { await b.read { $0.getText("t").string } == "bcdef" })
        // b's confirmation and a's answer are through before the cut: only the next delete is lost.
        #expect(await waitForDelivery([a, b]))
        net.partition()
        let before = net.counters.submitted
        try await a.edit { try $0.getText("t").delete(at: 1, count: 2) }   // lost
        // The replica sends from a task: heal only once the frame has hit the cut link.
        #expect(await eventually { net.counters.submitted > before })
        net.heal()
        #expect(await b.read { $0.getText("t").string } == "bcdef")
        await b.resync()
        #expect(await waitForConvergence([a, b]) == nil)
        #expect(await b.read { $0.getText("t").string } == "bef")
        await a.close()
        await b.close()
    }
}
