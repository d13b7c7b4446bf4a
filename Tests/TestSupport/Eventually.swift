/// What `eventually(_:timeout:_:)` throws when its condition did not come true in time.
public struct WaitTimeout: Error, CustomStringConvertible {
    /// What was waited for, in the caller's words.
    public let what: String
    /// The bound, in seconds.
    public let seconds: Double
    public var description: String { "timed out after \(seconds) s waiting for: \(what)" }
}

/// Polls `condition` every 10 ms until it holds or `timeout` seconds have passed; true when it
/// held (it is checked once more at the deadline). Waits for an outcome, never for silence: to
/// show that something did not happen, make a later round-trip whose answer proves ordering.
///
/// The bound only limits how long a failing test hangs, so it is generous: under `swift test
/// --parallel` on a small machine other tests share the CPU.
public func eventually(timeout: Double = 60, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        if Task.isCancelled { break }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// The same, throwing `WaitTimeout` naming `what` when the condition did not hold in time.
public func eventually(_ what: String, timeout: Double = 60, _ condition: () async throws -> Bool) async throws {
    guard try await eventually(timeout: timeout, condition) else { throw WaitTimeout(what: what, seconds: timeout) }
}
