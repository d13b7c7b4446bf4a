/// Applying remote updates: dependency-ordered integration with pending structs and deletes
/// (Yjs `applyUpdate` / `integrateStructs` / `readAndApplyDeleteSet`).
extension DocStore {
    /// Integrates a wire-level update (pending retries, `YDoc.apply(_:)`): it goes through the
    /// same flat path as bytes, so there is one integration algorithm.
    mutating func integrateUpdate(_ update: DecodedUpdate) {
        guard var raw = try? RawUpdate.decode(UpdateEncoderV1.encode(update)) else {
            // Our own encoding of validated content always decodes; keep it pending rather than lose it.
            pendingStructs = pendingStructs.map { Updates.merge([$0, update]) } ?? update
            return
        }
        finishApply(rest: integrateRawStructs(&raw), deleteSet: raw.deleteSet)
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
                let merged = Updates.merge([pending, rest.update])
                pendingStructs = merged
                // A dependency of one part may sit in the other (the pieces of one split update
                // arriving shuffled): when the merged pending holds structs that continue a
                // client's state at a clock it misses, integrating it together can resolve them.
                // (Yjs 13 retries only on its missing map and stays stuck here.)
                if !retry { retry = Self.pendingContinuesMissing(merged, pendingMissing, state: state(of:)) }
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

    /// Whether `pending` has a group for a client with a missing dependency that starts at or
    /// below that client's state (so integrating `pending` as one update makes progress).
    static func pendingContinuesMissing(_ pending: DecodedUpdate, _ missing: [ClientID: Clock],
                                        state: (ClientID) -> Clock) -> Bool {
        for g in pending.groups {
            guard missing[g.client] != nil, let first = g.structs.first(where: { !$0.isSkip }) else { continue }
            if first.id.clock <= state(g.client) { return true }
        }
        return false
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
}
