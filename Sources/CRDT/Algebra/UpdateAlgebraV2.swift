// Update v2 at the API: the document's v2 entry points and the doc-less v2 algebra (Yjs'
// `applyUpdateV2`, `encodeStateAsUpdateV2`, the `updateV2` event, `mergeUpdatesV2`,
// `diffUpdateV2`, `encodeStateVectorFromUpdateV2`, `convertUpdateFormatV1ToV2` / `V2ToV1`).
// Everything goes through the v1 model, so the algebra (and its Yjs quirks) exists once.

extension Updates {
    /// `mergeUpdatesV2`: a single input is returned as it is (after checking that it decodes).
    public static func mergeV2(_ updates: [[UInt8]]) throws(DecodingError) -> [UInt8] {
        if updates.count == 1 {
            _ = try UpdateDecoderV2.decode(updates[0])
            return updates[0]
        }
        var decoded: [DecodedUpdate] = []
        decoded.reserveCapacity(updates.count)
        for u in updates { decoded.append(try UpdateDecoderV2.decode(u)) }
        return UpdateEncoderV2.encode(merge(decoded))
    }

    /// `diffUpdateV2`: what the v2 `update` holds beyond `sv`, as update v2.
    public static func diffV2(_ update: [UInt8], against sv: StateVector) throws(DecodingError) -> [UInt8] {
        UpdateEncoderV2.encode(diff(try UpdateDecoderV2.decode(update), against: sv))
    }

    /// `encodeStateVectorFromUpdateV2`, as a map (its bytes are `StateVector`'s usual encoding).
    public static func stateVectorV2(of update: [UInt8]) throws(DecodingError) -> StateVector {
        stateVector(of: try UpdateDecoderV2.decode(update))
    }

    /// `convertUpdateFormatV1ToV2`: the same structs and delete set, written in v2. Items are
    /// re-emitted as Yjs' lazy reader sees them (an item with an origin loses info bit 0x20).
    public static func convertV1ToV2(_ update: [UInt8]) throws(DecodingError) -> [UInt8] {
        UpdateEncoderV2.encode(asRead(try UpdateDecoderV1.decode(update)))
    }

    /// `convertUpdateFormatV2ToV1`: the same structs and delete set, written in v1 (see
    /// `convertV1ToV2`; the delete set comes out sorted, merged and clients descending).
    public static func convertV2ToV1(_ update: [UInt8]) throws(DecodingError) -> [UInt8] {
        var u = asRead(try UpdateDecoderV2.decode(update))
        u.deleteSet.normalize()
        return UpdateEncoderV1.encode(u)
    }

    /// Every struct of `u` as Yjs' lazy struct reader holds it (`asRead`).
    static func asRead(_ u: DecodedUpdate) -> DecodedUpdate {
        var out = u
        for g in out.groups.indices {
            for s in out.groups[g].structs.indices {
                out.groups[g].structs[s] = asRead(out.groups[g].structs[s])
            }
        }
        return out
    }

    /// v1 bytes this module wrote itself, as v2 (a document's state or a transaction's update):
    /// the structs keep their info bits, as Yjs' document encoder writes them.
    static func ownV1ToV2(_ v1: [UInt8]) -> [UInt8] {
        do {
            return UpdateEncoderV2.encode(try UpdateDecoderV1.decode(v1))
        } catch {
            preconditionFailure("an update this document encoded does not decode: \(error)")
        }
    }
}

extension UpdateEvent {
    /// The transaction's changes as update v2 bytes (Yjs' `updateV2` event), computed from
    /// `update` when asked for.
    public var updateV2: [UInt8] { Updates.ownV1ToV2(update) }
}

extension YDoc {
    /// Decodes and applies an update v2. Malformed input throws before anything changes.
    public func applyUpdateV2(_ update: [UInt8], origin: String? = nil) throws {
        try apply(try UpdateDecoderV2.decode(update), origin: origin)
    }

    /// The whole document, or only what a peer with state vector `since` lacks, as update v2
    /// (Yjs' `encodeStateAsUpdateV2`). Pending structs and deletes are carried along.
    public func encodeStateAsUpdateV2(since: StateVector = StateVector()) -> [UInt8] {
        Updates.ownV1ToV2(encodeStateAsUpdate(since: since))
    }

    /// Like `encodeStateAsUpdateV2(since:)` with an encoded state vector.
    public func encodeStateAsUpdateV2(sinceEncoded sv: [UInt8]) throws -> [UInt8] {
        encodeStateAsUpdateV2(since: try StateVector(decoding: sv))
    }
}

/// The two encodings of an update. Nothing on the wire says which one a byte string is (spec 8.5).
public enum UpdateFormat: String, Sendable, CaseIterable {
    /// Update format v1 (`applyUpdate`, y-protocols).
    case v1
    /// Update format v2 (`applyUpdateV2`).
    case v2

    /// Decodes `bytes` as the format it is in: v1 when it decodes as v1 with no byte left over,
    /// else v2 when it decodes as v2 with no byte left over. Otherwise the v1 error, which is
    /// `.trailingBytes` when a v1 update ended before the input did (never silently dropped).
    public static func detect(_ bytes: [UInt8]) throws(DecodingError) -> (format: UpdateFormat, update: DecodedUpdate) {
        var r = Lib0Reader(bytes)
        let v1Error: DecodingError
        do {
            let u = try UpdateDecoderV1.decode(from: &r)
            if r.isAtEnd { return (.v1, u) }
            v1Error = .trailingBytes(count: r.remaining, offset: r.offset)
        } catch {
            v1Error = error
        }
        // A v2 update starts with its feature flag, 0.
        if bytes.first == 0, let u = try? UpdateDecoderV2.decodeExactly(bytes) { return (.v2, u) }
        throw v1Error
    }
}
