// Update-level operations without a document (spec 4.3-4.5): mergeUpdates, diffUpdate and
// encodeStateVectorFromUpdate. Nothing is integrated, so structs whose dependencies are missing
// (and holes, as Skips) survive a merge.
//
// The byte results follow Yjs 13 for well-formed input (each client in one group, groups in
// descending client order), including its quirks:
// - merge takes structs by client descending, clock ascending; among inputs whose next struct
//   starts at the same clock it keeps Yjs' choice (a stable re-sort after every step);
// - only GC+GC (and Skip+Skip) neighbours are combined, and only where Yjs' merge loop tries to;
// - items are re-emitted as a decoder sees them: an item with an origin loses info bit 0x20 (its
//   key is not on the wire, so Yjs' lazy reader has `parentSub == null`).
// Inputs whose groups are not in descending client order are taken as if they were (Yjs would
// then emit a client twice); duplicate client groups were already reduced by the decoder.

/// Operations on encoded updates without a document: merge, diff against a state vector, and the
/// state vector an update implies (Yjs' `mergeUpdates`, `diffUpdate`, `encodeStateVectorFromUpdate`).
public enum Updates {
    // MARK: merge

    /// `mergeUpdates`: a single input is returned as it is (after checking that it decodes).
    public static func merge(_ updates: [[UInt8]]) throws(DecodingError) -> [UInt8] {
        if updates.count == 1 {
            _ = try UpdateDecoderV1.decode(updates[0])
            return updates[0]
        }
        var decoded: [DecodedUpdate] = []
        decoded.reserveCapacity(updates.count)
        for u in updates { decoded.append(try UpdateDecoderV1.decode(u)) }
        return UpdateEncoderV1.encode(merge(decoded))
    }

    /// Merges decoded updates into one (see the byte form); a single input is returned as it is.
    public static func merge(_ updates: [DecodedUpdate]) -> DecodedUpdate {
        if updates.count == 1 { return updates[0] }
        var merger = Merger(updates)
        let groups = merger.run()
        var ds = DeleteSet()
        for u in updates {
            for (client, ranges) in u.deleteSet.clients where !ranges.isEmpty {
                ds.clients[client, default: []].append(contentsOf: ranges)
            }
        }
        ds.normalize()
        return DecodedUpdate(groups: groups, deleteSet: ds)
    }

    // MARK: diff

    /// `diffUpdate`: what `update` holds beyond `sv`.
    public static func diff(_ update: [UInt8], against sv: StateVector) throws(DecodingError) -> [UInt8] {
        UpdateEncoderV1.encode(diff(try UpdateDecoderV1.decode(update), against: sv))
    }

    /// Per client: structs ending at or before the vector's clock are dropped, the first one
    /// reaching past it is cut there (offset writing), the rest is copied; a group never starts
    /// with a Skip. Group order and the delete set are kept.
    public static func diff(_ update: DecodedUpdate, against sv: StateVector) -> DecodedUpdate {
        var groups: [DecodedUpdate.Group] = []
        groups.reserveCapacity(update.groups.count)
        for g in update.groups {
            let svClock = UInt64(sv[g.client])
            let structs = g.structs
            var out: [UpdateStruct] = []
            var i = 0
            while i < structs.count {
                let s = structs[i]
                i += 1
                if s.isSkip { continue }
                let start = UInt64(s.id.clock)
                if start + UInt64(s.length) > svClock {
                    let cut = svClock > start ? Clock(svClock - start) : 0
                    out.reserveCapacity(structs.count - i + 1)
                    out.append(asRead(s).sliced(from: cut))
                    while i < structs.count {
                        out.append(asRead(structs[i]))
                        i += 1
                    }
                }
            }
            if !out.isEmpty { groups.append(DecodedUpdate.Group(client: g.client, structs: out)) }
        }
        return DecodedUpdate(groups: groups, deleteSet: update.deleteSet)
    }

    // MARK: state vector

