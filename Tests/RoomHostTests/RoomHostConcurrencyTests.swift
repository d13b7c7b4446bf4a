import Dispatch
import Foundation
import Synchronization
@testable import RoomHost
import Testing
import TestSupport

/// RoomHost: one room's slow load blocks neither the host nor other rooms; concurrent asks for
/// a room being loaded share that one load; shutdown waits for a load under way.
@Suite struct RoomHostConcurrencyTests {
    /// A load held on its thread until the test lets it go (the thread blocks, as a real load of
    /// a big journal does).
    final class HeldLoad: Sendable {
        let entered = DispatchSemaphore(value: 0)
        let proceed = DispatchSemaphore(value: 0)
        let room: String
        init(room: String) { self.room = room }

        func hook(_ key: String) {
            guard key == room else { return }
            entered.signal()
            _ = proceed.wait(timeout: .now() + 60)  // bounded: a broken test still ends
        }

        /// Waits (off the pool) until the load has started; false after 60 s.
        func started() async -> Bool {
            await withCheckedContinuation { c in
                DispatchQueue.global().async { c.resume(returning: self.entered.wait(timeout: .now() + 60) == .success) }
            }
        }
    }

    @Test("while two loads block their threads, other rooms load and take connections")
    func aSlowLoadStallsNoOtherRoom() async throws {
        let dir = TempDir()
        let held = HeldLoad(room: "big")
        let host = try makeHost(dir) { $0.willLoad = held.hook }
        let big = Task { try await host.acquire("big") }
        #expect(await held.started())
        // Blocking two threads at once (the pool has two here) would stall these without the fix.
        let held2 = HeldLoad(room: "big2")
        let dir2 = TempDir()
        let host2 = try makeHost(dir2) { $0.willLoad = held2.hook }
        let big2 = Task { try await host2.acquire("big2") }
        #expect(await held2.started())
        for i in 0..<20 {
            let room = try await host.acquire("small-\(i % 3)")
            let peer = RecordingConnection()
            let id = try #require(await room.join(peer))
            await room.leave(id)
            await host.release(room)
        }
        #expect(await host.isLoaded("small-0"))
        #expect(await !host.isLoaded("big"))
        held.proceed.signal()
        held2.proceed.signal()
        let loaded = try await big.value
        #expect(loaded.name == "big")
        #expect(try await big2.value.name == "big2")
        await host.shutdown()
        await host2.shutdown()
    }

    @Test("asks for a room being loaded wait for that load and get the same room")
    func concurrentAsksShareOneLoad() async throws {
        let dir = TempDir()
        let held = HeldLoad(room: "shared")
        let loads = LoadCounter()
        let host = try makeHost(dir) { config in
            config.willLoad = { key in loads.count(); held.hook(key) }
        }
        let first = Task { try await host.acquire("shared") }
        #expect(await held.started())
        let others = (0..<5).map { _ in Task { try await host.acquire("shared") } }
        held.proceed.signal()
        let room = try await first.value
        for other in others { #expect(try await other.value === room) }
        #expect(loads.value == 1)
        await host.shutdown()
    }

    @Test("shutdown during a load waits for it and closes the room; the asker is told the host is shutting down")
    func shutdownWaitsForALoad() async throws {
        let dir = TempDir()
        let held = HeldLoad(room: "late")
        let host = try makeHost(dir) { $0.willLoad = held.hook }
        let ask = Task { try await host.acquire("late") }
        #expect(await held.started())
        let stopped = Task { await host.shutdown() }
        held.proceed.signal()
        await stopped.value
        await #expect(throws: RoomHostError.shuttingDown) { try await ask.value }
        #expect(await host.loadedRooms.isEmpty)
    }

    final class LoadCounter: Sendable {
        private let n = Mutex(0)
        func count() { n.withLock { $0 += 1 } }
        var value: Int { n.withLock { $0 } }
    }
}
