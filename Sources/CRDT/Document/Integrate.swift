/// YATA integration of a new item, exactly as Yjs orders concurrent inserts.
extension DocStore {
    /// Integrates `item` (left/right/origins/parent already resolved) and stores `content`.
    /// An item without a parent becomes a GC struct. Returns the item's ref.
    @discardableResult
    mutating func integrate(_ rec: ItemRecord, content: YContent?) -> ItemRef {
        var item = rec
        let ref = ItemRef(items.count)
        guard item.parent >= 0 else {
            item.kind = .gc
            item.isDeleted = true
            item.left = noItem
            item.right = noItem
            item.parentSub = -1
            item.content = -1
            return addStruct(item)
        }
        let p = Int(item.parent)
        types[p].cursorItem = noItem
        let right0 = item.right
        var left = item.left
        let needsScan = (left == noItem && (right0 == noItem || items[Int(right0)].left != noItem))
            || (left != noItem && items[Int(left)].right != right0)
        if needsScan {
            var o: ItemRef
            if left != noItem {
                o = items[Int(left)].right
            } else if item.parentSub >= 0 {
                o = types[p].map[item.parentSub] ?? noItem
                while o != noItem && items[Int(o)].left != noItem { o = items[Int(o)].left }
            } else {
                o = types[p].start
            }
            var seen = Set<ItemRef>()
            var conflicting = Set<ItemRef>()
            let myClient = clientIDs[Int(item.client)]
            while o != noItem && o != right0 {
                seen.insert(o)
                conflicting.insert(o)
                let orec = items[Int(o)]
                let sameOrigin = orec.originClient == item.originClient
                    && (item.originClient == noClient || orec.originClock == item.originClock)
                if sameOrigin {
                    if clientIDs[Int(orec.client)] < myClient {
                        left = o
                        conflicting.removeAll(keepingCapacity: true)
                    } else if orec.rightOriginClient == item.rightOriginClient
                                && (item.rightOriginClient == noClient || orec.rightOriginClock == item.rightOriginClock) {
                        break
                    }
                } else if orec.hasOrigin, orec.originClock < state(orec.originClient),
                          case let originItem = find(orec.originClient, orec.originClock),
                          seen.contains(originItem) {
                    if !conflicting.contains(originItem) {
                        left = o
                        conflicting.removeAll(keepingCapacity: true)
                    }
                } else {
                    break
                }
                o = orec.right
            }
            item.left = left
        }
        // Link into the list (or the key's chain).
        var deleteLeft = false
        if item.left != noItem {
            item.right = items[Int(item.left)].right
            items[Int(item.left)].right = ref
        } else {
            var r: ItemRef
            if item.parentSub >= 0 {
                r = types[p].map[item.parentSub] ?? noItem
                while r != noItem && items[Int(r)].left != noItem { r = items[Int(r)].left }
            } else {
                r = types[p].start
                types[p].start = ref
            }
            item.right = r
        }
        if item.right != noItem {
            items[Int(item.right)].left = ref
        } else if item.parentSub >= 0 {
            types[p].map[item.parentSub] = ref
            deleteLeft = item.left != noItem
        }
        if let content {
            let (kind, idx) = storeContent(content, parentTypeItem: ref)
            item.kind = kind
            item.content = idx
        }
        if item.kind == .deleted { item.isDeleted = true }
        if item.parentSub < 0 && item.kind.isCountable && !item.isDeleted {
            types[p].length += Int(item.length)
        }
        let added = addStruct(item)
        precondition(added == ref, "arena grew during integration")
        if deleteLeft { deleteItem(item.left) }
        if item.kind == .deleted {
            txn.recordDelete(client: clientIDs[Int(item.client)], clock: item.clock, length: item.length)
        }
        let parentItem = types[p].item
        if (parentItem != noItem && items[Int(parentItem)].isDeleted) || (item.parentSub >= 0 && item.right != noItem) {
            deleteItem(ref)
        }
        return ref
    }
}
