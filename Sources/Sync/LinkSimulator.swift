/// Seeded fault injection for a two-ended link (the deterministic core of `InMemoryNetwork`,
/// usable on its own in synchronous simulations).
public struct FaultProfile: Sendable, Equatable {
    /// One-way delay in seconds, drawn uniformly per frame.
    public var latency: ClosedRange<Double>
    /// Probability that a frame is lost.
    public var dropRate: Double
    /// Probability that a frame arrives twice (the copy gets its own delay).
    public var duplicateRate: Double
    /// Probability that a frame gets an extra delay of up to `reorderWindow`, so later frames
    /// overtake it.
    public var reorderRate: Double
    /// Longest extra delay, in seconds, given to a reordered frame (0.05 by default).
    public var reorderWindow: Double
    /// Seed of the link's generator: the same seed and the same submits give the same faults.
    public var seed: UInt64

    /// A profile; the defaults are a perfect link (no delay, loss, duplicates or reordering).
    public init(latency: ClosedRange<Double> = 0...0, dropRate: Double = 0, duplicateRate: Double = 0,
                reorderRate: Double = 0, reorderWindow: Double = 0.05, seed: UInt64 = 1) {
        self.latency = latency
        self.dropRate = dropRate
        self.duplicateRate = duplicateRate
        self.reorderRate = reorderRate
        self.reorderWindow = reorderWindow
        self.seed = seed
    }

    /// A perfect link: in order, no loss, no delay.
    public static let perfect = FaultProfile()
    /// Every fault at once (for tests).
    public static func chaos(seed: UInt64) -> FaultProfile {
        FaultProfile(latency: 0.001...0.02, dropRate: 0.1, duplicateRate: 0.1, reorderRate: 0.2, reorderWindow: 0.05, seed: seed)
    }
}

/// xoshiro256** seeded through SplitMix64: same seed, same faults.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    /// A generator whose sequence depends only on `seed`.
    public init(seed: UInt64) {
        var x = seed
        func mix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (mix(), mix(), mix(), mix())
    }
    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }
    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    /// True with probability `p` (never when `p` is 0; draws nothing then).
    public mutating func chance(_ p: Double) -> Bool { p > 0 && unit() < p }
}

/// The two ends of a link.
public enum LinkEnd: Int, Sendable, Hashable {
    case a = 0, b = 1
    /// The opposite end: where a frame sent from this end arrives.
    public var other: LinkEnd { self == .a ? .b : .a }
}

/// Frames in flight between two ends, with seeded faults. Time is the caller's (seconds).
/// The fate of every frame (lost, doubled, its delays) depends only on the seed and the order
/// of `submit` calls.
public struct LinkSimulator: Sendable {
    /// A frame on the wire.
    public struct InFlight: Sendable {
        /// When it arrives, on the caller's clock (seconds).
        public var deliverAt: Double
        /// Order of enqueueing; breaks ties between equal delivery times.
        public var seq: Int
        /// The end it arrives at.
        public var to: LinkEnd
        /// The frame's bytes, as submitted.
        public var frame: [UInt8]
    }

    /// The faults applied to frames submitted from now on (its seed only matters at `init`).
    public var profile: FaultProfile
    /// Whether the link is cut (see `partition()`).
    public private(set) var isPartitioned = false
    /// Frames submitted and not yet delivered or dropped, in submission order.
    public private(set) var inFlight: [InFlight] = []
    private var rng: SeededGenerator
    private var seq = 0
    /// Counters: frames submitted, dropped (by chance or partition), duplicated, delivered.
    public private(set) var submitted = 0, dropped = 0, duplicated = 0, delivered = 0

    /// An empty link with `profile`'s faults, its generator seeded with `profile.seed`.
    public init(profile: FaultProfile) {
        self.profile = profile
        self.rng = SeededGenerator(seed: profile.seed)
    }

    /// While partitioned every frame submitted or due is lost (a cut cable, not a closed socket).
    public mutating func partition() { isPartitioned = true }
    /// Ends a partition; frames already dropped stay lost.
    public mutating func heal() { isPartitioned = false }

    private mutating func delay() -> Double {
        let l = profile.latency
        var d = l.lowerBound + (l.upperBound - l.lowerBound) * rng.unit()
        if rng.chance(profile.reorderRate) { d += profile.reorderWindow * rng.unit() }
        return d
    }

    /// Puts a frame sent by `from` at time `now` on the wire; returns the delivery times of the
    /// copies that will arrive (none when lost).
    @discardableResult
    public mutating func submit(_ frame: [UInt8], from: LinkEnd, now: Double) -> [Double] {
        submitted += 1
        // Draw every decision even when partitioned, so a partition does not shift later fates.
        let drop = rng.chance(profile.dropRate)
        let dup = rng.chance(profile.duplicateRate)
        let d1 = delay(), d2 = delay()
        if isPartitioned || drop {
            dropped += 1
            return []
        }
        enqueue(InFlight(deliverAt: now + d1, seq: 0, to: from.other, frame: frame))
        if dup {
            duplicated += 1
            enqueue(InFlight(deliverAt: now + d2, seq: 0, to: from.other, frame: frame))
            return [now + d1, now + d2]
        }
        return [now + d1]
    }

    private mutating func enqueue(_ f: InFlight) {
        var f = f
        seq += 1
        f.seq = seq
        inFlight.append(f)
    }

    /// Earliest delivery time of a frame in flight.
    public var nextDelivery: Double? { inFlight.map(\.deliverAt).min() }

    /// Removes and returns the frames due at `now`, in delivery order.
    public mutating func due(now: Double) -> [InFlight] {
        var ready = inFlight.filter { $0.deliverAt <= now }
        guard !ready.isEmpty else { return [] }
        inFlight.removeAll { $0.deliverAt <= now }
        ready.sort { ($0.deliverAt, $0.seq) < ($1.deliverAt, $1.seq) }
        if isPartitioned {
            dropped += ready.count
            return []
        }
        delivered += ready.count
        return ready
    }
}