    /// `encodeStateVectorFromUpdate`, as a map.
    public static func stateVector(of update: [UInt8]) throws(DecodingError) -> StateVector {
        stateVector(of: try UpdateDecoderV1.decode(update))
    }

    /// For each group that starts at clock 0: the end of its run of structs up to the first Skip.
    /// (Yjs counts a leading Skip of the update's very first group; that quirk is not copied.)
    public static func stateVector(of update: DecodedUpdate) -> StateVector {
        var sv = StateVector()
        for g in update.groups {
            guard let first = g.structs.first, first.id.clock == 0 else { continue }
            var clock: Clock = 0
            for s in g.structs {
                if s.isSkip { break }
                clock = s.endClock
            }
            if clock != 0 { sv[g.client] = clock }
        }
        return sv
    }

    // MARK: helpers

    /// The struct as Yjs' lazy update reader holds it: an item with an origin or right origin
    /// has no key (it is not on the wire), so re-encoding clears info bit 0x20.
    static func asRead(_ s: UpdateStruct) -> UpdateStruct {
        guard case var .item(item) = s, item.origin != nil || item.rightOrigin != nil,
              item.hasParentSub || item.parentSub != nil || item.parent != nil else { return s }
        item.parent = nil
        item.parentSub = nil
        item.hasParentSub = false
        return .item(item)
    }
}

/// The merge loop. Each input is a cursor over its non-Skip structs (Yjs' merge filters input
/// Skips and re-creates holes). Cursors live in a heap ordered like Yjs' sort: client
/// descending, clock ascending, and among equals the cursor that moved most recently first —
/// which is what re-running a stable sort after moving only the first cursor gives.
struct Merger {
    /// Walks one input's structs (its groups sorted by client descending), passing over Skips.
    /// The group arrays are shared with the input, not copied.
    struct Cursor {
        var groups: [[UpdateStruct]]
        var g = 0
        var i = 0
        var seq: Int

        init(groups: [[UpdateStruct]], seq: Int) {
            self.groups = groups
            self.seq = seq
            settle()
        }

        var isDone: Bool { g >= groups.count }
        var current: UpdateStruct? { g < groups.count ? groups[g][i] : nil }
        /// Id and end clock of the current struct (the cursor must not be done).
        var id: ID { groups[g][i].id }
        var end: UInt64 { UInt64(groups[g][i].id.clock) + UInt64(groups[g][i].length) }

        mutating func advance() {
            i += 1
            settle()
        }

        private mutating func settle() {
            while g < groups.count {
                if i < groups[g].count {
                    if !groups[g][i].isSkip { return }
                    i += 1
                } else {
                    g += 1
                    i = 0
                }
            }
        }
    }

    var cursors: [Cursor] = []
    var heap: [Int] = []
    var nextSeq = -1
    var groups: [DecodedUpdate.Group] = []
    /// Upper bound of structs per client over all inputs, to size output groups once.
    var structsPerClient: [ClientID: Int] = [:]

    init(_ updates: [DecodedUpdate]) {
        for (n, u) in updates.enumerated() {
            let sorted = u.groups.enumerated().sorted {
                $0.element.client != $1.element.client ? $0.element.client > $1.element.client : $0.offset < $1.offset
            }
            for (_, g) in sorted { structsPerClient[g.client, default: 0] += g.structs.count }
            let cursor = Cursor(groups: sorted.map { $0.element.structs }, seq: n)
            if !cursor.isDone { cursors.append(cursor) }
        }
        for c in cursors.indices { push(c) }
    }

    // MARK: heap

    func less(_ a: Int, _ b: Int) -> Bool {
        let x = cursors[a].id
        let y = cursors[b].id
        if x.client != y.client { return x.client > y.client }
        if x.clock != y.clock { return x.clock < y.clock }
        return cursors[a].seq < cursors[b].seq
    }

