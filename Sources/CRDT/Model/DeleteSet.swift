/// A half-open clock range [clock, clock + length) of one client.
public struct ClockRange: Sendable, Equatable, Hashable {
    /// First clock of the range.
    public var clock: Clock
    /// Number of clocks in the range.
    public var length: Clock
    /// The range [clock, clock + length).
    public init(clock: Clock, length: Clock) {
        self.clock = clock
        self.length = length
    }
    /// One past the last clock of the range.
    public var end: Clock { clock &+ length }
}

/// The set of deleted ids, per client as sorted ranges.
public struct DeleteSet: Sendable, Equatable {
    /// Ranges per client; sorted and merged only after `normalize()`.
    public var clients: [ClientID: [ClockRange]]

    /// A delete set from ranges as given (not normalised); empty by default.
    public init(_ clients: [ClientID: [ClockRange]] = [:]) {
        self.clients = clients
    }

    /// No client has a range.
    public var isEmpty: Bool { clients.values.allSatisfy { $0.isEmpty } }

    /// Add a range without normalising; call `normalize()` before encoding or querying.
    public mutating func add(client: ClientID, clock: Clock, length: Clock) {
        guard length > 0 else { return }
        clients[client, default: []].append(ClockRange(clock: clock, length: length))
    }

    /// Sort ranges per client and merge overlapping or touching ones (Yjs `sortAndMergeDeleteSet`).
    public mutating func normalize() {
        // Mutate the values in place: iterating `clients` while assigning to it would copy the
        // whole dictionary on every call (this runs at the end of every transaction).
        var i = clients.values.startIndex
        while i != clients.values.endIndex {
            Self.sortAndMerge(&clients.values[i])
            clients.values.formIndex(after: &i)
        }
    }

    /// Sorts ranges by clock and merges overlapping or touching ones, in place.
    static func sortAndMerge(_ ranges: inout [ClockRange]) {
        guard ranges.count > 1 else { return }
        var sorted = true
        for k in 1..<ranges.count where ranges[k].clock < ranges[k - 1].clock {
            sorted = false
            break
        }
        if !sorted { ranges.sort { $0.clock < $1.clock } }
        var out = 0
        for k in 1..<ranges.count {
            let r = ranges[k]
            if r.clock <= ranges[out].end {
                let end = max(ranges[out].end, r.end)
                ranges[out].length = end - ranges[out].clock
            } else {
                out += 1
                ranges[out] = r
            }
        }
        ranges.removeSubrange((out + 1)...)
    }

    /// Whether `id` falls in the set (ranges must be normalised).
    public func contains(_ id: ID) -> Bool {
        guard let ranges = clients[id.client] else { return false }
        var lo = 0, hi = ranges.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            let r = ranges[mid]
            if id.clock < r.clock { hi = mid - 1 } else if id.clock >= r.end { lo = mid + 1 } else { return true }
        }
        return false
    }

    /// Union of two delete sets (normalised).
    public func merged(with other: DeleteSet) -> DeleteSet {
        var result = self
        for (client, ranges) in other.clients {
            result.clients[client, default: []].append(contentsOf: ranges)
        }
        result.normalize()
        return result
    }
}

extension DeleteSet {
    /// The ids of `self` not in `other` (both normalised; the result is normalised). Clients left
    /// without ranges are dropped. Used to send a peer only the deletes it is not known to have.
    public func subtracting(_ other: DeleteSet) -> DeleteSet {
        var result = DeleteSet()
        for (client, ranges) in clients where !ranges.isEmpty {
            guard let cut = other.clients[client], !cut.isEmpty else {
                result.clients[client] = ranges
                continue
            }
            var out: [ClockRange] = []
            var j = 0
            for r in ranges {
                var start = r.clock
                let end = r.end
                // Skip cuts that end before this range; then carve out the overlapping ones.
                while j < cut.count, cut[j].end <= start { j += 1 }
                var k = j
                while start < end, k < cut.count, cut[k].clock < end {
                    if cut[k].clock > start { out.append(ClockRange(clock: start, length: cut[k].clock - start)) }
                    start = max(start, cut[k].end)
                    k += 1
                }
                if start < end { out.append(ClockRange(clock: start, length: end - start)) }
            }
            if !out.isEmpty { result.clients[client] = out }
        }
        return result
    }
}
