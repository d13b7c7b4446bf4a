/// A client id as Yjs and yrs use it: Yjs picks a random uint32, yrs a random 53-bit value.
public typealias ClientID = UInt64

/// Clocks count UTF-16 units / elements per client. yrs stores them as u32 too; a larger
/// clock on the wire is rejected as malformed rather than wrapped.
public typealias Clock = UInt32

/// The identity of one unit of inserted content.
public struct ID: Hashable, Sendable, CustomStringConvertible {
    public var client: ClientID
    public var clock: Clock

    @inlinable
    public init(client: ClientID, clock: Clock) {
        self.client = client
        self.clock = clock
    }

    public var description: String { "(\(client),\(clock))" }
}
