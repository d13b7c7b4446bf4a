/// Integration of a `RawUpdate`: the same algorithm as `integrateStructs` (Yjs' dependency
/// stack, pending rest, missing map) over flat arrays, for the common `applyUpdate(bytes)` path.
extension DocStore {
    mutating func applyRaw(_ raw: RawUpdate, origin: String?) {
        let opened = beginIfNeeded(origin: origin, isLocal: false)
        var u = raw
        finishApply(rest: integrateRawStructs(&u), deleteSet: u.deleteSet)
        if opened { commit() }
    }

    mutating func integrateRawStructs(_ u: inout RawUpdate) -> (update: DecodedUpdate, missing: [ClientID: Clock])? {
        guard !u.groups.isEmpty else { return nil }
        // Map the update's client slots to document client indexes once.
        let docIndex = u.clients.map { clientIndex($0) }
        // The update's strings and contents join the document tables in one go.
        let unitBase = Int32(textUnits.count)
        textUnits.append(contentsOf: u.units)
        let contentBase = Int32(contents.count)
        contents.append(contentsOf: u.contents)
        var nameKey = [Int32](repeating: -1, count: u.names.count)
        var nameRoot = [Int32](repeating: -1, count: u.names.count)

        // Queues by ascending client id; the highest is visited first.
        let queues = u.groups.sorted { u.clients[Int($0.client)] < u.clients[Int($1.client)] }
        var next = queues.map { $0.range.lowerBound }
        var queueOfSlot = [Int](repeating: -1, count: u.clients.count)
        for (i, q) in queues.enumerated() { queueOfSlot[Int(q.client)] = i }
        var order = Array(0..<queues.count)
        var rest: [ClientID: [UpdateStruct]] = [:]
        var missing: [ClientID: Clock] = [:]
        var stack: [Int] = []

        func noteMissing(_ client: ClientID, _ clock: Clock) {
            if let m = missing[client], m <= clock { return }
            missing[client] = clock
        }

        var current = -1
        var head = -1
        func read(_ q: Int) -> Int? {
            guard next[q] < queues[q].range.upperBound else { return nil }
            next[q] += 1
            return next[q] - 1
        }
        func nextTarget() -> Int? {
            while let q = order.last {
                if next[q] < queues[q].range.upperBound { return q }
                order.removeLast()
            }
            return nil
        }
        guard let first = nextTarget(), let h = read(first) else { return nil }
        current = first
        head = h
        while true {
            let s = u.structs[head]
            // Zero-length structs carry nothing (integrateRaw drops them), so they have no
            // dependencies either: one whose origin never comes must not park its neighbours.
            if !s.isSkip && s.length > 0 {
                let c = docIndex[Int(s.client)]
                let local = state(c)
                var dependency: UInt32 = .max
                if s.clock > local {
                    dependency = s.client
                    noteMissing(u.clients[Int(s.client)], s.clock - 1)
                } else if s.originClient != .max && s.originClock >= state(docIndex[Int(s.originClient)]) {
                    dependency = s.originClient
                } else if s.rightOriginClient != .max && s.rightOriginClock >= state(docIndex[Int(s.rightOriginClient)]) {
                    dependency = s.rightOriginClient
                } else if s.parentClient != .max && s.parentClock >= state(docIndex[Int(s.parentClient)]) {
                    dependency = s.parentClient
                }
                if dependency != .max {
                    stack.append(head)
                    var moved = false
                    if dependency != s.client || s.clock <= local {
                        let q = queueOfSlot[Int(dependency)]
                        if q >= 0, let n = read(q) {
                            head = n
                            moved = true
                        } else {
                            noteMissing(u.clients[Int(dependency)], state(docIndex[Int(dependency)]))
                        }
                    }
                    if moved { continue }
                    // A dead end: everything on the stack (with the rest of its client) waits.
                    for si in stack {
                        let slot = u.structs[si].client
                        let client = u.clients[Int(slot)]
                        let q = queueOfSlot[Int(slot)]
                        if q >= 0 && next[q] > queues[q].range.lowerBound {
                            rest[client] = (next[q] - 1..<queues[q].range.upperBound).map { u.updateStruct(u.structs[$0]) }
                            next[q] = queues[q].range.upperBound
                        } else {
                            rest[client] = [u.updateStruct(u.structs[si])]
                        }
                        order.removeAll { $0 == q }
                    }
                    stack.removeAll()
                } else {
                    let offset = local - s.clock
                    if offset == 0 || offset < s.length {
                        integrateRaw(s, c: c, offset: offset, docIndex: docIndex, unitBase: unitBase, contentBase: contentBase,
                                     names: u.names, nameKey: &nameKey, nameRoot: &nameRoot)
                    }
                }
            }
            if let popped = stack.popLast() {
                head = popped
            } else if let n = read(current) {
                head = n
            } else if let q = nextTarget(), let n = read(q) {
                current = q
                head = n
            } else {
                break
            }
        }
        // Zero-length structs occupy no clocks and carry nothing: parked, they would keep a
        // pending update alive that a later apply of the same bytes resolves to nothing (so
        // applying an update twice would change the document's encoding).
        var groups: [DecodedUpdate.Group] = []
        for client in rest.keys.sorted(by: >) {
            let structs = rest[client]!.filter { $0.length > 0 }
            if !structs.isEmpty { groups.append(DecodedUpdate.Group(client: client, structs: structs)) }
        }
        guard !groups.isEmpty else { return nil }
        return (DecodedUpdate(groups: groups, deleteSet: DeleteSet()), missing)
    }

