import CRDT
import Foundation
import Journal
import Replica
import Sync
import Synchronization
import Testing
import TestSupport

@Suite("Replica behaviour", .serialized)
struct ReplicaBehaviourTests {
    @Test("local edits apply and journal at once, offline; unsynced counts own units until a peer confirms")
    func offlineEditsAndUnsynced() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = try Replica(path: dir.file("a.ystore"), create: true, clientID: 1, journal: fastJournal())
        let b = try Replica(path: dir.file("b.ystore"), create: true, clientID: 2, journal: fastJournal())
        try await a.edit { try $0.getText("t").insert(at: 0, "hello") }
        #expect(await a.read { $0.getText("t").string } == "hello")
        #expect(await a.unsyncedChanges == 5)
        #expect(await a.stats.journalWrites == 1)
        _ = await connectPair(a, b, profile: .perfect)
        #expect(await waitForConvergence([a, b]) == nil)
        #expect(await eventually { await a.unsyncedChanges == 0 })
        // Live edits are confirmed by the peer's state vector after a quiet moment.
        try await a.edit { try $0.getText("t").insert(at: 5, " world") }
        #expect(await waitForConvergence([a, b]) == nil)
        #expect(await eventually { await a.unsyncedChanges == 0 })
        #expect(await b.read { $0.getText("t").string } == "hello world")
        // The confirmed clock survives a restart.
        try await a.edit { try $0.getText("t").insert(at: 0, ">") }
        await a.close()
        await b.close()
        let a2 = try Replica(path: dir.file("a.ystore"), journal: fastJournal())
        #expect(await a2.unsyncedChanges == 1)
        #expect(await a2.read { $0.getText("t").string } == ">hello world")
        await a2.close()
    }

    @Test("a dropped session is re-dialled with backoff and resumes with a fresh handshake")
    func reconnectWithBackoff() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = try Replica(path: dir.file("a.ystore"), create: true, clientID: 1, journal: fastJournal())
        let b = try Replica(path: dir.file("b.ystore"), create: true, clientID: 2, journal: fastJournal())
        let state = Mutex<(dials: Int, sleeps: [Duration], networks: [InMemoryNetwork])>((0, [], []))
        // The first two dials fail (server down); later ones connect to b.
        let dial: @Sendable () async throws -> any Transport = {
            let n = state.withLock { s -> Int in s.dials += 1; return s.dials }
            if n <= 2 { throw TransportError.closed }
            let (ta, tb, net) = InMemoryNetwork.pair(profile: .perfect, clock: .realTime)
            state.withLock { $0.networks.append(net) }
            await b.connect(tb)
            return ta
        }
        let sleep: Sleeper = { d in
            state.withLock { $0.sleeps.append(d) }
            await Task.yield()  // recorded, not slept: the test needs the durations, not the wait
        }
        let backoff = Backoff(initial: .milliseconds(100), maximum: .milliseconds(250), multiplier: 2)
        try await a.edit { try $0.getText("t").insert(at: 0, "offline ") }
        let session = await a.connect(dial: dial, backoff: backoff, sleep: sleep)
        #expect(await waitForConvergence([a, b]) == nil)
        let firstSleeps = state.withLock { $0.sleeps }
        #expect(firstSleeps == [.milliseconds(100), .milliseconds(200)])
        // Drop the connection: a edits meanwhile, re-dials, handshakes again.
        let first = state.withLock { $0.networks[0] }
        await first.transport(.a).close()
        try await a.edit { try $0.getText("t").insert(at: 0, "while down ") }
        try await b.edit { try $0.getText("t").insert(at: 0, "b ") }
        #expect(await waitForConvergence([a, b]) == nil)
        let (dials, sleeps) = state.withLock { ($0.dials, $0.sleeps) }
        #expect(dials == 4)
        // After a connection that completed its handshake, the backoff starts over.
        #expect(sleeps.count == 3 && sleeps[2] == .milliseconds(100), "\(sleeps)")
        #expect(await a.stats.connections == 2)
        await a.disconnect(session)
        await a.close()
        await b.close()
    }

    @Test("backoff delays grow, cap, and jitter stays within bounds")
    func backoffDelays() {
        let b = Backoff(initial: .milliseconds(100), maximum: .milliseconds(2500), multiplier: 2)
        #expect((0..<7).map { b.delay(attempt: $0) } == [100, 200, 400, 800, 1600, 2500, 2500].map { .milliseconds($0) })
        let j = Backoff(initial: .milliseconds(100), maximum: .seconds(10), multiplier: 2, jitter: 0.5, seed: 7)
        for i in 0..<10 {
            let d = j.delay(attempt: i), full = b.delay(attempt: i) > .seconds(10) ? .seconds(10) : Backoff(initial: .milliseconds(100), maximum: .seconds(10)).delay(attempt: i)
            #expect(d <= full && d >= full / 2)
        }
    }

    @Test("unsynced count from state vectors")
    func unsyncedCount() {
        var u = UnsyncedCount(client: 7)
        #expect(u.count(local: StateVector([7: 10, 3: 4])) == 10)
        let moved = u.confirm(StateVector([7: 4]))
        let movedAgain = u.confirm(StateVector([7: 2, 3: 9]))
        #expect(moved && !movedAgain)
        #expect(u.count(local: StateVector([7: 10])) == 6)
        #expect(UnsyncedCount(client: 7, metaValue: u.metaValue) == u)
        #expect(UnsyncedCount(client: 8, metaValue: u.metaValue).confirmed == 0)
    }
}
