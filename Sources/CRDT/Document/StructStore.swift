/// Struct-store operations on the arena: lookup by id, splitting, appending.
extension DocStore {
    /// The struct containing `clock` of client `c` (caller guarantees clock < state).
    @inline(__always) func find(_ c: ClientIndex, _ clock: Clock) -> ItemRef {
        clientStructs[Int(c)].find(clock)
    }

    /// `find` with a one-entry cache: integrating a run of structs keeps resolving origins in
    /// the struct just found or just added. A merged-away struct is never cached (the merge
    /// moves the cache to the survivor), so a hit is always a live struct.
    @inline(__always)
    mutating func findCached(_ c: ClientIndex, _ clock: Clock) -> ItemRef {
        if findCache >= 0 {
            let r = items[Int(findCache)]
            if r.client == c && clock >= r.clock && clock < r.clock &+ r.length { return findCache }
        }
        let ref = find(c, clock)
        findCache = ref
        return ref
    }

    /// Appends a new struct to the arena and its client's store. Its clock must equal the state.
    @discardableResult
    mutating func addStruct(_ record: ItemRecord) -> ItemRef {
        let ref = ItemRef(items.count)
        items.append(record)
        clientStructs[Int(record.client)].append(ref, clock: record.clock, length: record.length)
        return ref
    }

    /// Splits item `ref` after `offset` units; returns the new right part (Yjs `splitItem`).
    @discardableResult
    mutating func splitItem(_ ref: ItemRef, at offset: Clock) -> ItemRef {
        let x = items[Int(ref)]
        var y = x
        y.clock = x.clock + offset
        y.length = x.length - offset
        y.originClient = x.client
        y.originClock = x.clock + offset - 1
        y.left = ref
        switch x.kind {
        case .string:
            let start = Int(x.content)
            y.content = x.content + Int32(offset)
            // Never leave half a surrogate pair on either side (Yjs issue 248): both become U+FFFD.
            let last = textUnits[start + Int(offset) - 1]
            if last & 0xFC00 == 0xD800 {
                textUnits[start + Int(offset) - 1] = 0xFFFD
                textUnits[start + Int(offset)] = 0xFFFD
            }
        case .any:
            guard case let .any(values) = contents[Int(x.content)] else { break }
            contents[Int(x.content)] = .any(Array(values[..<Int(offset)]))
            y.content = Int32(contents.count)
            contents.append(.any(Array(values[Int(offset)...])))
        case .json:
            guard case let .json(values) = contents[Int(x.content)] else { break }
            contents[Int(x.content)] = .json(Array(values[..<Int(offset)]))
            y.content = Int32(contents.count)
            contents.append(.json(Array(values[Int(offset)...])))
        default:
            break
        }
        let yRef = ItemRef(items.count)
        items.append(y)
        items[Int(ref)].length = offset
        items[Int(ref)].right = yRef
        if y.right != noItem { items[Int(y.right)].left = yRef }
        if y.parentSub >= 0 && y.right == noItem && y.parent >= 0 {
            types[Int(y.parent)].map[y.parentSub] = yRef
        }
        clientStructs[Int(y.client)].insert(yRef, clock: y.clock)
        txn.mergeStructs.append(yRef)
        return yRef
    }

    /// Returns the struct starting exactly at (c, clock), splitting an item if needed.
    mutating func cleanStart(_ c: ClientIndex, _ clock: Clock) -> ItemRef {
        let ref = findCached(c, clock)
        let r = items[Int(ref)]
        if r.clock < clock && !r.isGC {
            return splitItem(ref, at: clock - r.clock)
        }
        return ref
    }

    /// Returns the struct ending exactly at (c, clock), splitting an item if needed.
    mutating func cleanEnd(_ c: ClientIndex, _ clock: Clock) -> ItemRef {
        let ref = findCached(c, clock)
        let r = items[Int(ref)]
        if clock != r.lastClock && !r.isGC {
            splitItem(ref, at: clock - r.clock + 1)
        }
        return ref
    }

    // MARK: - Content access

    func content(of ref: ItemRef) -> YContent {
        let r = items[Int(ref)]
        switch r.kind {
        case .gc, .deleted: return .deleted(length: r.length)
        case .string:
            let s = Int(r.content)
            return .string(Array(textUnits[s..<s + Int(r.length)]))
        case .type: return .type(types[Int(r.content)].ref ?? .map)
        default: return contents[Int(r.content)]
        }
    }

    /// Stores a decoded content in the arena tables; returns (kind, content index).
    mutating func storeContent(_ c: YContent, parentTypeItem: ItemRef) -> (ContentKind, Int32) {
        switch c {
        case .deleted: return (.deleted, -1)
        case let .string(units):
            let off = Int32(textUnits.count)
            textUnits.append(contentsOf: units)
            return (.string, off)
        case let .type(ref):
            let t = Int32(types.count)
            types.append(TypeRecord(ref: ref, item: parentTypeItem))
            return (.type, t)
        case .json: return append(c, .json)
        case .binary: return append(c, .binary)
        case .embed: return append(c, .embed)
        case .format: return append(c, .format)
        case .any: return append(c, .any)
        case .doc: return append(c, .doc)
        }
    }

    private mutating func append(_ c: YContent, _ kind: ContentKind) -> (ContentKind, Int32) {
        contents.append(c)
        return (kind, Int32(contents.count - 1))
    }

    @inline(__always) func id(of ref: ItemRef) -> ID {
        let r = items[Int(ref)]
        return ID(client: clientIDs[Int(r.client)], clock: r.clock)
    }
}
