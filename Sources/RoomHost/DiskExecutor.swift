import Dispatch

/// A serial executor on a dispatch queue of its own, for an actor whose methods block on the
/// disk (the room host's content-store lookups), and `run` for blocking work such as a room's
/// load. Swift's cooperative pool has one thread per core (two here): work that blocks there
/// takes a whole core from every room. Dispatch brings in another thread when one blocks.
final class DiskExecutor: SerialExecutor {
    private let queue: DispatchQueue

    /// An executor whose jobs run in order on a new serial queue named `label`.
    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Runs blocking `work` on a dispatch thread, off the cooperative pool, and returns its result.
    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}
