/// Deletion, garbage collection and remote delete sets.
extension DocStore {
    /// Yjs `Item.delete`: marks the item deleted, updates lengths, records it in the
    /// transaction's delete set and deletes nested content. Iterative (an explicit stack in the
    /// order Yjs' recursion visits), so any nesting depth a peer sends is safe.
    mutating func deleteItem(_ ref: ItemRef) {
        guard markDeleted(ref) else { return }
        var stack: [TypeWalk] = []
        if items[Int(ref)].kind == .type { stack.append(TypeWalk(type: items[Int(ref)].content, list: types[Int(items[Int(ref)].content)].start)) }
        while !stack.isEmpty {
            guard let child = stack[stack.count - 1].next(in: self) else {
                stack.removeLast()
                continue
            }
            let c = items[Int(child)]
            if !c.isDeleted {
                markDeleted(child)
                if c.kind == .type { stack.append(TypeWalk(type: c.content, list: types[Int(c.content)].start)) }
            } else if c.clock < txn.before(c.client) {
                txn.mergeStructs.append(child)
            }
        }
    }

    /// The deletion of one item itself (nested content aside); false when it was gone already.
    @discardableResult
    private mutating func markDeleted(_ ref: ItemRef) -> Bool {
        let r = items[Int(ref)]
        guard !r.isDeleted, !r.isGC else { return false }
        if r.parent >= 0 {
            let p = Int(r.parent)
            if r.kind.isCountable && r.parentSub < 0 {
                types[p].length -= Int(r.length)
            }
            types[p].cursorItem = noItem
        }
        items[Int(ref)].isDeleted = true
        txn.recordDelete(client: clientIDs[Int(r.client)], clock: r.clock, length: r.length)
        return true
    }

    /// Yjs `ContentType.delete` as a cursor: the list children left to right, then the last
    /// item of every map key (the map is read when the list is done, as the recursion did).
    private struct TypeWalk {
        let type: Int32
        var list: ItemRef
        var mapItems: [ItemRef]?
        var mapIndex = 0

        init(type: Int32, list: ItemRef) {
            self.type = type
            self.list = list
        }

        mutating func next(in store: DocStore) -> ItemRef? {
            if list != noItem {
                let child = list
                list = store.items[Int(child)].right
                return child
            }
            if mapItems == nil { mapItems = store.types[Int(type)].map.map { $0.value } }
            guard let items = mapItems, mapIndex < items.count else { return nil }
            mapIndex += 1
            return items[mapIndex - 1]
        }
    }

    /// Yjs `tryGcDeleteSet`: drop the content of deleted items (they keep their place as Deleted);
    /// children of deleted types become GC structs.
    mutating func garbageCollect(_ ds: DeleteSet) {
        for (client, ranges) in ds.clients where !ranges.isEmpty {
            guard let c = clientIndexOf[client] else { continue }
            for range in ranges.reversed() {
                let state = clientStructs[Int(c)].state
                guard range.clock < state else { continue }
                var ref = find(c, range.clock)
                while true {
                    let r = items[Int(ref)]
                    if !r.isGC && r.isDeleted && !r.keep {
                        gcItem(ref, parentGCd: false)
                    }
                    let next = r.clock + r.length
                    if next >= range.end || next >= state { break }
                    ref = find(c, next)
                }
            }
        }
    }

    /// Yjs `Item.gc`: post-order over nested types (children become GC structs before their
    /// parent), with an explicit stack instead of recursion so that any depth is safe.
    mutating func gcItem(_ ref: ItemRef, parentGCd: Bool) {
        var stack: [GCWalk] = []
        var pending: (ref: ItemRef, parentGCd: Bool)? = (ref, parentGCd)
        while true {
            if let (item, underGC) = pending {
                pending = nil
                if items[Int(item)].kind == .type {
                    let t = items[Int(item)].content
                    stack.append(GCWalk(ref: item, parentGCd: underGC, type: t, list: types[Int(t)].start))
                } else {
                    finishGC(item, parentGCd: underGC)
                }
                continue
            }
            guard !stack.isEmpty else { return }
            if let child = stack[stack.count - 1].next(in: &self) {
                pending = (child, true)
                continue
            }
            let done = stack.removeLast()
            types[Int(done.type)].map = [:]
            types[Int(done.type)].length = 0
            finishGC(done.ref, parentGCd: done.parentGCd)
        }
    }

