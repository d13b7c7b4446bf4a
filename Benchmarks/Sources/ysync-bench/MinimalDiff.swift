import CLISupport
import CRDT

/// The smallest update that brings a replica holding `state` up to `union`: the structs it lacks
/// and only the deletes it lacks. (`encodeStateAsUpdate(since:)` always carries the whole delete
/// set, which would overstate the minimum for replicas that already hold most deletes.)
enum MinimalDiff {
    static func size(of union: YDoc, for state: [UInt8]) throws -> Int {
        let held = try UpdateDecoderV1.decode(state)
        let heldVector = try Updates.stateVector(of: state)
        var diff = try UpdateDecoderV1.decode(union.encodeStateAsUpdate(since: heldVector))
        diff.deleteSet = diff.deleteSet.subtracting(held.deleteSet)
        return UpdateEncoderV1.encode(diff).count
    }
}
