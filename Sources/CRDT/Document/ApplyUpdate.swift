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
