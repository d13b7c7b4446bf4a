import CRDT

/// "Unsynced changes", from state vectors.
///
/// A replica's own changes are the clock units of its client id: every inserted character, map
/// value or array element takes one unit, a deletion takes none (Yjs clocks count insertions). A
/// unit is *confirmed* once a peer has announced a state vector that includes it (a SyncStep1: at
/// the handshake and, with confirmations on, after it received updates from us; or a state vector
/// carried by a hand-over file). Then
///
///     unsyncedChanges = max(0, localStateVector[ownClient] - confirmedClock)
///     confirmedClock  = max over every peer ever heard from of peerStateVector[ownClient]
///
/// i.e. how many of our own units no peer has confirmed yet: they exist only on this machine.
/// The confirmed clock is kept in the store (meta `sync.confirmed` = "client:clock"), so it
/// survives restarts and `ycli status` can show it offline. Deletions of others' content are not
/// counted (they have no clock of their own), and if the document had to take a new client id
/// (see JOURNAL-API) the count restarts for the new id.
public struct UnsyncedCount: Sendable, Equatable {
    /// The replica's own client id: the one whose units are counted.
    public var client: ClientID
    /// The highest clock of `client` any peer has announced (0: none yet).
    public var confirmed: Clock

    /// A count for `client` with `confirmed` units already confirmed.
    public init(client: ClientID, confirmed: Clock = 0) {
        self.client = client
        self.confirmed = confirmed
    }

    /// Own units beyond the confirmed clock.
    public func count(local: StateVector) -> Int {
        let own = local[client]
        return own > confirmed ? Int(own - confirmed) : 0
    }

    /// A peer announced `sv`: returns true if the confirmed clock moved.
    @discardableResult
    public mutating func confirm(_ sv: StateVector) -> Bool {
        let k = sv[client]
        if k > confirmed {
            confirmed = k
            return true
        }
        return false
    }

    /// The meta value: "client:clock".
    public var metaValue: String { "\(client):\(confirmed)" }

    /// Reads a meta value; a value for another client id counts as nothing confirmed.
    public init(client: ClientID, metaValue: String?) {
        self.init(client: client)
        guard let v = metaValue else { return }
        let parts = v.split(separator: ":")
        if parts.count == 2, let c = ClientID(parts[0]), let k = Clock(parts[1]), c == client {
            confirmed = k
        }
    }

    /// The journal meta key the confirmed clock is kept under.
    public static let metaKey = "sync.confirmed"
}
