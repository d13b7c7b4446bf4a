import NIOCore
import Synchronization

/// Every open connection of one server (HTTP and WebSocket) with what it is doing: counted for
/// the connection limit and `/healthz`, and closed by force when a shutdown's grace is over.
final class ConnectionRegistry: Sendable {
    /// What a connection is doing, as `ConnectionGuard` last saw it.
    enum Activity: Sendable, Hashable {
        /// HTTP, waiting for a request (a new connection that sent nothing yet, or kept alive).
        case idle
        /// HTTP, a request being read (head or body not complete).
        case request
        /// HTTP, the request read; its answer not yet written to the end.
        case response
        /// Upgraded to a WebSocket.
        case webSocket
    }

    private struct Entry {
        let channel: any Channel
        var activity: Activity
    }

    private struct State {
        var next = 0
        var open: [Int: Entry] = [:]
        var shuttingDown = false
    }

    private let state = Mutex(State())

    /// Counts `channel` in; its key (for `note` and `close`) and how many are open with it.
    /// During a shutdown the channel is closed at once (nothing new is served).
    func open(_ channel: any Channel) -> (key: Int, open: Int) {
        let (key, open, refuse) = state.withLock { state in
            state.next += 1
            state.open[state.next] = Entry(channel: channel, activity: .idle)
            return (state.next, state.open.count, state.shuttingDown)
        }
        if refuse { channel.close(promise: nil) }
        return (key, open)
    }

    /// The connection's activity changed.
    func note(_ key: Int, _ activity: Activity) {
        state.withLock { $0.open[key]?.activity = activity }
    }

    /// Counts the connection out (its channel closed).
    func close(_ key: Int) { _ = state.withLock { $0.open.removeValue(forKey: key) } }

    /// Connections open now.
    var current: Int { state.withLock { $0.open.count } }

    /// From now on every new connection is closed as soon as it is accepted.
    func beginShutdown() { state.withLock { $0.shuttingDown = true } }

    /// Waits until no connection is open or `deadline` has come, polling every 10 ms; true when none is left.
    func waitUntilEmpty(deadline: ContinuousClock.Instant) async -> Bool {
        while current > 0 {
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Closes every connection still open (pending writes are dropped) and returns what each was doing.
    func closeAll() -> [Activity] {
        let entries = state.withLock { Array($0.open.values) }
        for entry in entries { entry.channel.close(mode: .all, promise: nil) }
        return entries.map(\.activity)
    }
}
