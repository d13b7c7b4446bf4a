/// The structs of one client in an update being integrated, and how far we got.
struct StructQueue {
    let client: ClientID
    var structs: [UpdateStruct]
    var next = 0
}

/// Applying remote updates: dependency-ordered integration with pending structs and deletes
/// (Yjs `applyUpdate` / `integrateStructs` / `readAndApplyDeleteSet`).
extension DocStore {
    /// Applies a decoded update in one remote transaction (or the open one).
    mutating func applyRemote(_ update: DecodedUpdate, origin: String?) {
        let opened = beginIfNeeded(origin: origin, isLocal: false)
        integrateUpdate(update)
        if opened { commit() }
    }

    mutating func integrateUpdate(_ update: DecodedUpdate) {
        finishApply(rest: integrateStructs(update), deleteSet: update.deleteSet)
    }

    /// What both apply paths do after integrating structs (Yjs `applyUpdate`): park the rest
    /// with its missing map, apply the delete set (and the pending one), retry pending structs
    /// whose dependencies arrived.
    mutating func finishApply(rest: (update: DecodedUpdate, missing: [ClientID: Clock])?, deleteSet: DeleteSet) {
        var retry = false
        if let pending = pendingStructs {
            for (client, clock) in pendingMissing where clock < state(of: client) {
                retry = true
                break
            }
            if let rest {
                for (client, clock) in rest.missing where pendingMissing[client].map({ $0 > clock }) ?? true {
                    pendingMissing[client] = clock
                }
                pendingStructs = Updates.merge([pending, rest.update])
            }
        } else if let rest {
            pendingStructs = rest.update
            pendingMissing = rest.missing
        }
        let dsRest = applyDeleteSet(deleteSet)
        if let pendingDs = pendingDeletes {
            let dsRest2 = applyDeleteSet(pendingDs)
            let merged = dsRest.merged(with: dsRest2)
            pendingDeletes = merged.isEmpty ? nil : merged
        } else {
            pendingDeletes = dsRest.isEmpty ? nil : dsRest
        }
        if retry, let pending = pendingStructs {
            pendingStructs = nil
            pendingMissing = [:]
            integrateUpdate(DecodedUpdate(groups: pending.groups, deleteSet: DeleteSet()))
        }
    }

    /// Integrates what can be integrated; returns the rest and, per client, the lowest clock it waits for.
    private mutating func integrateStructs(_ update: DecodedUpdate) -> (update: DecodedUpdate, missing: [ClientID: Clock])? {
        // One queue per client (ascending); a later group for the same client replaces an earlier one (as Yjs).
        var byClient: [ClientID: [UpdateStruct]] = [:]
        for g in update.groups where !g.structs.isEmpty { byClient[g.client] = g.structs }
        guard !byClient.isEmpty else { return nil }
        let clients = byClient.keys.sorted()
        var queueOf: [ClientID: Int] = [:]
        var queues: [StructQueue] = []
        queues.reserveCapacity(clients.count)
        for (i, c) in clients.enumerated() {
            queueOf[c] = i
            queues.append(StructQueue(client: c, structs: byClient[c]!))
        }
        byClient = [:]
        // Highest client first: visited from the end of the ascending list.
        var order = Array(0..<queues.count)
        var rest: [ClientID: [UpdateStruct]] = [:]
        var missing: [ClientID: Clock] = [:]
        var stack: [UpdateStruct] = []

        func noteMissing(_ client: ClientID, _ clock: Clock) {
            if let m = missing[client], m <= clock { return }
            missing[client] = clock
        }
        func nextTarget() -> Int? {
            while let q = order.last {
                if queues[q].next < queues[q].structs.count { return q }
                order.removeLast()
            }
            return nil
        }
        func stackToRest() {
            for s in stack {
                let c = s.id.client
                if let qi = queueOf[c], queues[qi].next > 0, queues[qi].next <= queues[qi].structs.count {
                    rest[c] = Array(queues[qi].structs[(queues[qi].next - 1)...])
                } else {
                    rest[c] = [s]
                }
                if let qi = queueOf[c] {
                    queues[qi].structs = []
                    queues[qi].next = 0
                }
                order.removeAll { queues[$0].client == c }
            }
            stack.removeAll()
        }
        func read(_ qi: Int) -> UpdateStruct? {
            guard queues[qi].next < queues[qi].structs.count else { return nil }
            queues[qi].next += 1
            return queues[qi].structs[queues[qi].next - 1]
        }

        guard var current = nextTarget(), var head = read(current) else { return nil }
        while true {
            if !head.isSkip {
                let client = head.id.client
                let ci = clientIndex(client)
                let local = state(ci)
                if head.id.clock > local {
                    // An earlier struct of the same client is missing.
                    stack.append(head)
                    noteMissing(client, head.id.clock - 1)
                    stackToRest()
                } else if let dep = missingDependency(head) {
                    stack.append(head)
                    if let qi = queueOf[dep], let next = read(qi) {
                        head = next
                        continue
                    }
                    noteMissing(dep, state(of: dep))
                    stackToRest()
                } else {
                    let offset = local - head.id.clock
                    if offset == 0 || offset < head.length {
                        integrateRemote(head, ci: ci, offset: offset)
                    }
                }
            }
            if let popped = stack.popLast() {
                head = popped
            } else if let s = read(current) {
                head = s
            } else if let q = nextTarget(), let s = read(q) {
                current = q
                head = s
            } else {
                break
            }
        }
        guard !rest.isEmpty else { return nil }
        let groups = rest.keys.sorted(by: >).map { DecodedUpdate.Group(client: $0, structs: rest[$0]!) }
        return (DecodedUpdate(groups: groups, deleteSet: DeleteSet()), missing)
    }

