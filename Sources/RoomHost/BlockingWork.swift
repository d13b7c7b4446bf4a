import Foundation

/// Blocking work (a room's load: SQLite reads and the replay of its journal, seconds for a big
/// one) on a thread of its own. Swift's cooperative pool has one thread per core (two here), and
/// dispatch's global queues are as narrow and shared with Foundation: work that blocks there
/// holds up every room. A thread per load is bounded by the rooms loading at once.
enum BlockingWork {
    /// Runs `work` on a new thread named `name` and returns its result.
    static func run<T: Sendable>(_ name: String, _ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.name = name
            thread.stackSize = 8 << 20  // as the main thread's: a load walks what the document holds
            thread.start()
        }
    }
}
