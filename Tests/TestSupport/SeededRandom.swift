import Sync

/// A deterministic random number generator: `Sync.SeededGenerator` (xoshiro256**, seeded through
/// SplitMix64) with the seed kept and helpers for tests. Put `seed` into every failure message:
/// rerunning with the same seed replays the same session.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public let seed: UInt64
    private var generator: SeededGenerator

    public init(seed: UInt64) {
        self.seed = seed
        generator = SeededGenerator(seed: seed)
    }

    public mutating func next() -> UInt64 { generator.next() }

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
