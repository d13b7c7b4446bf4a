import CLISupport
/// The inputs of the crdt-benchmarks scenarios (dmonad/crdt-benchmarks B1–B3), generated from a
/// fixed seed. Benchmarks/crdt_workload.py is the same generator in Python, draw for draw, so
/// ysync, pycrdt and loro run identical edits; the driver checks that by comparing final contents.
///
/// Draws (SplitMix64): int(lo, hi) = lo + next() % (hi - lo + 1); bool = next() % 2 == 1;
/// word(min, max) = int(min, max) letters, each "a" + next() % 26.
/// crdt-benchmarks draws all scenarios from one lib0 PRNG (seed 42) in run order; here every
/// scenario has its own generator (seed + a fixed offset), so `--only` does not change the inputs.
struct WorkloadRandom {
    private var g: SplitMix

    init(seed: UInt64) { g = SplitMix(seed: seed) }

    mutating func int(_ lo: Int, _ hi: Int) -> Int {
        lo + Int(g.next() % UInt64(hi - lo + 1))
    }

    mutating func bool() -> Bool { g.next() % 2 == 1 }

    mutating func word(_ minLength: Int, _ maxLength: Int) -> String {
        let n = int(minLength, maxLength)
        var bytes = [UInt8](repeating: 0, count: n)
        for i in 0..<n { bytes[i] = 97 + UInt8(g.next() % 26) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// One text edit; positions are ASCII characters (= UTF-16 units = code points).
enum TextOp {
    case insert(Int, String)
    case delete(Int, Int)
}

/// A plain ASCII buffer mirroring the edits: the expected final text.
struct PlainText {
    var bytes: [UInt8] = []

    init(_ s: String = "") { bytes = Array(s.utf8) }

    var count: Int { bytes.count }
    var string: String { String(decoding: bytes, as: UTF8.self) }

    mutating func apply(_ op: TextOp) {
        switch op {
        case let .insert(at, s): bytes.insert(contentsOf: s.utf8, at: at)
        case let .delete(at, n): bytes.removeSubrange(at..<(at + n))
        }
    }
}

enum CrdtWorkload {
    /// Seed offsets per scenario (added to `--seed`).
    static func seed(_ base: UInt64, _ id: String) -> UInt64 {
        let offsets: [String: UInt64] = [
            "B1.1": 101, "B1.2": 102, "B1.3": 103, "B1.4": 104, "B1.5": 105, "B1.6": 106, "B1.7": 107,
            "B2.0": 200, "B2.1": 201, "B2.2": 202, "B2.3": 203, "B2.4": 204,
        ]
        return base &+ (offsets[id] ?? 0)
    }

    /// B1: the edits of one client (each op its own transaction) and the expected text.
    static func b1(_ id: String, n: Int, seed: UInt64) -> (ops: [TextOp], expected: String) {
        var r = WorkloadRandom(seed: Self.seed(seed, id))
        var ops: [TextOp] = []
        var text = PlainText()
        func emit(_ op: TextOp) { ops.append(op); text.apply(op) }
        switch id {
        case "B1.1":  // append N characters
            for (i, c) in r.word(n, n).enumerated() { emit(.insert(i, String(c))) }
        case "B1.2":  // insert a string of length N
            emit(.insert(0, r.word(n, n)))
        case "B1.3":  // prepend N characters (the final text is the string)
            let s = r.word(n, n)
            for c in s.reversed() { emit(.insert(0, String(c))) }
        case "B1.4":  // N characters at random positions
            for _ in 0..<n { let at = r.int(0, text.count); emit(.insert(at, r.word(1, 1))) }
        case "B1.5":  // N words (2-10) at random positions
            for _ in 0..<n { let at = r.int(0, text.count); emit(.insert(at, r.word(2, 10))) }
        case "B1.6":  // insert a string of length N, then delete it (two transactions)
            let s = r.word(n, n)
            emit(.insert(0, s))
            emit(.delete(0, n))
        case "B1.7":  // N random inserts (words 2-10) or deletes (1-9)
            for _ in 0..<n {
                let at = r.int(0, text.count)
                if at == text.count || r.bool() {
                    emit(.insert(at, r.word(2, 10)))
                } else {
                    emit(.delete(at, r.int(1, min(9, text.count - at))))
                }
            }
        default:
            preconditionFailure("not a B1 scenario: \(id)")
        }
        return (ops, text.string)
    }

    /// The 100-character text both B2 clients start from.
    static func b2InitialText(seed: UInt64) -> String {
        var r = WorkloadRandom(seed: Self.seed(seed, "B2.0"))
        return r.word(100, 100)
    }

    /// B2: the edits of client 1 and of client 2, each run in one transaction.
    static func b2(_ id: String, n: Int, seed: UInt64) -> ([TextOp], [TextOp]) {
        var r = WorkloadRandom(seed: Self.seed(seed, id))
        let initial = b2InitialText(seed: seed)
        func generate(_ r: inout WorkloadRandom) -> [TextOp] {
            var text = PlainText(initial)
            var ops: [TextOp] = []
            func emit(_ op: TextOp) { ops.append(op); text.apply(op) }
            for _ in 0..<n {
                let at = r.int(0, text.count)
                switch id {
                case "B2.2": emit(.insert(at, r.word(1, 1)))
                case "B2.3": emit(.insert(at, r.word(3, 9)))
                case "B2.4":
                    emit(.insert(at, r.word(3, 9)))
                    if at == text.count || r.bool() {
                        emit(.insert(at, r.word(2, 10)))
                    } else {
                        emit(.delete(at, r.int(1, min(9, text.count - at))))
                    }
                default: preconditionFailure("not a B2 scenario: \(id)")
                }
            }
            return ops
        }
        if id == "B2.1" {  // both insert a string of length N at index 0
            let a = r.word(n, n), b = r.word(n, n)
            return ([.insert(0, a)], [.insert(0, b)])
        }
        let a = generate(&r)
        let b = generate(&r)
        return (a, b)
    }

    /// B3: 20·⌊√N⌋ clients.
    static func b3Clients(n: Int) -> Int {
        var s = 0
        while (s + 1) * (s + 1) <= n { s += 1 }
        return s * 20
    }
}
