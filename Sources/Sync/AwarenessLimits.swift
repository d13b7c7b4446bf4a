import CRDT

/// Bounds on what an `Awareness` holds, so that peers cannot grow it without limit.
///
/// The defaults are generous for real apps (a few hundred users in a room, states of a few
/// hundred bytes: a name, a colour, a cursor) and small enough that a room's awareness stays
/// in the low megabytes whatever its peers send.
public struct AwarenessLimits: Sendable, Equatable {
    /// Present states (clients with a state, ours included).
    public var maxStates: Int = 2_000
    /// Sum of the JSON text bytes of the present states.
    public var maxTotalBytes: Int = 4 << 20
    /// JSON text bytes of one state (larger states are refused before they are parsed).
    public var maxStateBytes: Int = 32 << 10
    /// Clocks of gone clients kept (tombstones, so that older messages about them stay
    /// refused); beyond it the oldest are forgotten.
    public var maxTombstones: Int = 4_000
    /// Seconds a gone client's clock is kept. Messages on one connection arrive in order, so an
    /// older state could only come late through a relay: a few minutes covers that.
    public var tombstoneLifetime: Double = 120

    /// The defaults shown on each property.
    public init() {}

    /// No bound at all (y-protocols' behaviour: every clock is kept for ever).
    public static let unlimited: AwarenessLimits = {
        var l = AwarenessLimits()
        l.maxStates = .max
        l.maxTotalBytes = .max
        l.maxStateBytes = .max
        l.maxTombstones = .max
        l.tombstoneLifetime = .infinity
        return l
    }()
}

/// Why an awareness update was refused as a whole (nothing of it applied).
public enum AwarenessViolation: Error, Sendable, Equatable, CustomStringConvertible {
    /// One state is larger than `AwarenessLimits.maxStateBytes`.
    case stateTooLarge(client: ClientID, bytes: Int, limit: Int)
    /// The present states would number more than `AwarenessLimits.maxStates`.
    case tooManyStates(wouldBe: Int, limit: Int)
    /// The present states would hold more than `AwarenessLimits.maxTotalBytes`.
    case tooManyBytes(wouldBe: Int, limit: Int)
    /// One peer would control more client ids than its policy allows (checked by the replica).
    case tooManyClients(count: Int, limit: Int)

    /// One line for logs and close reasons.
    public var description: String {
        switch self {
        case let .stateTooLarge(client, bytes, limit): "awareness state of client \(client) is \(bytes) bytes (limit \(limit))"
        case let .tooManyStates(wouldBe, limit): "awareness would hold \(wouldBe) states (limit \(limit))"
        case let .tooManyBytes(wouldBe, limit): "awareness states would hold \(wouldBe) bytes (limit \(limit))"
        case let .tooManyClients(count, limit): "awareness for \(count) client ids from one connection (limit \(limit))"
        }
    }

    /// A short name for metric labels.
    public var label: String {
        switch self {
        case .stateTooLarge: "state_bytes"
        case .tooManyStates: "room_states"
        case .tooManyBytes: "room_bytes"
        case .tooManyClients: "connection_clients"
        }
    }
}
