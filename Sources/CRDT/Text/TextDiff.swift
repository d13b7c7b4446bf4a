/// Minimal diffs of symbol sequences, for replacing a text with as few deletions and insertions as
/// possible (`YText.replace(with:)`), so that concurrent edits in the regions a replacement does not
/// touch survive the merge.
///
/// The algorithm is Myers' O((N+M)·D) difference algorithm in its linear-space form: find the
/// middle of an optimal edit path by searching from both ends at once, split there, recurse. The
/// common prefix and suffix are removed first at every level. The result is minimal (fewest symbols
/// deleted plus inserted) unless the search exceeds a work budget: then the sequences are diffed
/// by lines first and every changed block of lines by symbols within what is left of the budget, so
/// a large, very different input still gets a usable (line-granular, possibly non-minimal) diff in
/// bounded time. Applying the hunks always yields the target exactly.
public enum TextDiff {
    /// One replaced region: `old[oldRange]` becomes `new[newRange]` (either side may be empty).
    public struct Hunk: Equatable, Hashable, Sendable, CustomStringConvertible {
        /// Indexes into the old symbol sequence that are replaced.
        public var oldRange: Range<Int>
        /// Indexes into the new symbol sequence that replace them.
        public var newRange: Range<Int>

        /// A hunk replacing `old[oldRange]` with `new[newRange]`.
        public init(oldRange: Range<Int>, newRange: Range<Int>) {
            self.oldRange = oldRange
            self.newRange = newRange
        }

        /// "old[a..<b] -> new[c..<d]".
        public var description: String {
            "old[\(oldRange.lowerBound)..<\(oldRange.upperBound)] -> new[\(newRange.lowerBound)..<\(newRange.upperBound)]"
        }
    }

    /// Default work budget: symbol comparisons plus diagonals visited, about a tenth of a second
    /// in a release build. Texts that differ by up to a few thousand symbols stay well inside it.
    public static let defaultBudget = 20_000_000

    /// The symbol `\n`, where the line-level fallback cuts lines.
    static let newline: UInt32 = 0x0A

    /// Hunks that turn `old` into `new`: sorted, non-overlapping and never adjacent (neighbouring
    /// changes are one hunk). Empty when the sequences are equal.
    public static func hunks(from old: [UInt32], to new: [UInt32], budget: Int = defaultBudget) -> [Hunk] {
        old.withUnsafeBufferPointer { a in
            new.withUnsafeBufferPointer { b in
                hunks(a, b, budget: budget)
            }
        }
    }

    /// Code-point hunks between two strings (ranges count Unicode scalars).
    public static func hunks(from old: String, to new: String, budget: Int = defaultBudget) -> [Hunk] {
        hunks(from: scalars(old), to: scalars(new), budget: budget)
    }

