import CRDT

/// Building a step 2 whose delete set is cut to what the peer lacks (reliable transports only;
/// see `SyncSession.Options.reliableDelivery`).
enum DeleteTrimming {
    /// `update` (whose decoding is `decoded`) with its delete set replaced by `deletes`. An
    /// update v1 is its structs followed by its delete set, so when the tail is the canonical
    /// encoding of the decoded delete set (the document writes it so) only the tail is swapped;
    /// otherwise the whole update is re-encoded. Either way a valid update v1.
    static func replacingDeleteSet(of update: [UInt8], decoded: DecodedUpdate, with deletes: DeleteSet) -> [UInt8] {
        let tail = decoded.deleteSet.encodedV1()
        if tail.count <= update.count, update.suffix(tail.count).elementsEqual(tail) {
            var out = Array(update.prefix(update.count - tail.count))
            out.append(contentsOf: deletes.encodedV1())
            return out
        }
        return UpdateEncoderV1.encode(DecodedUpdate(groups: decoded.groups, deleteSet: deletes))
    }
}
