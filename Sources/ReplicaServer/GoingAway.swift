import HummingbirdWebSocket
import ServiceLifecycle
import Synchronization

/// The WebSocket connections open now, so that shutdown can close them with 1001.
final class LiveSockets: Sendable {
    private let state = Mutex<(next: Int, writers: [Int: WebSocketOutboundWriter])>((0, [:]))

    /// Registers a connection; returns its key for `remove`.
    func add(_ writer: WebSocketOutboundWriter) -> Int {
        state.withLock { state in
            state.next += 1
            state.writers[state.next] = writer
            return state.next
        }
    }

    /// The connection ended.
    func remove(_ key: Int) { _ = state.withLock { $0.writers.removeValue(forKey: key) } }

    /// Every open connection.
    var all: [WebSocketOutboundWriter] { state.withLock { Array($0.writers.values) } }
}

/// Closes every WebSocket with 1001 going away when the server shuts down gracefully.
/// Listed after the application in the service group, so it is shut down first: Hummingbird
/// shuts its HTTP server down before the application's own services, and hummingbird-websocket
/// then closes each socket with 1000; a socket already closing keeps our code.
struct GoingAwayService: Service {
    let sockets: LiveSockets

    func run() async throws {
        try? await gracefulShutdown()
        await withTaskGroup(of: Void.self) { group in
            for writer in sockets.all {
                group.addTask { try? await writer.close(.goingAway, reason: "server shutting down") }
            }
        }
    }
}
