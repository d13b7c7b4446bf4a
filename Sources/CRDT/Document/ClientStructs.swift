/// The structs of one client, sorted by clock, in chunks so that inserting a split in the
/// middle costs O(chunk) instead of O(n). Entries pack `clock << 32 | ref`, so a binary search
/// on the packed value is a search by clock and needs no arena access.
struct ClientStructs {
    private(set) var chunks: [[UInt64]] = []
    /// First clock of each chunk, searched before touching the chunks themselves.
    private var firstClocks: [Clock] = []
    /// One past the last clock covered (the client's state).
    var state: Clock = 0
    private(set) var count = 0

    private static let maxChunk = 512

    @inline(__always) static func pack(_ clock: Clock, _ ref: ItemRef) -> UInt64 {
        UInt64(clock) << 32 | UInt64(UInt32(bitPattern: ref))
    }
    @inline(__always) static func ref(_ packed: UInt64) -> ItemRef { ItemRef(bitPattern: UInt32(truncatingIfNeeded: packed)) }
    @inline(__always) static func clock(_ packed: UInt64) -> Clock { Clock(packed >> 32) }

    var isEmpty: Bool { count == 0 }

    var last: ItemRef {
        guard let c = chunks.last, let e = c.last else { return noItem }
        return Self.ref(e)
    }

    var first: ItemRef {
        guard let c = chunks.first, let e = c.first else { return noItem }
        return Self.ref(e)
    }

    /// Appends a struct that starts at the current state.
    mutating func append(_ ref: ItemRef, clock: Clock, length: Clock) {
        let packed = Self.pack(clock, ref)
        if chunks.isEmpty || chunks[chunks.count - 1].count >= Self.maxChunk {
            // No up-front reservation: most clients of a document hold a few structs (B3: 1,540
            // clients of one struct each would reserve 4 KiB apiece); a chunk grows geometrically.
            chunks.append([packed])
            firstClocks.append(clock)
        } else {
            chunks[chunks.count - 1].append(packed)
        }
        count += 1
        state = clock &+ length
    }

    /// Chunk index that may contain `clock` (the last chunk whose first clock <= clock).
    @inline(__always) private func chunkIndex(for clock: Clock) -> Int {
        firstClocks.withUnsafeBufferPointer { f in
            if f[f.count - 1] <= clock { return f.count - 1 }
            var lo = 0, hi = f.count - 1
            while lo < hi {
                let mid = (lo + hi + 1) >> 1
                if f[mid] <= clock { lo = mid } else { hi = mid - 1 }
            }
            return lo
        }
    }

    /// The struct whose range contains `clock` (the caller checks clock < state).
    func find(_ clock: Clock) -> ItemRef {
        guard !chunks.isEmpty else { return noItem }
        let ci = chunkIndex(for: clock)
        let key = UInt64(clock) << 32 | 0xFFFF_FFFF
        return chunks[ci].withUnsafeBufferPointer { c in
            // Appends and local edits mostly look up the newest struct.
            if c[c.count - 1] <= key { return Self.ref(c[c.count - 1]) }
            var lo = 0, hi = c.count - 1
            while lo < hi {
                let mid = (lo + hi + 1) >> 1
                if c[mid] <= key { lo = mid } else { hi = mid - 1 }
            }
            return Self.ref(c[lo])
        }
    }

    /// Inserts a struct created by splitting; its clock is not yet present.
    mutating func insert(_ ref: ItemRef, clock: Clock) {
        let packed = Self.pack(clock, ref)
        let ci = chunkIndex(for: clock)
        var lo = 0, hi = chunks[ci].count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if chunks[ci][mid] < packed { lo = mid + 1 } else { hi = mid }
        }
        chunks[ci].insert(packed, at: lo)
        count += 1
        if chunks[ci].count > Self.maxChunk * 2 {
            let upper = Array(chunks[ci][Self.maxChunk...])
            chunks[ci].removeSubrange(Self.maxChunk...)
            chunks.insert(upper, at: ci + 1)
            firstClocks.insert(Self.clock(upper[0]), at: ci + 1)
        }
    }

    /// Removes the struct that starts at `clock` (after it was merged into its left neighbour).
    mutating func remove(clock: Clock) {
        let ci = chunkIndex(for: clock)
        let key = UInt64(clock) << 32
        var lo = 0, hi = chunks[ci].count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if chunks[ci][mid] < key { lo = mid + 1 } else { hi = mid }
        }
        precondition(lo < chunks[ci].count && Self.clock(chunks[ci][lo]) == clock, "struct store out of sync")
        chunks[ci].remove(at: lo)
        count -= 1
        if chunks[ci].isEmpty {
            chunks.remove(at: ci)
            firstClocks.remove(at: ci)
        } else if lo == 0 {
            firstClocks[ci] = Self.clock(chunks[ci][0])
        }
    }

    /// Replaces the ref stored for the struct starting at `clock`.
    mutating func replace(clock: Clock, with ref: ItemRef) {
        let ci = chunkIndex(for: clock)
        let key = UInt64(clock) << 32
        var lo = 0, hi = chunks[ci].count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if chunks[ci][mid] < key { lo = mid + 1 } else { hi = mid }
        }
        chunks[ci][lo] = Self.pack(clock, ref)
    }

    /// All refs in clock order.
    func forEach(_ body: (ItemRef) -> Void) {
        for c in chunks { for e in c { body(Self.ref(e)) } }
    }

    /// Chunk and position of the struct containing `clock`.
    private func position(of clock: Clock) -> (chunk: Int, index: Int) {
        let ci = chunkIndex(for: clock)
        let key = UInt64(clock) << 32 | 0xFFFF_FFFF
        var lo = 0, hi = chunks[ci].count - 1
        while lo < hi {
            let mid = (lo + hi + 1) >> 1
            if chunks[ci][mid] <= key { lo = mid } else { hi = mid - 1 }
        }
        return (ci, lo)
    }

    /// Appends the refs of the struct containing `clock` and of all later structs to `out`.
    func appendRefs(from clock: Clock, to out: inout [ItemRef]) {
        guard !chunks.isEmpty else { return }
        var (ci, i) = position(of: clock)
        while ci < chunks.count {
            chunks[ci].withUnsafeBufferPointer { buf in
                while i < buf.count {
                    out.append(Self.ref(buf[i]))
                    i += 1
                }
            }
            ci += 1
            i = 0
        }
    }

    /// Refs of structs starting at or after the struct containing `clock`, in clock order,
    /// until `body` returns false.
    func forEach(from clock: Clock, _ body: (ItemRef) -> Bool) {
        guard !chunks.isEmpty else { return }
        var (ci, i) = position(of: clock)
        while ci < chunks.count {
            let c = chunks[ci]
            while i < c.count {
                if !body(Self.ref(c[i])) { return }
                i += 1
            }
            ci += 1
            i = 0
        }
    }
}
