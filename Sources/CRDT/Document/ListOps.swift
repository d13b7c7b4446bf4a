/// Local edits of list types (Text, Array, XML children) at visible UTF-16/element indexes.
extension DocStore {
    /// The item holding visible unit `u` of type `t`, and the number of visible units before it.
    /// Walks from the type's cursor (the last edit position) so that local typing is O(1).
    func findVisible(_ t: Int32, unit u: Int) -> (ref: ItemRef, start: Int) {
        let ti = Int(t)
        var ref = types[ti].cursorItem
        var idx = types[ti].cursorIndex
        if ref == noItem || u < idx / 2 {
            ref = types[ti].start
            idx = 0
        }
        if u < idx {
            // Walk left until the item starts at or before u.
            while idx > u {
                ref = items[Int(ref)].left
                idx -= items[Int(ref)].visibleLength
            }
        }
        while true {
            let v = items[Int(ref)].visibleLength
            if u < idx + v { return (ref, idx) }
            idx += v
            ref = items[Int(ref)].right
        }
    }

    /// Yjs' insert position for index `index`: left = the item ending at unit index-1 (split if
    /// needed), right = its right neighbour; index 0 gives (none, first item).
    mutating func insertPosition(_ t: Int32, index: Int) -> (left: ItemRef, right: ItemRef) {
        if index == 0 { return (noItem, types[Int(t)].start) }
        let (ref, start) = findVisible(t, unit: index - 1)
        let r = items[Int(ref)]
        let endOffset = index - start
        if endOffset < Int(r.length) {
            splitItem(ref, at: Clock(endOffset))
        }
        types[Int(t)].cursorItem = ref
        types[Int(t)].cursorIndex = start
        return (ref, items[Int(ref)].right)
    }

    /// Typing right after our own last character: the new item would be merged into `left` at
    /// commit (same client, next clock, origin = left's last unit, same right origin, both
    /// live strings), so extend `left` in place. The emitted update is the same bytes: it is
    /// written from the transaction's start clock by offset writing either way.
    mutating func extendOwnRun(_ left: ItemRef, right: ItemRef, _ units: [UInt16]) -> Bool {
        guard left != noItem else { return false }
        let l = items[Int(left)]
        let me = clientIndexOf[clientID]
        guard l.client == me, l.kind == .string, !l.isDeleted, l.right == right,
              l.clock &+ l.length == clientStructs[Int(l.client)].state,
              Int(l.content) + Int(l.length) == textUnits.count
        else { return false }
        if right == noItem {
            guard !l.hasRightOrigin else { return false }
        } else {
            let r = items[Int(right)]
            guard l.rightOriginClient == r.client, l.rightOriginClock == r.clock else { return false }
        }
        // A lone high surrogate at the end of the run would be split by Yjs: keep the slow path.
        if let lastUnit = textUnits.last, lastUnit & 0xFC00 == 0xD800 { return false }
        textUnits.append(contentsOf: units)
        items[Int(left)].length += Clock(units.count)
        clientStructs[Int(l.client)].state += Clock(units.count)
        return true
    }

    /// Inserts contents as consecutive new items between `left` and `right`.
    mutating func insertItems(_ t: Int32, left: ItemRef, right: ItemRef, contents: [YContent]) -> ItemRef {
        let me = clientIndex(clientID)
        var l = left
        for content in contents {
            var rec = ItemRecord(client: me, clock: state(me), length: content.length, kind: .deleted)
            if l != noItem {
                let lr = items[Int(l)]
                rec.originClient = lr.client
                rec.originClock = lr.lastClock
            }
            if right != noItem {
                let rr = items[Int(right)]
                rec.rightOriginClient = rr.client
                rec.rightOriginClock = rr.clock
            }
            rec.left = l
            rec.right = right
            rec.parent = t
            l = integrate(rec, content: content)
        }
        return l
    }

    /// Inserts list contents at a visible index (Yjs `typeListInsertGenerics`).
    mutating func listInsert(_ t: Int32, at index: Int, contents: [YContent], skipDeleted: Bool) throws(YDocError) {
        let length = types[Int(t)].length
        guard index >= 0, index <= length else { throw .indexOutOfRange(index: index, length: length) }
        guard !contents.isEmpty else { return }
        let opened = beginIfNeeded()
        defer { if opened { commit() } }
        do {
            var (left, right) = insertPosition(t, index: index)
            if skipDeleted {
                // Text inserts go past deleted items to their right, as Yjs and yrs do.
                while right != noItem && items[Int(right)].isDeleted {
                    left = right
                    right = items[Int(right)].right
                }
            }
            if contents.count == 1, case let .string(units) = contents[0], extendOwnRun(left, right: right, units) {
                types[Int(t)].length += units.count
                types[Int(t)].cursorItem = left
                types[Int(t)].cursorIndex = index + units.count - items[Int(left)].visibleLength
                return
            }
            let last = insertItems(t, left: left, right: right, contents: contents)
            let inserted = contents.reduce(0) { $0 + ($1.isCountable ? Int($1.length) : 0) }
            types[Int(t)].cursorItem = last
            types[Int(t)].cursorIndex = index + inserted - items[Int(last)].visibleLength
        }
    }

    /// Deletes `count` visible units from `index` (Yjs `typeListDelete` / `deleteText`).
    mutating func listDelete(_ t: Int32, at index: Int, count: Int) throws(YDocError) {
        let length = types[Int(t)].length
        guard index >= 0, count >= 0, index + count <= length else {
            throw .indexOutOfRange(index: index + count, length: length)
        }
        guard count > 0 else { return }
        let opened = beginIfNeeded()
        defer { if opened { commit() } }
        do {
            let (left, first) = insertPosition(t, index: index)
            var remaining = count
            var r = first
            while remaining > 0 && r != noItem {
                let rec = items[Int(r)]
                if !rec.isDeleted && rec.kind.isCountable {
                    if remaining < Int(rec.length) { splitItem(r, at: Clock(remaining)) }
                    remaining -= Int(items[Int(r)].length)
                    deleteItem(r)
                }
                r = items[Int(r)].right
            }
            if left != noItem {
                types[Int(t)].cursorItem = left
                types[Int(t)].cursorIndex = index - items[Int(left)].visibleLength
            }
        }
    }

    /// Yjs `typeMapSet`: a new item to the right of the key's current item.
    @discardableResult
    mutating func mapSet(_ t: Int32, key: String, content: YContent) -> ItemRef {
        let opened = beginIfNeeded()
        defer { if opened { commit() } }
        do {
            let k = keyIndex(key)
            let me = clientIndex(clientID)
            let left = types[Int(t)].map[k] ?? noItem
            var rec = ItemRecord(client: me, clock: state(me), length: content.length, kind: .deleted)
            if left != noItem {
                rec.originClient = items[Int(left)].client
                rec.originClock = items[Int(left)].lastClock
            }
            rec.left = left
            rec.parent = t
            rec.parentSub = k
            return integrate(rec, content: content)
        }
    }

    mutating func mapDelete(_ t: Int32, key: String) {
        guard let k = keyIndex[key], let ref = types[Int(t)].map[k] else { return }
        let opened = beginIfNeeded()
        defer { if opened { commit() } }
        deleteItem(ref)
    }

    /// Visible items of a list, in order.
    func listItems(_ t: Int32) -> [ItemRef] {
        var out: [ItemRef] = []
        var r = types[Int(t)].start
        while r != noItem {
            let rec = items[Int(r)]
            if !rec.isDeleted && rec.kind.isCountable { out.append(r) }
            r = rec.right
        }
        return out
    }
}