    /// The client whose data this struct waits for, or nil when everything it references is here.
    /// References past a client's state (even the struct's own client) count as missing, so a
    /// hostile update can never make us dereference something we do not have.
    private mutating func missingDependency(_ s: UpdateStruct) -> ClientID? {
        guard case let .item(item) = s else { return nil }
        if let o = item.origin, o.clock >= cachedState(o.client) { return o.client }
        if let r = item.rightOrigin, r.clock >= cachedState(r.client) { return r.client }
        if case let .item(pid)? = item.parent, pid.clock >= cachedState(pid.client) { return pid.client }
        return nil
    }

    /// `state(of:)` with a one-entry cache: consecutive structs mostly reference the same client.
    @inline(__always)
    private mutating func cachedState(_ client: ClientID) -> Clock {
        if client == lookupCache.client { return clientStructs[Int(lookupCache.index)].state }
        guard let i = clientIndexOf[client] else { return 0 }
        lookupCache = (client, i)
        return clientStructs[Int(i)].state
    }

    /// `clientIndex(_:)` with the same cache.
    @inline(__always)
    private mutating func cachedIndex(_ client: ClientID) -> ClientIndex {
        if client == lookupCache.client { return lookupCache.index }
        let i = clientIndex(client)
        lookupCache = (client, i)
        return i
    }

    /// An item sent without its parent takes parent and key from its neighbours (the right
    /// one wins when both are items, as in Yjs).
    @inline(__always)
    func inheritParent(_ rec: inout ItemRecord) {
        if rec.left != noItem, !items[Int(rec.left)].isGC {
            rec.parent = items[Int(rec.left)].parent
            rec.parentSub = items[Int(rec.left)].parentSub
        }
        if rec.right != noItem, !items[Int(rec.right)].isGC {
            rec.parent = items[Int(rec.right)].parent
            rec.parentSub = items[Int(rec.right)].parentSub
        }
    }

    /// Resolves an item's references (splitting neighbours) and integrates it from `offset`.
    private mutating func integrateRemote(_ s: UpdateStruct, ci c: ClientIndex, offset: Clock) {
        switch s {
        case .skip:
            return
        case let .gc(id, length):
            // Zero-length structs carry nothing and would break the one-struct-per-clock store.
            guard length > offset else { return }
            var rec = ItemRecord(client: c, clock: id.clock + offset, length: length - offset, kind: .gc)
            rec.isDeleted = true
            addStruct(rec)
        case let .item(item):
            guard item.length > offset else { return } // zero-length items carry nothing
            var rec = ItemRecord(client: c, clock: item.id.clock, length: item.length, kind: .deleted)
            var content = item.content
            var leftIsGC = false, rightIsGC = false
            if let o = item.origin {
                let oc = cachedIndex(o.client)
                let l = cleanEnd(oc, o.clock)
                rec.left = l
                let lr = items[Int(l)]
                rec.originClient = oc
                rec.originClock = lr.lastClock
                leftIsGC = lr.isGC
            }
            if let ro = item.rightOrigin {
                let rc = cachedIndex(ro.client)
                let r = cleanStart(rc, ro.clock)
                rec.right = r
                let rr = items[Int(r)]
                rec.rightOriginClient = rc
                rec.rightOriginClock = rr.clock
                rightIsGC = rr.isGC
            }
            if leftIsGC || rightIsGC {
                rec.parent = -1
            } else if let parent = item.parent {
                switch parent {
                case let .root(name):
                    rec.parent = rootType(name)
                case let .item(pid):
                    let pref = find(cachedIndex(pid.client), pid.clock)
                    let pr = items[Int(pref)]
                    rec.parent = (pr.kind == .type) ? pr.content : -1
                }
                if let key = item.parentSub { rec.parentSub = keyIndex(key) }
            } else {
                inheritParent(&rec)
            }
            if offset > 0 {
                rec.clock += offset
                rec.length -= offset
                let l = cleanEnd(c, rec.clock - 1)
                rec.left = l
                rec.originClient = c
                rec.originClock = items[Int(l)].lastClock
                content = content.sliced(from: offset)
            }
            integrate(rec, content: content)
        }
    }
}
