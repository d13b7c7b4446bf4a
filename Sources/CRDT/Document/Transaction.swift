/// The bookkeeping of the open transaction. Its buffers are kept between transactions so that
/// a keystroke does not allocate them again.
struct TransactionState {
    var active = false
    var origin: String?
    var isLocal = true
    /// Client states when the transaction began, by client index (missing = 0).
    var beforeState: [Clock] = []
    var deleteSet = DeleteSet()
    /// Deletions of the most recent client, gathered without a dictionary lookup each and
    /// folded into `deleteSet` when another client deletes or at commit.
    var recentDeleteClient: ClientID = .max
    var recentDeletes: [ClockRange] = []

    /// Records deleted ids; a range that continues the previous one extends it.
    @inline(__always)
    mutating func recordDelete(client: ClientID, clock: Clock, length: Clock) {
        guard length > 0 else { return }
        if client != recentDeleteClient { flushDeletes(); recentDeleteClient = client }
        if let last = recentDeletes.last, last.end == clock {
            recentDeletes[recentDeletes.count - 1].length += length
        } else {
            recentDeletes.append(ClockRange(clock: clock, length: length))
        }
    }

    mutating func flushDeletes() {
        guard !recentDeletes.isEmpty else { return }
        if recentDeletes.count == 1 {
            deleteSet.clients[recentDeleteClient, default: []].append(recentDeletes[0])
            recentDeletes.removeLast()  // (removeAll(keepingCapacity:) costs more for one element)
        } else {
            deleteSet.clients[recentDeleteClient, default: []].append(contentsOf: recentDeletes)
            recentDeletes.removeAll(keepingCapacity: true)
        }
    }
    /// Items created by splits, tried for merging at commit.
    var mergeStructs: [ItemRef] = []

    @inline(__always) func before(_ c: ClientIndex) -> Clock {
        Int(c) < beforeState.count ? beforeState[Int(c)] : 0
    }
}

extension DocStore {
    /// Opens a transaction unless one is open; returns whether it did (the caller then commits).
    mutating func beginIfNeeded(origin: String? = nil, isLocal: Bool = true) -> Bool {
        if txn.active { return false }
        begin(origin: origin, isLocal: isLocal)
        return true
    }

    mutating func begin(origin: String?, isLocal: Bool) {
        txn.active = true
        txn.origin = origin
        txn.isLocal = isLocal
        // Reuse the buffers of the previous transaction (removeAll is not free, skip it when empty).
        let n = clientStructs.count
        if txn.beforeState.count == n {
            for i in 0..<n { txn.beforeState[i] = clientStructs[i].state }
        } else {
            txn.beforeState.removeAll(keepingCapacity: true)
            for i in 0..<n { txn.beforeState.append(clientStructs[i].state) }
        }
        if !txn.deleteSet.clients.isEmpty { txn.deleteSet.clients.removeAll(keepingCapacity: true) }
        txn.recentDeleteClient = .max  // recentDeletes was emptied by the last commit's flush
        if !txn.mergeStructs.isEmpty { txn.mergeStructs.removeAll(keepingCapacity: true) }
    }

    /// Ends the transaction: GC, merge passes (Yjs' order), client-id collision check, and the
    /// update for observers (written after the merges, as Yjs does).
    mutating func commit() {
        guard txn.active else { return }
        txn.flushDeletes()
        txn.deleteSet.normalize()
        let ds = txn.deleteSet
        if gc { garbageCollect(ds) }
        mergeAroundDeletes(ds)
        // Merge the new structs of every client whose state advanced, right to left.
        for i in 0..<clientStructs.count {
            let before = txn.before(ClientIndex(i))
            if clientStructs[i].state != before {
                mergeNewStructs(ClientIndex(i), from: before)
            }
        }
        // Merge around the items split during the transaction.
        var k = txn.mergeStructs.count - 1
        while k >= 0 {
            let r = items[Int(txn.mergeStructs[k])]
            k -= 1
            let c = r.client
            // The split-off struct may have been merged away already; look it up by clock.
            let cur = find(c, r.clock)
            let curRec = items[Int(cur)]
            let next = curRec.clock + curRec.length
            if next < clientStructs[Int(c)].state {
                if tryMergeWithLefts(c, startingAt: find(c, next)) > 1 { continue }
            }
            if curRec.clock > 0 {
                tryMergeWithLefts(c, startingAt: cur)
            }
        }
        // Client-id collision: a remote transaction advanced our own state.
        if !txn.isLocal, let me = clientIndexOf[clientID], clientStructs[Int(me)].state != txn.before(me) {
            clientID = ClientID(UInt32.random(in: 1...UInt32.max))
        }
        if wantsUpdates { emitUpdate() }
        txn.active = false
    }

