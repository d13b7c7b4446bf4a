import HummingbirdWebSocket
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

    /// Sends 1001 going away on every open WebSocket, each close in a task of its own; returns
    /// how many there were once each close frame was handed to its socket, or at `deadline`
    /// (a peer that does not read may hold its close back until the socket is cut).
    func closeAll(deadline: ContinuousClock.Instant) async -> Int {
        let writers = all
        guard !writers.isEmpty else { return 0 }
        let (handedOver, done) = AsyncStream<Void>.makeStream()
        for writer in writers {
            Task {
                try? await writer.close(.goingAway, reason: "server shutting down")
                done.yield()
            }
        }
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            done.finish()
        }
        var closed = 0
        for await _ in handedOver {
            closed += 1
            if closed == writers.count { break }
        }
        timer.cancel()
        return writers.count
    }
}
