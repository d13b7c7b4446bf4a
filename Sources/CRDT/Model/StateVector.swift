/// For each client, the next clock it will use: everything below is known contiguously.
/// Compare state vectors as maps, never as bytes (yrs writes them in hash order).
public struct StateVector: Sendable, Equatable, Hashable {
    /// The next clock per client; a client absent here is at clock 0.
    public var clocks: [ClientID: Clock]

    /// A state vector from clocks per client (empty by default: knows nothing).
    public init(_ clocks: [ClientID: Clock] = [:]) {
        self.clocks = clocks
    }

    /// The next clock of `client` (0 when absent); setting stores it.
    public subscript(client: ClientID) -> Clock {
        get { clocks[client] ?? 0 }
        set { clocks[client] = newValue }
    }

    /// No client listed.
    public var isEmpty: Bool { clocks.isEmpty }

    /// Clients sorted descending, the order Yjs writes them in.
    public var sortedDescending: [(client: ClientID, clock: Clock)] {
        clocks.sorted { $0.key > $1.key }.map { (client: $0.key, clock: $0.value) }
    }
}
