import Foundation
import Logging
import RoomHost
import ServiceLifecycle
import Synchronization

/// What a graceful shutdown did: rooms persisted, how long it took, and the connections it
/// closed by force because they were still open when the grace period was over.
public struct ShutdownReport: Sendable, Equatable {
    /// The grace period connections had, in seconds from the signal.
    public var grace: Double
    /// Rooms persisted (journal flushed, compacted when due, content store written back) before the wait.
    public var roomsPersisted: Int
    /// Seconds from the signal until every room was persisted.
    public var persistedAfter: Double
    /// Seconds from the signal until no connection was left (the last ones cut at the grace).
    public var endedAfter: Double
    /// WebSockets closed by force (the peer never answered the 1001, or never read it).
    public var cutWebSockets = 0
    /// HTTP connections closed by force that were waiting for a request (or never sent one).
    public var cutIdle = 0
    /// HTTP connections closed by force in the middle of sending a request.
    public var cutRequests = 0
    /// HTTP connections closed by force before their answer was written to the end.
    public var cutResponses = 0

    /// A report of a shutdown that cut nothing yet.
    public init(grace: Double, roomsPersisted: Int, persistedAfter: Double, endedAfter: Double) {
        self.grace = grace
        self.roomsPersisted = roomsPersisted
        self.persistedAfter = persistedAfter
        self.endedAfter = endedAfter
    }

    /// Connections closed by force.
    public var cut: Int { cutWebSockets + cutIdle + cutRequests + cutResponses }

    /// The log line: "shutdown: grace of 10 s over; closed 3 connections (2 WebSocket, 1 HTTP: 1 idle)",
    /// or "shutdown: every connection ended within the grace (0.4 s of 10 s); none cut".
    public var line: String {
        guard cut > 0 else {
            return "shutdown: every connection ended within the grace (\(Self.seconds(endedAfter)) of \(Self.seconds(grace))); none cut"
        }
        var kinds: [String] = []
        if cutWebSockets > 0 { kinds.append("\(cutWebSockets) WebSocket") }
        let http = cutIdle + cutRequests + cutResponses
        if http > 0 {
            let parts = [(cutIdle, "idle"), (cutRequests, "mid-request"), (cutResponses, "mid-response")]
                .filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
            kinds.append("\(http) HTTP: " + parts.joined(separator: ", "))
        }
        return "shutdown: grace of \(Self.seconds(grace)) over; closed \(cut) connection\(cut == 1 ? "" : "s") (\(kinds.joined(separator: ", ")))"
    }

    /// Counts what the connections closed by force were doing.
    mutating func count(_ activities: [ConnectionRegistry.Activity]) {
        for activity in activities {
            switch activity {
            case .webSocket: cutWebSockets += 1
            case .idle: cutIdle += 1
            case .request: cutRequests += 1
            case .response: cutResponses += 1
            }
        }
    }

    /// "10 s", "0.25 s".
    static func seconds(_ value: Double) -> String {
        value == value.rounded() && value < 1e9 ? "\(Int(value)) s" : String(format: "%.2f s", value)
    }
}

/// The start of a graceful shutdown, in this order: nothing new is accepted, every WebSocket is
/// sent 1001, every room is persisted; then connections have what is left of the grace period
/// (counted from the signal) to end, and those still open are closed by force (`ShutdownWatch`).
///
/// Listed after the application in the service group, so it is shut down first: its `run`
/// returns once the rooms are persisted, and Hummingbird then closes its listener and asks its
/// connections to end (hummingbird-websocket would send 1000; a socket already closing keeps 1001).
struct ShutdownService: Service, CustomStringConvertible {
    let host: RoomHost
    let registry: ConnectionRegistry
    let sockets: LiveSockets
    /// Seconds connections have, from the signal, before they are closed by force.
    let grace: Double
    let logger: Logger
    let watch: ShutdownWatch

    /// The name in ServiceLifecycle's log lines.
    var description: String { "ShutdownService(grace: \(ShutdownReport.seconds(grace)))" }

    func run() async throws {
        try? await gracefulShutdown()
        // Cancelled rather than shut down gracefully (the task running the server was cancelled).
        guard !Task.isCancelled else { return }
        await begin(at: .now)
    }

    /// The shutdown from `start` (the signal): returns once every room is persisted, leaving
    /// the rest of the grace to `watch`.
    func begin(at start: ContinuousClock.Instant) async {
        let deadline = start + .milliseconds(Int64(grace * 1000))
        registry.beginShutdown()
        // The rooms are persisted while the close frames go out: a close frame that cannot be
        // handed over at once belongs to a peer that does not read, and holds nothing back.
        async let closing = sockets.closeAll(deadline: min(deadline, start + .seconds(1)))
        let rooms = await host.loadedRooms.count
        await host.shutdown()
        let persisted = Self.seconds(since: start)
        let closed = await closing
        let open = registry.current
        logger.info("shutdown: stopped accepting, sent 1001 to \(closed) WebSocket\(closed == 1 ? "" : "s"), persisted \(rooms) room\(rooms == 1 ? "" : "s") in \(ShutdownReport.seconds(persisted)); waiting at most \(ShutdownReport.seconds(max(0, grace - persisted))) for \(open) connection\(open == 1 ? "" : "s")")
        let registry = self.registry, logger = self.logger, grace = self.grace
        watch.start {
            // Bounded: at the deadline whatever is open is closed.
            let ended = await registry.waitUntilEmpty(deadline: deadline)
            var report = ShutdownReport(grace: grace, roomsPersisted: rooms, persistedAfter: persisted, endedAfter: 0)
            if !ended { report.count(registry.closeAll()) }
            report.endedAfter = Self.seconds(since: start)
            logger.log(level: report.cut > 0 ? .warning : .info, "\(report.line)")
            return report
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

/// The second half of a shutdown: waits for the connections until the grace is over, then
/// closes the rest. Runs beside Hummingbird's own shutdown (which waits for every connection
/// to close), so that one ends when this one cuts.
final class ShutdownWatch: Sendable {
    private let task = Mutex<Task<ShutdownReport, Never>?>(nil)

    func start(_ body: @escaping @Sendable () async -> ShutdownReport) {
        task.withLock { $0 = Task(operation: body) }
    }

    /// The report, once the wait is over (nil when no graceful shutdown began).
    func report() async -> ShutdownReport? {
        guard let task = task.withLock({ $0 }) else { return nil }
        return await task.value
    }
}
