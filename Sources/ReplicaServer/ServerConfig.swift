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
    /// Largest HTTP request body (POST update / broadcast).
    public var maxRequestBytes = 16 << 20

    /// The defaults shown on each property.
    public init() {}
}
