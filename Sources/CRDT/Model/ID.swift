/// A client id as Yjs and yrs use it: Yjs picks a random uint32, yrs a random 53-bit value.
public typealias ClientID = UInt64

/// Clocks count UTF-16 units / elements per client. yrs stores them as u32 too; a larger
/// clock on the wire is rejected as malformed rather than wrapped.
public typealias Clock = UInt32

/// The identity of one unit of inserted content.
public struct ID: Hashable, Sendable, CustomStringConvertible {
    /// The client that inserted the content.
    public var client: ClientID
    /// The content's position in that client's sequence (UTF-16 units or elements, from 0).
    public var clock: Clock

    /// The id of `client`'s unit at `clock`.
    @inlinable
    public init(client: ClientID, clock: Clock) {
        self.client = client
        self.clock = clock
    }

    /// "(client,clock)".
    public var description: String { "(\(client),\(clock))" }
}
