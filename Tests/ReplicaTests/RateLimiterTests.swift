import Replica
import Testing

/// One call, outside `#expect` (the macro cannot call a mutating method on its subject).
private func allow(_ limiter: inout RateLimiter, at now: Double) -> Bool {
    limiter.allow(now: now)
}

@Suite struct RateLimiterTests {
    /// How many of `count` messages at `now` are allowed.
    private func allowed(_ limiter: inout RateLimiter, count: Int, at now: Double) -> Int {
        (0..<count).filter { _ in limiter.allow(now: now) }.count
    }

    @Test func burstThenSteadyRate() {
        var limiter = RateLimiter(perSecond: 10, burst: 5)
        // Starts full, whatever the clock's origin.
        #expect(allowed(&limiter, count: 8, at: 1_000) == 5)
        #expect(!allow(&limiter, at: 1_000.05), "half a token is not enough")
        #expect(allow(&limiter, at: 1_000.1))
        #expect(!allow(&limiter, at: 1_000.1))
        // One second refills 10 tokens, but never beyond the burst.
        #expect(allowed(&limiter, count: 20, at: 1_010) == 5)
    }

    @Test func sustainedRateOverTime() {
        var limiter = RateLimiter(perSecond: 100, burst: 10)
        // 1000 messages/s offered for 10 s: burst + 100/s pass.
        var passed = 0
        for i in 0..<10_000 where limiter.allow(now: Double(i) / 1_000) { passed += 1 }
        #expect(passed >= 10 + 999 && passed <= 10 + 1_000, "\(passed)")
    }

    @Test func exactlyAtTheRateNeverRefuses() {
        var limiter = RateLimiter(perSecond: 10, burst: 1)
        // 0.1 s steps at 10/s: float rounding must not refuse any.
        for i in 0..<1_000 { #expect(allow(&limiter, at: Double(i) * 0.1), "message \(i)") }
    }

    @Test func clockGoingBackwardsRefillsNothing() {
        var limiter = RateLimiter(perSecond: 1, burst: 2)
        #expect(allowed(&limiter, count: 2, at: 50) == 2)
        #expect(!allow(&limiter, at: 10))
        #expect(!allow(&limiter, at: 10.5))
        #expect(allow(&limiter, at: 11))
        #expect(limiter.tokens >= 0)
    }

    @Test func oddConfigurations() {
        var unlimited = RateLimiter(perSecond: .infinity, burst: 1)
        #expect(allowed(&unlimited, count: 10_000, at: 0) == 10_000)
        var noRefill = RateLimiter(perSecond: 0, burst: 3)
        #expect(allowed(&noRefill, count: 5, at: 0) == 3)
        #expect(allowed(&noRefill, count: 5, at: 1_000_000) == 0)
        var tinyBurst = RateLimiter(perSecond: 1, burst: 0.2)
        #expect(tinyBurst.burst == 1)
        #expect(allowed(&tinyBurst, count: 3, at: 0) == 1)
        var nanClock = RateLimiter(perSecond: 1, burst: 1)
        #expect(allow(&nanClock, at: 0))
        #expect(!allow(&nanClock, at: .nan))
        #expect(allow(&nanClock, at: 1), "a NaN time must not stop refills")
    }
}
