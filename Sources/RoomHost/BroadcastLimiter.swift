import Replica

/// Why a room refused an HTTP broadcast (`POST /parties/<party>/ROOM`); nothing was sent.
public enum BroadcastRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    /// The body is larger than a frame may be (`RoomLimits.maxFrameBytes`): no client could take it.
    case tooLarge(bytes: Int, limit: Int)
    /// More broadcasts than `RoomLimits.broadcastsPerSecond` (after the burst).
    case tooMany(perSecond: Double)
    /// More bytes than `RoomLimits.broadcastBytesPerSecond` per second (after the burst).
    case tooManyBytes(perSecond: Int)

    /// The `reason` label of `ysync_broadcasts_refused_total`.
    public var metricReason: String {
        switch self {
        case .tooLarge: "too_large"
        case .tooMany: "rate"
        case .tooManyBytes: "bytes_rate"
        }
    }

    /// One line for the client (the 413 or 429 answer).
    public var description: String {
        switch self {
        case let .tooLarge(bytes, limit):
            "a broadcast of \(bytes) bytes is over the frame limit of \(limit) bytes (--max-frame-bytes)"
        case let .tooMany(rate):
            "more than \(Self.format(rate)) broadcasts per second to this room (--broadcasts-per-second); try again later"
        case let .tooManyBytes(rate):
            "more than \(rate) bytes of broadcasts per second to this room (--broadcast-bytes-per-second); try again later"
        }
    }

    private static func format(_ rate: Double) -> String {
        rate == rate.rounded() && abs(rate) < 1e15 ? String(Int(rate)) : String(rate)
    }
}

/// The limits on one room's HTTP broadcasts: each body at most a frame, and two token buckets
/// (`RateLimiter`, the one WebSocket messages use): broadcasts per second and bytes per second.
/// A broadcast is queued once for every connection of the room, so without them one HTTP
/// caller could fill every member's queue as fast as it can post. Time is a parameter.
struct BroadcastLimiter: Sendable {
    private var count: RateLimiter
    private var bytes: RateLimiter
    private let maxBytes: Int
    private let bytesRate: Int

    init(limits: RoomLimits) {
        maxBytes = limits.maxFrameBytes
        bytesRate = max(1, limits.broadcastBytesPerSecond)
        count = RateLimiter(perSecond: limits.broadcastsPerSecond, burst: limits.broadcastBurst)
        bytes = RateLimiter(perSecond: Double(bytesRate), burst: Double(max(2 * bytesRate, maxBytes)))
    }

    /// Nil when a broadcast of `size` bytes arriving at `now` may go (its tokens taken), else why not.
    mutating func admit(bytes size: Int, now: Double) -> BroadcastRefusal? {
        guard size <= maxBytes else { return .tooLarge(bytes: size, limit: maxBytes) }
        // The bytes first: a broadcast refused for its bytes takes no broadcast token.
        guard bytes.allow(now: now, cost: Double(size)) else { return .tooManyBytes(perSecond: bytesRate) }
        guard count.allow(now: now) else { return .tooMany(perSecond: count.perSecond) }
        return nil
    }
}
