/// For each client, the next clock it will use: everything below is known contiguously.
/// Compare state vectors as maps, never as bytes (yrs writes them in hash order).
public struct StateVector: Sendable, Equatable, Hashable {
    public var clocks: [ClientID: Clock]

    public init(_ clocks: [ClientID: Clock] = [:]) {
        self.clocks = clocks
    }

    public subscript(client: ClientID) -> Clock {
        get { clocks[client] ?? 0 }
        set { clocks[client] = newValue }
    }

    public var isEmpty: Bool { clocks.isEmpty }

    /// Clients sorted descending, the order Yjs writes them in.
    public var sortedDescending: [(client: ClientID, clock: Clock)] {
        clocks.sorted { $0.key > $1.key }.map { (client: $0.key, clock: $0.value) }
    }
}
