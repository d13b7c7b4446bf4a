/// A bidirectional pipe of frames (one y-protocols message per frame). Implementations: the
/// in-memory pair here, WebSocket ones in the server module.
public protocol Transport: Sendable {
    /// Sends one frame. Throws `TransportError.closed` once the transport is closed.
    func send(_ frame: [UInt8]) async throws
    /// The received frames; finishes when the connection closes (or throws when it fails).
    var frames: AsyncThrowingStream<[UInt8], Error> { get }
    /// Closes both directions; the peer's `frames` finishes too. Idempotent.
    func close() async
    /// Every frame sent arrives while the connection lives (none lost silently): TCP, WebSocket.
    /// Sessions then skip resending deletes the peer has (`SyncSession.Options.reliableDelivery`).
    /// May turn false during a connection; once a frame was lost it stays false. Default: false.
    var deliversReliably: Bool { get }
}

extension Transport {
    /// False: a transport that does not say otherwise may lose frames.
    public var deliversReliably: Bool { false }
}

/// Errors of a `Transport`.
public enum TransportError: Error, Equatable, Sendable {
    /// The transport was closed (by either end) before the frame could be sent.
    case closed
}
