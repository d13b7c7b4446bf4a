#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Journal
import RoomHost

/// Everything `ycli serve` configures.
public struct ServerConfig: Sendable {
    /// Address to listen on.
    public var host = "127.0.0.1"
    /// 0 picks a free port (reported by `ReplicaServer.run(onListening:)`).
    public var port = 1999
    /// Room journals live in `<dataDirectory>/rooms`.
    public var dataDirectory = "./ysync-data"
    /// The seed's content store (`contentResource` table), if any.
    public var contentDatabase: String?
    /// HS256 secret; nil = open server (said at start-up).
    public var jwtSecret: String?
    /// The bearer token `GET /metrics` asks for (room tokens do not open it); nil: `/metrics` is
    /// open, for scrapers on a private network (said at start-up when rooms need tokens).
    public var metricsToken: String?
    /// Origins allowed by CORS; ["*"] allows any (the seed's default).
    public var corsOrigins = ["*"]
    /// The PartyKit party name in `/parties/<party>/<room>`.
    public var party = "main"
    /// Limits every room enforces.
    public var limits = RoomLimits()
    /// Journal durability of every room.
    public var durability: Durability = .full
    /// Seconds without a connection or request before a room is persisted and unloaded.
    public var idleTimeout: Double = 60
    /// Largest HTTP request body (POST update / broadcast); nil: the same as `limits.maxFrameBytes`,
    /// so an update refused over WebSocket is refused over HTTP too.
    public var maxRequestBytes: Int?
    /// The body limit in force (`maxRequestBytes`, else `limits.maxFrameBytes`).
    public var effectiveMaxRequestBytes: Int { maxRequestBytes ?? limits.maxFrameBytes }
    /// Seconds a client has, from its request's first byte, to send the whole head (else 408 and closed).
    public var headerTimeout: Double = 10
    /// Seconds a client has, from the end of the head, to send the whole body (else 408 and closed).
    public var bodyTimeout: Double = 30
    /// Seconds an HTTP connection may wait for its next request (a new connection for its first byte).
    public var httpIdleTimeout: Double = 60
    /// Largest request line and largest header block, in bytes (over it: 414 or 431, then closed).
    public var maxHeaderBytes = 32 << 10
    /// Open connections (HTTP and WebSocket) served in full; nil: half the process's descriptor
    /// limit (`RLIMIT_NOFILE`), at most 10,000, leaving the rest to room journals.
    public var maxConnections: Int?
    /// Connections beyond `maxConnections` that may still ask `GET /healthz` (others get 503).
    public var healthReserve = 16
    /// Seconds a graceful shutdown gives connections, counted from the signal, to end by
    /// themselves once every room is persisted; those still open then are closed by force.
    public var shutdownGrace: Double = 10

    /// The connection limit in force (`maxConnections`, else derived from `RLIMIT_NOFILE`).
    public var effectiveMaxConnections: Int {
        if let maxConnections { return maxConnections }
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < 1 << 40 else { return 10_000 }
        return max(16, min(10_000, Int(limit.rlim_cur) / 2))
    }

    /// Descriptors kept out of both budgets: the listener, standard streams, event loops,
    /// signal and timer descriptors, the content store, a `/healthz` answer (about 20 measured).
    public static let reservedDescriptors = 64
    /// Descriptors a loaded room holds: its SQLite database, WAL, shared memory and lock file.
    public static let descriptorsPerRoom = 4

    /// Rooms loaded at once: `limits.maxRooms`, at most what `RLIMIT_NOFILE` leaves once the
    /// connections (`effectiveMaxConnections` + `healthReserve`) and `reservedDescriptors` are
    /// counted, at `descriptorsPerRoom` each (at least 1). At the limit, the least recently used
    /// idle room is unloaded; when every room is in use, a new one is refused (503, 1013).
    public var effectiveMaxRooms: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < 1 << 40 else { return limits.maxRooms }
        let free = Int(limit.rlim_cur) - effectiveMaxConnections - healthReserve - Self.reservedDescriptors
        return max(1, min(limits.maxRooms, free / Self.descriptorsPerRoom))
    }

    /// The defaults shown on each property.
    public init() {}
}