    private mutating func emitUpdate() {
        var advanced = false
        for i in 0..<clientStructs.count where clientStructs[i].state != txn.before(ClientIndex(i)) {
            advanced = true
            break
        }
        guard advanced || !txn.deleteSet.isEmpty else { return }
        var w = Lib0Writer(capacity: 96)
        writeStructs(into: &w, before: txn.beforeState)
        UpdateEncoderV1.writeDeleteSet(txn.deleteSet, into: &w)
        outbox = UpdateEvent(update: w.bytes, origin: txn.origin, isLocal: txn.isLocal)
    }

    // MARK: - Merging neighbouring structs (Yjs' end-of-transaction pass)

    /// Tries to merge the struct at `ref` into its left neighbours in the client store;
    /// returns how many merges happened.
    @discardableResult
    mutating func tryMergeWithLefts(_ c: ClientIndex, startingAt ref: ItemRef) -> Int {
        tryMergeWithLeftsReturningSurvivor(c, startingAt: ref).merged
    }

    /// The struct before `ref` in its client's store (by clock), via the list link when it is
    /// the same struct, else by search. `ref` must not start at clock 0.
    @inline(__always)
    func clientPredecessor(_ c: ClientIndex, _ ref: ItemRef) -> ItemRef {
        let r = items[Int(ref)]
        if !r.isGC, r.left != noItem {
            let l = items[Int(r.left)]
            if l.client == c && l.clock &+ l.length == r.clock { return r.left }
        }
        return find(c, r.clock - 1)
    }

    /// The struct after `ref` in its client's store, or -1 at the end.
    @inline(__always)
    func clientSuccessor(_ c: ClientIndex, _ ref: ItemRef) -> ItemRef {
        let r = items[Int(ref)]
        let next = r.clock &+ r.length
        guard next < clientStructs[Int(c)].state else { return noItem }
        if !r.isGC, r.right != noItem {
            let n = items[Int(r.right)]
            if n.client == c && n.clock == next { return r.right }
        }
        return find(c, next)
    }

    /// Like `tryMergeWithLefts`, also returning the struct that absorbed `ref` (or `ref`).
    mutating func tryMergeWithLeftsReturningSurvivor(_ c: ClientIndex, startingAt ref: ItemRef) -> (merged: Int, survivor: ItemRef) {
        var right = ref
        var merged = 0
        while true {
            let r = items[Int(right)]
            guard r.clock > 0 else { break }
            let left: ItemRef
            if r.isGC {
                left = find(c, r.clock - 1)
            } else {
                // Two items only merge when the left one is also the list neighbour, so the
                // list link finds the candidate without searching the client store.
                let l = r.left
                guard l != noItem else { break }
                let lr = items[Int(l)]
                guard lr.client == c, lr.clock &+ lr.length == r.clock else { break }
                left = l
            }
            guard mergeStructs(left, right) else { break }
            merged += 1
            right = left
        }
        return (merged, right)
    }

