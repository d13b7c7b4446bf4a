import CRDT

/// What a session needs from the local document: its state vector and the diff for a peer.
/// `YDoc` conforms; a replica may wrap its document to add journaling.
public protocol SyncDocument: AnyObject {
    var stateVector: StateVector { get }
    func encodeStateAsUpdate(since: StateVector) -> [UInt8]
}

extension YDoc: SyncDocument {}
