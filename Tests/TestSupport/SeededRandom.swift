/// A deterministic random number generator (xoshiro256**, seeded through SplitMix64).
/// Put `seed` into every failure message: rerunning with the same seed replays the same session.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public let seed: UInt64
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        var sm = seed
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(&sm); s1 = splitMix(&sm); s2 = splitMix(&sm); s3 = splitMix(&sm)
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in `range`.
    public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    public mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &self) }
    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
    public mutating func pick<C: Collection>(_ c: C) -> C.Element { c.randomElement(using: &self)! }
    /// Picks an index according to integer weights.
    public mutating func weighted(_ weights: [Int]) -> Int {
        let total = weights.reduce(0, +)
        var r = Int.random(in: 0..<total, using: &self)
        for (i, w) in weights.enumerated() {
            if r < w { return i }
            r -= w
        }
        return weights.count - 1
    }
}

/// Test-run knobs read from the environment.
public enum TestEnvironment {
    /// `YSYNC_SOAK=N` multiplies the number of random seeds (default 1).
    public static var soakFactor: Int {
        guard let s = environment("YSYNC_SOAK"), let n = Int(s), n > 0 else { return 1 }
        return n
    }

    /// `YSYNC_SEED=N` restricts seeded random tests to that one seed (to replay a failure).
    public static var onlySeed: UInt64? {
        environment("YSYNC_SEED").flatMap { UInt64($0) }
    }

    /// Seeds `0..<base*soak` (or just `YSYNC_SEED`), offset by `salt` so that suites differ.
    public static func seeds(base: Int, salt: UInt64 = 0) -> [UInt64] {
        if let only = onlySeed { return [only] }
        return (0..<UInt64(base * soakFactor)).map { $0 &+ salt }
    }

    public static func environment(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
