import CRDT

/// The ids an update carries: struct clock ranges per client (Skips left out) and its delete set.
public struct UpdateCoverage: Sendable, Equatable {
    /// Normalised (sorted, merged) struct ranges per client.
    public var structs: DeleteSet
    /// Normalised delete set.
    public var deletes: DeleteSet

    /// Coverage from ranges already normalised.
    public init(structs: DeleteSet, deletes: DeleteSet) {
        self.structs = structs
        self.deletes = deletes
    }

    /// The coverage of a decoded update (Skips and empty structs left out), normalised.
    public init(_ update: DecodedUpdate) {
        var s = DeleteSet()
        for g in update.groups {
            for st in g.structs where !st.isSkip && st.length > 0 {
                s.add(client: st.id.client, clock: st.id.clock, length: st.length)
            }
        }
        s.normalize()
        var d = update.deleteSet
        d.normalize()
        self.init(structs: s, deletes: d)
    }

    /// Decodes an update v1 (typed error when it does not decode).
    public init(update: [UInt8]) throws(SyncError) {
        do { self.init(try UpdateDecoderV1.decode(update)) } catch { throw .invalidPayload(error) }
    }

    /// The update carries no struct and no delete.
    public var isEmpty: Bool { structs.isEmpty && deletes.isEmpty }
}

/// What we know a peer holds: the struct ranges it has (per client; from its state vector plus
/// every update sent to it or received from it, even out of order) and the deletes it has seen.
/// Both only ever err on the side of "the peer lacks it", except for updates we sent that the
/// transport then lost, which a resync (the peer's next step 1) corrects.
public struct PeerKnowledge: Sendable, Equatable {
    /// Normalised struct ranges the peer holds.
    public private(set) var structs: DeleteSet
    /// Normalised deletes the peer has seen.
    public private(set) var deletes: DeleteSet

    /// A peer holding everything below `stateVector` and having seen `deletes`.
    public init(stateVector: StateVector = StateVector(), deletes: DeleteSet = DeleteSet()) {
        var s = DeleteSet()
        for (client, clock) in stateVector.clocks where clock > 0 { s.add(client: client, clock: 0, length: clock) }
        self.structs = s
        var d = deletes
        d.normalize()
        self.deletes = d
    }

    /// The peer's state vector as far as we know (ranges contiguous from clock 0).
    public var stateVector: StateVector {
        var sv = StateVector()
        for (client, ranges) in structs.clients {
            if let first = ranges.first, first.clock == 0, first.length > 0 { sv[client] = first.end }
        }
        return sv
    }

    /// Whether the peer has every struct and every delete of `c`.
    public func covers(_ c: UpdateCoverage) -> Bool {
        Self.contains(structs, c.structs) && Self.contains(deletes, c.deletes)
    }

    /// Whether part of `c`'s structs is below the peer's state vector (worth trimming).
    public func overlapsStructs(_ c: UpdateCoverage) -> Bool {
        for (client, ranges) in c.structs.clients {
            guard let first = ranges.first, let have = structs.clients[client]?.first, have.clock == 0 else { continue }
            if first.clock < have.end { return true }
        }
        return false
    }

    /// Records that the peer now has `c` (sent to it or received from it).
    public mutating func learn(_ c: UpdateCoverage) {
        if !c.structs.isEmpty { structs = structs.merged(with: c.structs) }
        if !c.deletes.isEmpty { deletes = deletes.merged(with: c.deletes) }
    }

    /// Records a state vector the peer declared (on top of what we know it holds).
    public mutating func learn(stateVector sv: StateVector) {
        learn(UpdateCoverage(structs: PeerKnowledge(stateVector: sv).structs, deletes: DeleteSet()))
    }

    /// Whether every range of `inner` lies inside `outer` (both normalised).
    static func contains(_ outer: DeleteSet, _ inner: DeleteSet) -> Bool {
        for (client, ranges) in inner.clients where !ranges.isEmpty {
            guard let have = outer.clients[client], !have.isEmpty else { return false }
            for r in ranges {
                // the last range starting at or before r.clock
                var lo = 0, hi = have.count - 1, found = -1
                while lo <= hi {
                    let mid = (lo + hi) / 2
                    if have[mid].clock <= r.clock { found = mid; lo = mid + 1 } else { hi = mid - 1 }
                }
                guard found >= 0, have[found].end >= r.end else { return false }
            }
        }
        return true
    }
}
