import CLISupport
import Foundation

/// What a network command is doing now, named in its timeout message.
final class SyncStep: @unchecked Sendable {
    private let lock = NSLock()
    private var step: String

    init(_ first: String) { step = first }

    func set(_ next: String) {
        lock.lock()
        step = next
        lock.unlock()
    }

    var current: String {
        lock.lock()
        defer { lock.unlock() }
        return step
    }
}

/// Claimed once: whichever of the work and the timer finishes first resumes the caller.
private final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func claim() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if done { return false }
        done = true
        return true
    }
}

/// Runs `body`, or fails after `seconds` with a message naming `step`. The caller is not kept
/// waiting for the body past the deadline: a connect that hangs cannot always be cancelled, and
/// the command ends (releasing the store) right after it reports the timeout.
func withDeadline(seconds: Double, step: SyncStep, what: String,
                  _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        let once = Once()
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            guard !Task.isCancelled, once.claim() else { return }
            continuation.resume(throwing: CLIError(
                "\(what) timed out after \(formatFixed(seconds, seconds.rounded() == seconds ? 0 : 1)) s while \(step.current); local changes are kept, run it again",
                code: .network))
        }
        Task {
            do {
                try await body()
                timer.cancel()
                if once.claim() { continuation.resume() }
            } catch {
                timer.cancel()
                if once.claim() { continuation.resume(throwing: error) }
            }
        }
    }
}