    /// The Unicode scalar values of `s`.
    public static func scalars(_ s: String) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars { out.append(u.value) }
        return out
    }

    /// Applies `hunks` (as returned for `old` -> `new`) to `old`, taking inserted symbols from `new`.
    public static func apply<T>(_ hunks: [Hunk], to old: [T], insertingFrom new: [T]) -> [T] {
        var out: [T] = []
        out.reserveCapacity(new.count)
        var pos = 0
        for h in hunks {
            out.append(contentsOf: old[pos..<h.oldRange.lowerBound])
            out.append(contentsOf: new[h.newRange])
            pos = h.oldRange.upperBound
        }
        out.append(contentsOf: old[pos...])
        return out
    }

    // MARK: - Driver

    static func hunks(_ a: UnsafeBufferPointer<UInt32>, _ b: UnsafeBufferPointer<UInt32>, budget: Int) -> [Hunk] {
        // Common prefix and suffix first: for a typical edit nothing else remains to be searched.
        var lo = 0
        let minCount = min(a.count, b.count)
        while lo < minCount && a[lo] == b[lo] { lo += 1 }
        var aHi = a.count, bHi = b.count
        while aHi > lo && bHi > lo && a[aHi - 1] == b[bHi - 1] {
            aHi -= 1
            bHi -= 1
        }
        if lo == aHi && lo == bHi { return [] }
        if lo == aHi || lo == bHi { return [Hunk(oldRange: lo..<aHi, newRange: lo..<bHi)] }

        var search = MyersSearch(a: a, b: b, budget: budget)
        search.diff(lo, aHi, lo, bHi)
        if !search.exhausted { return search.hunks }

        // Too much work symbol by symbol: diff the lines, then refine each changed block.
        return lineThenSymbolHunks(a, b, aLo: lo, aHi: aHi, bLo: lo, bHi: bHi, budget: budget)
    }

    /// Diffs the lines of `a[aLo..<aHi]` and `b[bLo..<bHi]`, then each changed block of lines
    /// symbol by symbol, sharing `budget` between the blocks.
    static func lineThenSymbolHunks(
        _ a: UnsafeBufferPointer<UInt32>, _ b: UnsafeBufferPointer<UInt32>,
        aLo: Int, aHi: Int, bLo: Int, bHi: Int, budget: Int
    ) -> [Hunk] {
        var ids: [ArraySlice<UInt32>: UInt32] = [:]
        func lines(_ s: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int) -> (tokens: [UInt32], starts: [Int]) {
            var tokens: [UInt32] = []
            var starts: [Int] = []
            var i = lo
            while i < hi {
                var j = i
                while j < hi && s[j] != newline { j += 1 }
                if j < hi { j += 1 }  // the line keeps its newline
                let line = ArraySlice(UnsafeBufferPointer(rebasing: s[i..<j]))
                let id: UInt32
                if let known = ids[line] {
                    id = known
                } else {
                    id = UInt32(ids.count)
                    ids[line] = id
                }
                tokens.append(id)
                starts.append(i)
                i = j
            }
            starts.append(hi)
            return (tokens, starts)
        }
        let la = lines(a, aLo, aHi)
        let lb = lines(b, bLo, bHi)
        let lineHunks: [Hunk] = la.tokens.withUnsafeBufferPointer { ta in
            lb.tokens.withUnsafeBufferPointer { tb in
                var s = MyersSearch(a: ta, b: tb, budget: budget)
                s.diff(0, ta.count, 0, tb.count)
                return s.hunks
            }
        }
        // Refine every block with an equal share of what is left of the budget (what a block does
        // not use goes to the next ones). A block whose share is gone is still trimmed of its
        // common prefix and suffix, which costs no search.
        var left = budget
        var refine = MyersSearch(a: a, b: b, budget: 0)
        for (i, h) in lineHunks.enumerated() {
            let oa = la.starts[h.oldRange.lowerBound], ob = la.starts[h.oldRange.upperBound]
            let na = lb.starts[h.newRange.lowerBound], nb = lb.starts[h.newRange.upperBound]
            let share = max(left, 0) / (lineHunks.count - i)
            refine.budget = share
            refine.diff(oa, ob, na, nb)
            left -= share - refine.budget
        }
        return refine.hunks
    }
}

/// Myers' linear-space search over two buffers; collects hunks in order.
struct MyersSearch {
    let a: UnsafeBufferPointer<UInt32>
    let b: UnsafeBufferPointer<UInt32>
    /// Work left (symbol comparisons and diagonals visited).
    var budget: Int
    /// Set once the budget ran out; the rest was diffed coarsely.
    var exhausted = false
    private(set) var hunks: [TextDiff.Hunk] = []
    /// Furthest-reaching x per diagonal, forward and backward (reused between calls).
    private var forward: [Int] = []
    private var backward: [Int] = []

    init(a: UnsafeBufferPointer<UInt32>, b: UnsafeBufferPointer<UInt32>, budget: Int) {
        self.a = a
        self.b = b
        self.budget = budget
    }

    /// Records that `a[aLo..<aHi]` is replaced by `b[bLo..<bHi]`, joining the previous hunk when
    /// they touch.
    mutating func emit(_ aLo: Int, _ aHi: Int, _ bLo: Int, _ bHi: Int) {
        if aLo == aHi && bLo == bHi { return }
        if let last = hunks.last, last.oldRange.upperBound == aLo, last.newRange.upperBound == bLo {
            hunks[hunks.count - 1] = TextDiff.Hunk(oldRange: last.oldRange.lowerBound..<aHi, newRange: last.newRange.lowerBound..<bHi)
        } else {
            hunks.append(TextDiff.Hunk(oldRange: aLo..<aHi, newRange: bLo..<bHi))
        }
    }

