@testable import RoomHost
import Testing

/// The HTTP broadcast limits on a fake clock: the frame limit, the broadcasts-per-second and the
/// bytes-per-second buckets (`RateLimiter` with a cost).
@Suite struct BroadcastLimiterTests {
    static func limits(perSecond: Double = 10, burst: Double = 2, bytes: Int = 1000, frame: Int = 1500) -> RoomLimits {
        var l = RoomLimits()
        l.broadcastsPerSecond = perSecond
        l.broadcastBurst = burst
        l.broadcastBytesPerSecond = bytes
        l.maxFrameBytes = frame
        return l
    }

    @Test func aBodyOverTheFrameLimitNeverGoes() {
        var b = BroadcastLimiter(limits: Self.limits())
        #expect(b.admit(bytes: 1501, now: 0) == .tooLarge(bytes: 1501, limit: 1500))
        #expect(b.admit(bytes: 1500, now: 0) == nil)  // the bucket holds at least one frame
    }

    @Test func broadcastsPerSecondRefillOnTheClock() {
        var b = BroadcastLimiter(limits: Self.limits(perSecond: 10, burst: 2, bytes: 1 << 20, frame: 1 << 20))
        #expect(b.admit(bytes: 1, now: 100) == nil)
        #expect(b.admit(bytes: 1, now: 100) == nil)
        #expect(b.admit(bytes: 1, now: 100) == .tooMany(perSecond: 10))
        #expect(b.admit(bytes: 1, now: 100.05) == .tooMany(perSecond: 10))  // half a token
        #expect(b.admit(bytes: 1, now: 100.1) == nil)
    }

    @Test func bytesPerSecondRefillOnTheClock() {
        // 1000 B/s, bucket max(2000, frame 1500) = 2000.
        var b = BroadcastLimiter(limits: Self.limits(perSecond: 1000, burst: 1000, bytes: 1000))
        #expect(b.admit(bytes: 1500, now: 0) == nil)
        #expect(b.admit(bytes: 600, now: 0) == .tooManyBytes(perSecond: 1000))
        #expect(b.admit(bytes: 500, now: 0) == nil)
        #expect(b.admit(bytes: 1000, now: 0.5) == .tooManyBytes(perSecond: 1000))
        #expect(b.admit(bytes: 1000, now: 1) == nil)
        // A clock that steps back refills nothing.
        #expect(b.admit(bytes: 1, now: 0.5) == .tooManyBytes(perSecond: 1000))
    }

    @Test func refusalsSayTheFlag() {
        #expect(BroadcastRefusal.tooMany(perSecond: 20).description.contains("more than 20 broadcasts per second to this room (--broadcasts-per-second)"))
        #expect(BroadcastRefusal.tooManyBytes(perSecond: 1 << 20).metricReason == "bytes_rate")
    }
}