    mutating func push(_ c: Int) {
        heap.append(c)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Int? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, less(heap[l], heap[m]) { m = l }
                if r < heap.count, less(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return top
    }

    /// Puts a cursor back after it was worked on; it goes first among equal keys.
    mutating func reinsert(_ c: Int) {
        guard !cursors[c].isDone else { return }
        cursors[c].seq = nextSeq
        nextSeq -= 1
        push(c)
    }

    // MARK: output

    mutating func write(_ s: UpdateStruct) {
        if let last = groups.indices.last, groups[last].client == s.id.client {
            groups[last].structs.append(s)
        } else {
            var structs: [UpdateStruct] = []
            // Inputs' structs plus a few Skips for holes; grows if there are more holes.
            structs.reserveCapacity((structsPerClient[s.id.client] ?? 0) + 4)
            structs.append(s)
            groups.append(DecodedUpdate.Group(client: s.id.client, structs: structs))
        }
    }

    /// The cursor's current struct as a decoder would see it (see `Updates.asRead`).
    func take(_ c: Int) -> UpdateStruct { Updates.asRead(cursors[c].current!) }

    static func end(_ s: UpdateStruct) -> UInt64 { UInt64(s.id.clock) + UInt64(s.length) }

    /// GC absorbs GC and Skip absorbs Skip; items never merge here (Yjs' item merge needs the
    /// right neighbour link that lazily read items do not have).
    static func mergeWith(_ left: UpdateStruct, _ right: UpdateStruct) -> UpdateStruct? {
        switch (left, right) {
        case let (.gc(id, a), .gc(_, b)) where UInt64(a) + UInt64(b) <= UInt64(Clock.max):
            return .gc(id: id, length: a + b)
        case let (.skip(id, a), .skip(_, b)) where UInt64(a) + UInt64(b) <= UInt64(Clock.max):
            return .skip(id: id, length: a + b)
        default:
            return nil
        }
    }

    mutating func run() -> [DecodedUpdate.Group] {
        var pending: UpdateStruct? = nil // the last struct taken, not yet written
        var pendingEnd: UInt64 = 0
        while let d = pop() {
            let firstClient = cursors[d].id.client
            if let cw = pending {
                var iterated = false
                // Drop what the pending struct already covers.
                while !cursors[d].isDone, cursors[d].end <= pendingEnd, cursors[d].id.client >= cw.id.client {
                    cursors[d].advance()
                    iterated = true
                }
                guard !cursors[d].isDone, cursors[d].id.client == firstClient,
                      !(iterated && UInt64(cursors[d].id.clock) > pendingEnd) else {
                    // Another input may fill the gap first: re-sort.
                    reinsert(d)
                    continue
                }
                let cID = cursors[d].id
                if firstClient != cw.id.client {
                    write(cw)
                    pending = take(d)
                    cursors[d].advance()
                } else if pendingEnd < UInt64(cID.clock) {
                    // A hole between inputs becomes a Skip.
                    if case let .skip(id, _) = cw {
                        pending = .skip(id: id, length: Clock(cursors[d].end - UInt64(id.clock)))
                    } else {
                        write(cw)
                        let gapStart = Clock(pendingEnd)
                        pending = .skip(id: ID(client: firstClient, clock: gapStart), length: cID.clock - gapStart)
                    }
                } else {
                    var left = cw
                    var c = take(d)
                    let overlap = Clock(pendingEnd - UInt64(cID.clock))
                    if overlap > 0 {
                        if case let .skip(id, length) = cw {
                            left = .skip(id: id, length: length - overlap) // keep the real content
                        } else {
                            c = c.sliced(from: overlap)
                        }
                    }
                    if let merged = Self.mergeWith(left, c) {
                        pending = merged
                    } else {
                        write(left)
                        pending = c
                        cursors[d].advance()
                    }
                }
            } else {
                pending = take(d)
                cursors[d].advance()
            }
            pendingEnd = Self.end(pending!)
            // Copy the contiguous run that follows in the same input.
            while !cursors[d].isDone, cursors[d].id.client == firstClient, UInt64(cursors[d].id.clock) == pendingEnd {
                write(pending!)
                pending = take(d)
                pendingEnd = cursors[d].end
                cursors[d].advance()
            }
            reinsert(d)
        }
        if let cw = pending { write(cw) }
        return groups
    }
}
