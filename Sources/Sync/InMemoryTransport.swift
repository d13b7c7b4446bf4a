import Foundation

/// Two connected in-memory transports with seeded fault injection (`FaultProfile`).
///
/// Clock modes:
/// - `.manual`: time is virtual and moves only with `advance(by:)`; frames whose delay is zero
///   are delivered within `send`. With one sender at a time the run is fully deterministic.
/// - `.realTime`: time is the seconds since the network was made; delayed frames are delivered
///   by a task sleeping until they are due. Fates (drop, duplicate, delays) are still drawn from
///   the seed in send order, but task scheduling makes the interleaving nondeterministic.
///
/// `partition()` loses every frame until `heal()` (like a cut cable: neither end notices, so
/// the sessions must resynchronise — see `SyncSession.tick`). `close()` on either end finishes
/// both streams.
public final class InMemoryNetwork: @unchecked Sendable {
    /// Where time comes from: virtual (`.manual`, moved by `advance(by:)`) or the real clock.
    public enum ClockMode: Sendable { case manual, realTime }

    private let lock = NSLock()
    private var link: LinkSimulator
    private var continuations: [LinkEnd: AsyncThrowingStream<[UInt8], Error>.Continuation] = [:]
    private var streams: [LinkEnd: AsyncThrowingStream<[UInt8], Error>] = [:]
    private var closed = false
    private var virtualNow: Double = 0
    private let mode: ClockMode
    private let started = ContinuousClock.now

    /// A network with `profile`'s faults; take its ends with `transport(_:)` (or use `pair`).
    public init(profile: FaultProfile = .perfect, clock: ClockMode = .realTime) {
        link = LinkSimulator(profile: profile)
        mode = clock
        for end in [LinkEnd.a, .b] {
            let (s, c) = AsyncThrowingStream<[UInt8], Error>.makeStream(bufferingPolicy: .unbounded)
            streams[end] = s
            continuations[end] = c
        }
    }

    /// A connected pair.
    public static func pair(profile: FaultProfile = .perfect, clock: ClockMode = .realTime)
        -> (InMemoryTransport, InMemoryTransport, InMemoryNetwork) {
        let n = InMemoryNetwork(profile: profile, clock: clock)
        return (n.transport(.a), n.transport(.b), n)
    }

    /// A transport for `end`. All transports of one end read the same stream (one consumer), so take one per end.
    public func transport(_ end: LinkEnd) -> InMemoryTransport { InMemoryTransport(network: self, end: end) }

    private func withLock<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// Current time in seconds (virtual or real).
    public var now: Double { withLock { nowLocked() } }

    private func nowLocked() -> Double {
        switch mode {
        case .manual: return virtualNow
        case .realTime:
            let d = ContinuousClock.now - started
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
    }

    /// Cuts the link: every frame sent or due is lost until `heal()`; neither end is told.
    public func partition() { withLock { link.partition() } }
    /// Ends a partition; lost frames stay lost.
    public func heal() { withLock { link.heal() } }
    /// Whether the link is cut now.
    public var isPartitioned: Bool { withLock { link.isPartitioned } }
    /// Link counters (submitted, dropped, duplicated, delivered).
    public var counters: (submitted: Int, dropped: Int, duplicated: Int, delivered: Int) {
        withLock { (link.submitted, link.dropped, link.duplicated, link.delivered) }
    }
    /// Frames sent and not yet delivered or dropped.
    public var framesInFlight: Int { withLock { link.inFlight.count } }
    /// No frame has been lost so far and none can be lost by chance: no drop rate, never a
    /// frame dropped by a partition, not partitioned now. (Duplicates and reordering lose
    /// nothing.) Turns false for good once a partition drops a frame.
    public var deliversReliably: Bool {
        withLock { link.profile.dropRate == 0 && link.dropped == 0 && !link.isPartitioned }
    }

    /// Manual clock: moves time forward and delivers what became due.
    public func advance(by seconds: Double) {
        withLock { virtualNow += seconds }
        pump()
    }

    func stream(_ end: LinkEnd) -> AsyncThrowingStream<[UInt8], Error> { withLock { streams[end]! } }

    func send(_ frame: [UInt8], from end: LinkEnd) throws {
        let (t, wakes): (Double, [Double]) = try withLockThrowing {
            guard !closed else { throw TransportError.closed }
            let t = nowLocked()
            return (t, link.submit(frame, from: end, now: t))
        }
        pump()
        guard mode == .realTime else { return }
        for wake in wakes where wake > t {
            let delay = wake - t
            Task { [weak self] in
                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9) + 1)
                self?.pump()
            }
        }
    }

    private func withLockThrowing<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Delivers every frame due now (yielding under the lock keeps per-stream order).
    func pump() {
        withLock {
            guard !closed else { return }
            for f in link.due(now: nowLocked()) { continuations[f.to]?.yield(f.frame) }
        }
    }

    func close() {
        withLock {
            guard !closed else { return }
            closed = true
            for c in continuations.values { c.finish() }
        }
    }
}

/// One end of an `InMemoryNetwork`.
public struct InMemoryTransport: Transport {
    /// The network this end belongs to.
    public let network: InMemoryNetwork
    /// Which end this is; frames sent arrive at the other.
    public let end: LinkEnd

    /// Puts `frame` on the link; throws `TransportError.closed` after `close()`.
    public func send(_ frame: [UInt8]) async throws { try network.send(frame, from: end) }
    /// Frames arriving at this end; finishes when either end closes.
    public var frames: AsyncThrowingStream<[UInt8], Error> { network.stream(end) }
    /// Closes the whole network: both ends' streams finish.
    public func close() async { network.close() }
    /// The network's `deliversReliably`.
    public var deliversReliably: Bool { network.deliversReliably }
}
