/// A token bucket for "messages per second per connection": `burst` tokens at most, refilled at
/// `perSecond` tokens a second; each allowed message takes one. Time is injected (seconds, any
/// monotonic origin) so tests run on synthetic clocks and the server can pass its own clock.
public struct RateLimiter: Sendable {
    /// Tokens added per second (+infinity: no limit; 0: no refill).
    public let perSecond: Double
    /// Capacity of the bucket (at least 1): how many messages may come at once.
    public let burst: Double
    /// Tokens left as of the last call (fractional between refills).
    public private(set) var tokens: Double
    /// Time of the last refill; nil until the first call, so the bucket starts full whatever the clock's origin.
    private var last: Double?

    /// Limits come from configuration, so odd values are given a meaning rather than a crash:
    /// `perSecond` of +infinity disables limiting, `perSecond <= 0` (or NaN) never refills (only
    /// the initial burst is allowed), and `burst` below 1 (or NaN) counts as 1.
    public init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond.isNaN ? 0 : max(0, perSecond)
        self.burst = burst.isNaN ? 1 : max(1, burst)
        tokens = self.burst
    }

    /// Whether a message arriving at `now` is allowed; if so it takes `cost` tokens (1: a
    /// message; a byte count makes it a bucket of bytes). A clock that steps backwards refills
    /// nothing (and never makes tokens negative), it just moves the reference. A cost over
    /// `burst` is never allowed.
    public mutating func allow(now: Double, cost: Double = 1) -> Bool {
        if perSecond == .infinity { return true }
        if let last, now > last, perSecond > 0 {
            tokens = min(burst, tokens + (now - last) * perSecond)
        }
        if !now.isNaN { last = now }  // a NaN reference would stop refills for good
        // A small tolerance: 0.1 s at 10/s must give a whole token despite float rounding.
        if tokens >= cost - 1e-9 {
            tokens = max(0, tokens - cost)
            return true
        }
        return false
    }
}
