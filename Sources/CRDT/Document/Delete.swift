/// Deletion, garbage collection and remote delete sets.
extension DocStore {
    /// Yjs `Item.delete`: marks the item deleted, updates lengths, records it in the
    /// transaction's delete set and deletes nested content.
    mutating func deleteItem(_ ref: ItemRef) {
        let r = items[Int(ref)]
        guard !r.isDeleted, !r.isGC else { return }
        if r.parent >= 0 {
            let p = Int(r.parent)
            if r.kind.isCountable && r.parentSub < 0 {
                types[p].length -= Int(r.length)
            }
            types[p].cursorItem = noItem
        }
        items[Int(ref)].isDeleted = true
        txn.recordDelete(client: clientIDs[Int(r.client)], clock: r.clock, length: r.length)
        if r.kind == .type {
            deleteTypeContent(r.content)
        }
    }

    /// Yjs `ContentType.delete`: delete every live child of a deleted type.
    private mutating func deleteTypeContent(_ t: Int32) {
        var child = types[Int(t)].start
        while child != noItem {
            let c = items[Int(child)]
            if !c.isDeleted {
                deleteItem(child)
            } else if c.clock < txn.before(c.client) {
                txn.mergeStructs.append(child)
            }
            child = items[Int(child)].right
        }
        for (_, last) in types[Int(t)].map {
            let c = items[Int(last)]
            if !c.isDeleted {
                deleteItem(last)
            } else if c.clock < txn.before(c.client) {
                txn.mergeStructs.append(last)
            }
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

    /// Yjs `Item.gc`.
    mutating func gcItem(_ ref: ItemRef, parentGCd: Bool) {
        let r = items[Int(ref)]
        if r.kind == .type {
            let t = Int(r.content)
            var child = types[t].start
            while child != noItem {
                let next = items[Int(child)].right
                gcItem(child, parentGCd: true)
                child = next
            }
            types[t].start = noItem
            for (_, last) in types[t].map {
                var cur = last
                while cur != noItem {
                    let prev = items[Int(cur)].left
                    gcItem(cur, parentGCd: true)
                    cur = prev
                }
            }
            types[t].map = [:]
            types[t].length = 0
        }
        if parentGCd {
            var g = items[Int(ref)]
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