    /// Diffs `a[aLo..<aHi]` against `b[bLo..<bHi]`, appending hunks (callers go left to right).
    mutating func diff(_ aLo: Int, _ aHi: Int, _ bLo: Int, _ bHi: Int) {
        var aLo = aLo, aHi = aHi, bLo = bLo, bHi = bHi
        while aLo < aHi && bLo < bHi && a[aLo] == b[bLo] {
            aLo += 1
            bLo += 1
        }
        while aLo < aHi && bLo < bHi && a[aHi - 1] == b[bHi - 1] {
            aHi -= 1
            bHi -= 1
        }
        if aLo == aHi || bLo == bHi {
            emit(aLo, aHi, bLo, bHi)
            return
        }
        guard let (x, y) = split(aLo, aHi, bLo, bHi) else {
            exhausted = true
            emit(aLo, aHi, bLo, bHi)
            return
        }
        // A split at a corner would recurse on the same problem; it cannot happen (a D-path's
        // middle is strictly inside when D >= 2), but never loop on it.
        if (x == aLo && y == bLo) || (x == aHi && y == bHi) {
            assertionFailure("Myers split at a corner")
            emit(aLo, aHi, bLo, bHi)
            return
        }
        diff(aLo, x, bLo, y)
        diff(x, aHi, y, bHi)
    }

    /// A point on an optimal edit path from (aLo, bLo) to (aHi, bHi), strictly between the two
    /// corners; nil when the budget runs out. Both ranges are non-empty, and their first and last
    /// symbols differ.
    ///
    /// Points are (x, y) = (index into `a`, index into `b`), diagonals k = x - y. A forward search
    /// from (aLo, bLo) and a backward search from (aHi, bHi) advance one edit at a time, each
    /// keeping the furthest point it reached on every diagonal within its range (which grows by
    /// one diagonal at each end per step until it meets the edges of the grid, then shrinks there
    /// so that its diagonals keep the step's parity). When the frontiers overlap on a diagonal, the
    /// furthest-reaching path that got there lies on an optimal path (Myers 1986, lemma 3), so its
    /// end is a valid split.
    mutating func split(_ aLo: Int, _ aHi: Int, _ bLo: Int, _ bHi: Int) -> (Int, Int)? {
        let kMin = aLo - bHi, kMax = aHi - bLo  // the grid's diagonals
        let fMid = aLo - bLo, bMid = aHi - bHi  // where each search starts
        let offset = 1 - kMin                   // index of diagonal k = k + offset
        let size = kMax - kMin + 3
        if forward.count < size {
            forward = [Int](repeating: 0, count: size)
            backward = [Int](repeating: 0, count: size)
        }
        // With an odd distance between the start diagonals the frontiers can first meet while the
        // forward search moves, with an even one while the backward search moves.
        let odd = (fMid - bMid) & 1 != 0
        let a = self.a, b = self.b
        var work = budget
        defer { budget = work }

        return forward.withUnsafeMutableBufferPointer { vf in
            backward.withUnsafeMutableBufferPointer { vb -> (Int, Int)? in
                var fLo = fMid, fHi = fMid, bLo2 = bMid, bHi2 = bMid
                vf[fMid + offset] = aLo
                vb[bMid + offset] = aHi
                while true {
                    if work <= 0 { return nil }
                    // Forward step. Sentinels just outside the range make the edge choices.
                    if fLo > kMin { fLo -= 1; vf[fLo - 1 + offset] = -1 } else { fLo += 1 }
                    if fHi < kMax { fHi += 1; vf[fHi + 1 + offset] = -1 } else { fHi -= 1 }
                    var k = fHi
                    while k >= fLo {
                        let left = vf[k - 1 + offset], up = vf[k + 1 + offset]
                        var x = left >= up ? left + 1 : up  // a deletion from diagonal k-1, or an insertion from k+1
                        var y = x - k
                        let x0 = x
                        while x < aHi && y < bHi && a[x] == b[y] {
                            x += 1
                            y += 1
                        }
                        work -= 1 + (x - x0)
                        vf[k + offset] = x
                        if odd && bLo2 <= k && k <= bHi2 && vb[k + offset] <= x { return (x, y) }
                        k -= 2
                    }
                    // Backward step.
                    if bLo2 > kMin { bLo2 -= 1; vb[bLo2 - 1 + offset] = Int.max } else { bLo2 += 1 }
                    if bHi2 < kMax { bHi2 += 1; vb[bHi2 + 1 + offset] = Int.max } else { bHi2 -= 1 }
                    k = bHi2
                    while k >= bLo2 {
                        let left = vb[k - 1 + offset], up = vb[k + 1 + offset]
                        var x = left < up ? left : up - 1
                        var y = x - k
                        let x0 = x
                        while x > aLo && y > bLo && a[x - 1] == b[y - 1] {
                            x -= 1
                            y -= 1
                        }
                        work -= 1 + (x0 - x)
                        vb[k + offset] = x
                        if !odd && fLo <= k && k <= fHi && x <= vf[k + offset] { return (x, y) }
                        k -= 2
                    }
                }
            }
        }
    }
}
