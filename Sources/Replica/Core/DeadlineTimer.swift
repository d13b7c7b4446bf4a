/// Seconds since the host started, from `ContinuousClock`: the `now` a host passes to its core.
public struct HostClock: Sendable {
    private let started = ContinuousClock.now
    /// Starts at 0 now.
    public init() {}
    /// Seconds since `init`.
    public var now: Double {
        let d = ContinuousClock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

/// One pending wake-up of a host (an actor): armed for the core's next deadline, re-armed when
/// an earlier one comes up. The host owns it and calls `fired()` when its callback runs.
public struct DeadlineTimer: Sendable {
    private var task: Task<Void, Never>?
    /// The deadline the timer is armed for (nil: not armed).
    public private(set) var armedFor: Double?

    /// Not armed.
    public init() {}

    /// Arms the timer for `deadline` (seconds on the host's clock, which reads `now`), unless it
    /// is armed for that or an earlier one already.
    public mutating func arm(at deadline: Double, now: Double, _ fire: @escaping @Sendable () async -> Void) {
        if let armed = armedFor, armed <= deadline { return }
        task?.cancel()
        armedFor = deadline
        let wait = max(0, deadline - now)
        task = Task {
            try? await Task.sleep(for: .nanoseconds(Int64(min(wait, 86_400) * 1e9)))
            guard !Task.isCancelled else { return }
            await fire()
        }
    }

    /// The callback runs: the timer is no longer armed (arm it again for the next deadline).
    public mutating func fired() {
        armedFor = nil
        task = nil
    }

    /// Stops the pending wake-up.
    public mutating func cancel() {
        task?.cancel()
        task = nil
        armedFor = nil
    }
}
