import Foundation
import Testing

/// Runs each test of a suite on a thread of its own instead of Swift's cooperative pool.
///
/// With `swift test --parallel` on a small machine the pool has one thread per core. A test that
/// keeps its thread busy (a long replay, a synchronous round trip to the pycrdt process) would
/// hold one of them for seconds, and the timers and socket tasks of the tests beside it would
/// wait: their bounded waits would run out for no fault of theirs. Suites that do such work take
/// this trait (`@Suite(.ownThread)`), so they compete for the CPU only, never for the pool.
public struct OwnThread: TestTrait, SuiteTrait, TestScoping {
    /// Applies to every test in the suite and in its nested suites.
    public var isRecursive: Bool { true }

    /// Runs a test function (all its cases) with a one-thread executor as its preference.
    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        // The suite itself, or already inside a test's own thread (a case of a parameterised test).
        if test.isSuite || OwnThread.active { return try await function() }
        let executor = ThreadExecutor(name: "test: \(test.name)")
        defer { executor.stop() }
        try await OwnThread.$active.withValue(true) {
            try await withTaskExecutorPreference(executor) { try await function() }
        }
    }

    @TaskLocal private static var active = false
}

extension Trait where Self == OwnThread {
    /// Each test of this suite runs on a thread of its own (see `OwnThread`).
    public static var ownThread: Self { OwnThread() }
}

/// A task executor backed by one dedicated thread that runs its jobs in order.
final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false
    private var exited = false

    init(name: String) {
        let thread = Thread { [self] in runLoop() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        defer { condition.unlock() }
        guard !exited else {
            // A late job after the test ended (never expected): run it elsewhere rather than lose it.
            DispatchQueue.global().async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
            return
        }
        jobs.append(job)
        condition.signal()
    }

    /// The thread ends once its queue is empty.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func runLoop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty {
                exited = true
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
