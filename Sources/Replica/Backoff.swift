/// Reconnection delays: `initial × multiplier^attempt`, capped at `maximum`, times a factor in
/// `1 - jitter ... 1` (deterministic from `seed` and the attempt, so tests can predict it).
/// The defaults are y-websocket's (100 ms doubling, capped at 2.5 s).
public struct Backoff: Sendable, Equatable {
    /// The first retry's delay (100 ms by default).
    public var initial: Duration
    /// The cap on the delay before jitter (2.5 s by default).
    public var maximum: Duration
    /// Growth factor per attempt (2 by default).
    public var multiplier: Double
    /// Fraction in 0...1 the delay may be shortened by at random (0 by default: no jitter).
    public var jitter: Double
    /// Seed of the jitter; the same seed and attempt give the same delay.
    public var seed: UInt64

    /// A backoff; `jitter` is clamped to 0...1.
    public init(initial: Duration = .milliseconds(100), maximum: Duration = .milliseconds(2500),
                multiplier: Double = 2, jitter: Double = 0, seed: UInt64 = 0) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = min(max(jitter, 0), 1)
        self.seed = seed
    }

    /// The wait before reconnection attempt `attempt` (0 = the first retry).
    public func delay(attempt: Int) -> Duration {
        let base = Double(initial.components.seconds) + Double(initial.components.attoseconds) * 1e-18
        let cap = Double(maximum.components.seconds) + Double(maximum.components.attoseconds) * 1e-18
        var s = min(cap, base * pow(multiplier, Double(min(attempt, 64))))
        if jitter > 0 {
            var x = seed &+ UInt64(attempt) &* 0x9E37_79B9_7F4A_7C15
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            x ^= x >> 31
            s *= 1 - jitter * Double(x >> 11) / Double(1 << 53)
        }
        return .nanoseconds(Int64(s * 1e9))
    }

    private func pow(_ a: Double, _ b: Double) -> Double {
        var r = 1.0
        for _ in 0..<Int(b) { r *= a }
        return r
    }
}

/// Waits (injectable: tests pass a recording or instant sleeper).
public typealias Sleeper = @Sendable (Duration) async throws -> Void

/// Ready-made `Sleeper`s.
public enum Sleepers {
    /// `Task.sleep`.
    public static let real: Sleeper = { d in try await Task.sleep(for: d) }
}