    /// `integrateRemote` for a raw struct: resolve references (splitting), then YATA.
    private mutating func integrateRaw(_ s: RawUpdate.Struct, c: ClientIndex, offset: Clock, docIndex: [ClientIndex],
                                       unitBase: Int32, contentBase: Int32, names: [String],
                                       nameKey: inout [Int32], nameRoot: inout [Int32]) {
        // Zero-length structs carry nothing and would break the one-struct-per-clock store.
        guard s.length > offset else { return }
        if s.isGC {
            var rec = ItemRecord(client: c, clock: s.clock + offset, length: s.length - offset, kind: .gc)
            rec.isDeleted = true
            addStruct(rec)
            return
        }
        var rec = ItemRecord(client: c, clock: s.clock, length: s.length, kind: ContentKind(rawValue: s.ref) ?? .deleted)
        var leftIsGC = false, rightIsGC = false
        if s.originClient != .max {
            let oc = docIndex[Int(s.originClient)]
            let l = cleanEnd(oc, s.originClock)
            rec.left = l
            let lr = items[Int(l)]
            rec.originClient = oc
            rec.originClock = lr.lastClock
            leftIsGC = lr.isGC
        }
        if s.rightOriginClient != .max {
            let rc = docIndex[Int(s.rightOriginClient)]
            let r = cleanStart(rc, s.rightOriginClock)
            rec.right = r
            let rr = items[Int(r)]
            rec.rightOriginClient = rc
            rec.rightOriginClock = rr.clock
            rightIsGC = rr.isGC
        }
        if leftIsGC || rightIsGC {
            rec.parent = -1
        } else if s.parentName >= 0 {
            let n = Int(s.parentName)
            if nameRoot[n] < 0 { nameRoot[n] = rootType(names[n]) }
            rec.parent = nameRoot[n]
        } else if s.parentClient != .max {
            let pr = items[Int(find(docIndex[Int(s.parentClient)], s.parentClock))]
            rec.parent = pr.kind == .type ? pr.content : -1
        } else {
            inheritParent(&rec)
        }
        if s.info & 0xC0 == 0 && s.parentSub >= 0 {
            let n = Int(s.parentSub)
            if nameKey[n] < 0 { nameKey[n] = keyIndex(names[n]) }
            rec.parentSub = nameKey[n]
        }
        // Content: strings and other contents already sit in the document tables.
        var content: YContent? = nil
        switch rec.kind {
        case .string:
            rec.content = unitBase + s.content
        case .deleted, .gc:
            break
        default:
            let idx = contentBase + s.content
            if offset > 0 || rec.kind == .type {
                content = u_content(idx)
            } else {
                rec.content = idx
            }
        }
        if offset > 0 {
            rec.clock += offset
            rec.length -= offset
            let l = cleanEnd(c, rec.clock - 1)
            rec.left = l
            rec.originClient = c
            rec.originClock = items[Int(l)].lastClock
            if rec.kind == .string {
                // Dropping the first units: a half surrogate pair left at the front becomes U+FFFD.
                let first = Int(rec.content) + Int(offset)
                if textUnits[first - 1] & 0xFC00 == 0xD800 { textUnits[first] = 0xFFFD }
                rec.content = Int32(first)
            } else if let c0 = content {
                content = c0.sliced(from: offset)
            }
        }
        integrate(rec, content: content)
    }

    @inline(__always) private func u_content(_ idx: Int32) -> YContent { contents[Int(idx)] }
}