    /// One type's children for `gcItem`: the list left to right (then `start` cleared), then
    /// each map key's chain from its last item leftwards. Each next pointer is read before the
    /// child is collected (collecting it unlinks it).
    private struct GCWalk {
        let ref: ItemRef
        let parentGCd: Bool
        let type: Int32
        var list: ItemRef
        var mapChains: [ItemRef]?
        var chainIndex = 0
        var chainCursor: ItemRef = noItem

        init(ref: ItemRef, parentGCd: Bool, type: Int32, list: ItemRef) {
            self.ref = ref
            self.parentGCd = parentGCd
            self.type = type
            self.list = list
        }

        mutating func next(in store: inout DocStore) -> ItemRef? {
            if list != noItem {
                let child = list
                list = store.items[Int(child)].right
                if list == noItem { store.types[Int(type)].start = noItem }
                return child
            }
            if mapChains == nil {
                store.types[Int(type)].start = noItem
                mapChains = store.types[Int(type)].map.map { $0.value }
                chainCursor = mapChains!.first ?? noItem
            }
            while true {
                if chainCursor != noItem {
                    let cur = chainCursor
                    chainCursor = store.items[Int(cur)].left
                    return cur
                }
                chainIndex += 1
                guard let chains = mapChains, chainIndex < chains.count else { return nil }
                chainCursor = chains[chainIndex]
            }
        }
    }

    /// What `gcItem` does to the item itself once its nested content is collected.
    private mutating func finishGC(_ ref: ItemRef, parentGCd: Bool) {
        let r = items[Int(ref)]
        if parentGCd {
            var g = r
            g.kind = .gc
            g.isDeleted = true
            g.parent = -1
            g.parentSub = -1
            g.left = noItem
            g.right = noItem
            g.originClient = noClient
            g.rightOriginClient = noClient
            g.content = -1
            items[Int(ref)] = g
        } else {
            if r.kind != .string && r.kind != .deleted && r.kind != .type && r.content >= 0 {
                contents[Int(r.content)] = .deleted(length: r.length)
            }
            items[Int(ref)].kind = .deleted
            items[Int(ref)].content = -1
        }
    }

    /// Applies a remote delete set; returns the ranges that refer to ids we do not have yet.
    mutating func applyDeleteSet(_ ds: DeleteSet) -> DeleteSet {
        var unapplied = DeleteSet()
        // Clients in a fixed order so the result does not depend on hashing.
        for client in ds.clients.keys.sorted() {
            guard let ranges = ds.clients[client] else { continue }
            let c = clientIndexOf[client]
            let state = c.map { clientStructs[Int($0)].state } ?? 0
            for range in ranges where range.length > 0 {
                let clock = range.clock
                let end = range.end
                guard let c, clock < state else {
                    unapplied.add(client: client, clock: clock, length: range.length)
                    continue
                }
                if state < end { unapplied.add(client: client, clock: state, length: end - state) }
                var ref = find(c, clock)
                var r = items[Int(ref)]
                if !r.isDeleted && !r.isGC && r.clock < clock {
                    ref = splitItem(ref, at: clock - r.clock)
                    r = items[Int(ref)]
                }
                while true {
                    if r.clock >= end { break }
                    if !r.isDeleted && !r.isGC {
                        if end < r.clock + r.length {
                            splitItem(ref, at: end - r.clock)
                        }
                        deleteItem(ref)
                    }
                    let next = items[Int(ref)].clock + items[Int(ref)].length
                    if next >= clientStructs[Int(c)].state { break }
                    ref = find(c, next)
                    r = items[Int(ref)]
                }
            }
        }
        unapplied.normalize()
        return unapplied
    }
}