    /// Merges `right` into `left` when Yjs would; keeps the arena and indexes consistent.
    mutating func mergeStructs(_ left: ItemRef, _ right: ItemRef) -> Bool {
        let l = items[Int(left)]
        let r = items[Int(right)]
        guard l.isDeleted == r.isDeleted, l.isGC == r.isGC else { return false }
        if l.isGC {
            items[Int(left)].length += r.length
            clientStructs[Int(l.client)].remove(clock: r.clock)
            return true
        }
        guard l.kind == r.kind, l.kind.isSplittable,
              r.originClient == l.client, r.originClock == l.lastClock,
              l.right == right,
              l.rightOriginClient == r.rightOriginClient,
              l.rightOriginClient == noClient || l.rightOriginClock == r.rightOriginClock,
              l.client == r.client, l.clock + l.length == r.clock
        else { return false }
        switch l.kind {
        case .string:
            if l.content + Int32(l.length) != r.content {
                // Not adjacent in the buffer: move both halves to the end.
                let ls = Int(l.content), rs = Int(r.content)
                let combined = Array(textUnits[ls..<ls + Int(l.length)]) + textUnits[rs..<rs + Int(r.length)]
                items[Int(left)].content = Int32(textUnits.count)
                textUnits.append(contentsOf: combined)
            }
        case .any:
            if case let .any(a) = contents[Int(l.content)], case let .any(b) = contents[Int(r.content)] {
                contents[Int(l.content)] = .any(a + b)
                contents[Int(r.content)] = .any([])
            }
        case .json:
            if case let .json(a) = contents[Int(l.content)], case let .json(b) = contents[Int(r.content)] {
                contents[Int(l.content)] = .json(a + b)
                contents[Int(r.content)] = .json([])
            }
        default:
            break
        }
        if r.keep { items[Int(left)].keep = true }
        if findCache == right { findCache = left }
        items[Int(left)].right = r.right
        if r.right != noItem { items[Int(r.right)].left = left }
        items[Int(left)].length += r.length
        if r.parentSub >= 0 && r.parent >= 0 && types[Int(r.parent)].map[r.parentSub] == right {
            types[Int(r.parent)].map[r.parentSub] = left
        }
        if r.parent >= 0 {
            let p = Int(r.parent)
            if types[p].cursorItem == right {
                types[p].cursorItem = left
                types[p].cursorIndex -= l.visibleLength
            }
        }
        clientStructs[Int(l.client)].remove(clock: r.clock)
        return true
    }

    /// Yjs `tryMergeDeleteSet`: merge around every deleted range, right to left.
    mutating func mergeAroundDeletes(_ ds: DeleteSet) {
        for (client, ranges) in ds.clients where !ranges.isEmpty {
            guard let c = clientIndexOf[client] else { continue }
            for range in ranges.reversed() {
                let state = clientStructs[Int(c)].state
                guard state > 0 else { continue }
                // Start with the struct after the last deleted one.
                let lastRef = find(c, min(range.end, state) - 1)
                let after = clientSuccessor(c, lastRef)
                var si = after == noItem ? lastRef : after
                while true {
                    let rec = items[Int(si)]
                    guard rec.clock > 0, rec.clock >= range.clock else { break }
                    let cur = tryMergeWithLeftsReturningSurvivor(c, startingAt: si).survivor
                    // The predecessor ends where the survivor starts; it can only start inside
                    // the range when the survivor starts after the range start.
                    guard items[Int(cur)].clock > range.clock else { break }
                    si = clientPredecessor(c, cur)
                }
            }
        }
    }

    /// Merge pass over the structs a client added in this transaction, right to left.
    mutating func mergeNewStructs(_ c: ClientIndex, from before: Clock) {
        guard clientStructs[Int(c)].count > 1 else { return }
        let last = clientStructs[Int(c)].last
        // firstChangePos = max(index of struct containing `before`, 1)
        let firstRef = items[Int(last)].clock <= before ? last : find(c, before)
        var firstClock = items[Int(firstRef)].clock
        if firstClock == 0 {
            // index 0 -> use index 1: the struct after the first one
            firstClock = items[Int(clientStructs[Int(c)].first)].length
        }
        if items[Int(last)].clock <= firstClock {
            // Usually one new struct at the end: no snapshot needed.
            if items[Int(last)].clock >= firstClock && items[Int(last)].clock > 0 {
                tryMergeWithLefts(c, startingAt: last)
            }
            return
        }
        // Walk a snapshot of the positions from firstChangePos backwards: a merge chain of m
        // removes the m entries right of the survivor, so the next position is k - m - 1.
        var refs: [ItemRef] = []
        clientStructs[Int(c)].appendRefs(from: firstClock, to: &refs)
        var k = refs.count - 1
        while k >= 0 {
            let ref = refs[k]
            guard items[Int(ref)].clock > 0 else { break }
            k -= 1 + tryMergeWithLefts(c, startingAt: ref)
        }
    }
}
