/// The bookkeeping of the open transaction. Its buffers are kept between transactions so that
/// a keystroke does not allocate them again.
struct TransactionState {
    var active = false
    var origin: String?
    var isLocal = true
    /// Client states when the transaction began, by client index (missing = 0).
    var beforeState: [Clock] = []
    var deleteSet = DeleteSet()
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
        txn.beforeState.removeAll(keepingCapacity: true)
        for cs in clientStructs { txn.beforeState.append(cs.state) }
        txn.deleteSet.clients.removeAll(keepingCapacity: true)
        txn.mergeStructs.removeAll(keepingCapacity: true)
    }

    /// Ends the transaction: GC, merge passes (Yjs' order), client-id collision check, and the
    /// update for observers (written after the merges, as Yjs does).
    mutating func commit() {
        guard txn.active else { return }
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
        var w = Lib0Writer(capacity: 32)
        let before = txn.beforeState
        writeStructs(into: &w, from: { Int($0) < before.count ? before[Int($0)] : 0 })
        UpdateEncoderV1.writeDeleteSet(txn.deleteSet, into: &w)
        outbox.append(UpdateEvent(update: w.bytes, origin: txn.origin, isLocal: txn.isLocal))
    }

    // MARK: - Merging neighbouring structs (Yjs' end-of-transaction pass)

    /// Tries to merge the struct at `ref` into its left neighbours in the client store;
    /// returns how many merges happened.
    @discardableResult
    mutating func tryMergeWithLefts(_ c: ClientIndex, startingAt ref: ItemRef) -> Int {
        var right = ref
        var merged = 0
        while true {
            let r = items[Int(right)]
            guard r.clock > 0 else { break }
            let left = find(c, r.clock - 1)
            guard mergeStructs(left, right) else { break }
            merged += 1
            right = left
        }
        return merged
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
        for (client, ranges) in ds.clients {
            guard let c = clientIndexOf[client] else { continue }
            for range in ranges.reversed() {
                let state = clientStructs[Int(c)].state
                guard state > 0 else { continue }
                // Start with the struct after the last deleted one.
                let lastRef = find(c, min(range.end, state) - 1)
                let lastRec = items[Int(lastRef)]
                var si: ItemRef = lastRec.clock + lastRec.length < state
                    ? find(c, lastRec.clock + lastRec.length) : lastRef
                while true {
                    let rec = items[Int(si)]
                    guard rec.clock > 0, rec.clock >= range.clock else { break }
                    let n = tryMergeWithLefts(c, startingAt: si)
                    // Move left past what merged (si now lies inside a merged struct).
                    let cur = find(c, rec.clock)
                    let curRec = items[Int(cur)]
                    _ = n
                    guard curRec.clock > 0 else { break }
                    si = find(c, curRec.clock - 1)
                }
            }
        }
    }

    /// Merge pass over the structs a client added in this transaction, right to left.
    mutating func mergeNewStructs(_ c: ClientIndex, from before: Clock) {
        guard clientStructs[Int(c)].count > 1 else { return }
        let state = clientStructs[Int(c)].state
        // firstChangePos = max(index of struct containing `before`, 1)
        let firstRef = before < state ? find(c, before) : clientStructs[Int(c)].last
        var firstClock = items[Int(firstRef)].clock
        if firstClock == 0 {
            // index 0 -> use index 1: the struct after the first one
            firstClock = items[Int(clientStructs[Int(c)].first)].length
        }
        var si = clientStructs[Int(c)].last
        while true {
            let rec = items[Int(si)]
            guard rec.clock >= firstClock, rec.clock > 0 else { break }
            tryMergeWithLefts(c, startingAt: si)
            let cur = find(c, rec.clock)
            let curRec = items[Int(cur)]
            guard curRec.clock > 0, curRec.clock - 1 >= 0 else { break }
            let prev = find(c, curRec.clock - 1)
            if items[Int(prev)].clock < firstClock { break }
            si = prev
        }
    }
}
