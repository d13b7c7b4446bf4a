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
        let rest = integrateStructs(update)
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
        let dsRest = applyDeleteSet(update.deleteSet)
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
        // One queue per client; a later group for the same client replaces an earlier one (as Yjs).
        var queues: [ClientID: (structs: [UpdateStruct], next: Int)] = [:]
        for g in update.groups where !g.structs.isEmpty {
            queues[g.client] = (g.structs, 0)
        }
        guard !queues.isEmpty else { return nil }
        // Highest client first: visited from the end of the ascending list.
        var order = queues.keys.sorted()
        var rest: [ClientID: [UpdateStruct]] = [:]
        var missing: [ClientID: Clock] = [:]
        var stack: [UpdateStruct] = []
        var localState: [ClientID: Clock] = [:]

        func noteMissing(_ client: ClientID, _ clock: Clock) {
            if let m = missing[client], m <= clock { return }
            missing[client] = clock
        }
        func nextTarget() -> ClientID? {
            while let c = order.last {
                if let q = queues[c], q.next < q.structs.count { return c }
                order.removeLast()
            }
            return nil
        }
        func stackToRest() {
            for s in stack {
                let c = s.id.client
                if let q = queues[c], q.next > 0 {
                    rest[c] = Array(q.structs[(q.next - 1)...])
                    queues[c] = nil
                } else {
                    rest[c] = [s]
                }
                order.removeAll { $0 == c }
            }
            stack.removeAll()
        }
        func read(_ c: ClientID) -> UpdateStruct? {
            guard var q = queues[c], q.next < q.structs.count else { return nil }
            let s = q.structs[q.next]
            q.next += 1
            queues[c] = q
            return s
        }

        guard var current = nextTarget(), var head = read(current) else { return nil }
        while true {
            if case .skip = head {
                // holes are never integrated
            } else {
                let client = head.id.client
                let local = localState[client] ?? state(of: client)
                localState[client] = local
                if head.id.clock > local {
                    // An earlier struct of the same client is missing.
                    stack.append(head)
                    noteMissing(client, head.id.clock - 1)
                    stackToRest()
                } else if let dep = missingDependency(head) {
                    stack.append(head)
                    if let q = queues[dep], q.next < q.structs.count, let next = read(dep) {
                        head = next
                        continue
                    }
                    noteMissing(dep, state(of: dep))
                    stackToRest()
                } else {
                    let offset = local - head.id.clock
                    if offset == 0 || offset < head.length {
                        integrateRemote(head, offset: offset)
                        localState[client] = head.id.clock + head.length
                    }
                }
            }
            if let popped = stack.popLast() {
                head = popped
            } else if let s = read(current) {
                head = s
            } else if let c = nextTarget(), let s = read(c) {
                current = c
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
        if let o = item.origin, o.clock >= state(of: o.client) { return o.client }
        if let r = item.rightOrigin, r.clock >= state(of: r.client) { return r.client }
        if case let .item(pid)? = item.parent, pid.clock >= state(of: pid.client) { return pid.client }
        return nil
    }

    /// Resolves an item's references (splitting neighbours) and integrates it from `offset`.
    private mutating func integrateRemote(_ s: UpdateStruct, offset: Clock) {
        switch s {
        case .skip:
            return
        case let .gc(id, length):
            let c = clientIndex(id.client)
            var rec = ItemRecord(client: c, clock: id.clock + offset, length: length - offset, kind: .gc)
            rec.isDeleted = true
            addStruct(rec)
        case let .item(item):
            guard item.length > offset else { return } // zero-length items carry nothing
            let c = clientIndex(item.id.client)
            var rec = ItemRecord(client: c, clock: item.id.clock, length: item.length, kind: .deleted)
            var content = item.content
            var leftIsGC = false, rightIsGC = false
            if let o = item.origin {
                let oc = clientIndex(o.client)
                let l = cleanEnd(oc, o.clock)
                rec.left = l
                let lr = items[Int(l)]
                rec.originClient = oc
                rec.originClock = lr.lastClock
                leftIsGC = lr.isGC
            }
            if let ro = item.rightOrigin {
                let rc = clientIndex(ro.client)
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
                    let pref = find(clientIndex(pid.client), pid.clock)
                    let pr = items[Int(pref)]
                    rec.parent = (pr.kind == .type) ? pr.content : -1
                }
                if let key = item.parentSub { rec.parentSub = keyIndex(key) }
            } else {
                if rec.left != noItem, !items[Int(rec.left)].isGC {
                    rec.parent = items[Int(rec.left)].parent
                    rec.parentSub = items[Int(rec.left)].parentSub
                }
                if rec.right != noItem, !items[Int(rec.right)].isGC {
                    rec.parent = items[Int(rec.right)].parent
                    rec.parentSub = items[Int(rec.right)].parentSub
                }
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
