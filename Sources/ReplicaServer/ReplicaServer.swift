import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import Replica
import RoomHost
import ServiceLifecycle
import Synchronization

/// Why the server could not start.
public enum ServerError: Error, CustomStringConvertible {
    /// The configuration could not be put in place (content store, data directory, JWT secret); the text says why.
    case setup(String)
    /// The reason, for a person.
    public var description: String {
        switch self {
        case let .setup(reason): reason
        }
    }
}

/// The authoritative replica server: rooms over WebSocket at `/parties/<party>/:room`
/// (y-websocket framing), the HTTP API, auth, limits and metrics.
public final class ReplicaServer: Sendable {
    /// The configuration the server was made with.
    public let config: ServerConfig
    /// The rooms this server serves.
    public let host: RoomHost
    let auth: RoomAuthenticator
    let logger: Logger
    /// Open connections (the limit `ServerConfig.maxConnections` holds them to; cut at the end of a shutdown's grace).
    let connections = ConnectionRegistry()
    /// The WebSockets open now (closed with 1001 at shutdown).
    let liveSockets = LiveSockets()
    /// The running service group (for `shutdown`).
    private let serviceGroup = Mutex<ServiceGroup?>(nil)
    /// The end of a graceful shutdown (the wait for connections, then the cut).
    private let shutdownWatch = ShutdownWatch()
    private let finishedShutdown = Mutex<ShutdownReport?>(nil)
    /// HTTP and WebSocket connections open now (also in `/healthz`).
    public var openConnections: Int { connections.current }
    /// What the graceful shutdown did, once `run` has returned after one (nil before, or after a cancellation).
    public var lastShutdown: ShutdownReport? { finishedShutdown.withLock { $0 } }

    /// Opens the content store (if configured), the room host and the authenticator; listens only in `run`.
    /// Throws `.setup` when one of them fails (a weak JWT secret, an unusable data directory or content database).
    public init(config: ServerConfig, logger: Logger) async throws(ServerError) {
        self.config = config
        self.logger = logger
        var hostConfig = RoomHostConfig(dataDirectory: config.dataDirectory)
        hostConfig.room.limits = config.limits
        // Each loaded room holds descriptors: with RLIMIT_NOFILE spent, nothing is accepted, /healthz neither.
        hostConfig.room.limits.maxRooms = config.effectiveMaxRooms
        hostConfig.room.journal.durability = config.durability
        hostConfig.idleTimeout = config.idleTimeout
        if let path = config.contentDatabase {
            do { hostConfig.room.contentStore = try ContentStore(path: path) } catch {
                throw .setup("content database: \(error)")
            }
        }
        try Self.checkWritable(dataDirectory: config.dataDirectory)
        let roomLogger = logger
        hostConfig.log = { level, message in roomLogger.log(level: level.swiftLog, "\(message)") }
        do { host = try RoomHost(config: hostConfig) } catch { throw .setup("\(error)") }
        do { auth = try await RoomAuthenticator(secret: config.jwtSecret) } catch { throw .setup("\(error)") }
    }

    /// Creates `<dataDirectory>/rooms` if needed and writes (and removes) a file there: a server
    /// that could not store a room must not start (its `/healthz` would say ok while every room
    /// answered 503). Throws `.setup` with one sentence naming the directory and the reason.
    static func checkWritable(dataDirectory: String) throws(ServerError) {
        let rooms = RoomStorage(dataDirectory: dataDirectory).directory
        // mkdir -p with mkdir(2), so that the reason is the system's own sentence.
        var folder = rooms.hasPrefix("/") ? "" : "."
        for component in rooms.split(separator: "/") {
            folder += "/" + component
            if mkdir(folder, 0o755) != 0, errno != EEXIST {
                throw .setup("cannot create \(folder) for the rooms' journals (\(String(cString: strerror(errno)))): give a writable --data")
            }
        }
        let probe = (rooms as NSString).appendingPathComponent(".write-check-\(getpid())")
        let fd = open(probe, O_CREAT | O_EXCL | O_WRONLY, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw .setup("the data directory \(dataDirectory) is not writable (\(rooms): \(reason)); the server stores every room's journal there, so it does not start read-only: give a writable --data")
        }
        close(fd)
        unlink(probe)
    }

    /// Serves until SIGINT/SIGTERM (or until the task is cancelled), then stops accepting,
    /// closes the WebSockets with 1001, persists every room, waits at most
    /// `ServerConfig.shutdownGrace` seconds (from the signal) for the connections to end and
    /// closes the rest (logged, and in `lastShutdown`). `onListening` gets the bound port.
    public func run(handleSignals: Bool = true, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        if auth.isOpen {
            logger.warning("no JWT secret configured: the server is OPEN (anyone can read and write every room); set --jwt-secret or YSYNC_JWT_SECRET")
        }
        if !auth.isOpen, config.metricsToken == nil {
            logger.info("/metrics answers without a token (set --metrics-token or YSYNC_METRICS_TOKEN to require one)")
        }
        await host.startEviction()
        let app = makeApplication(onListening: onListening)
        let shutdown = ShutdownService(host: host, registry: connections, sockets: liveSockets, grace: config.shutdownGrace,
                                       logger: logger, watch: shutdownWatch)
        let group = ServiceGroup(configuration: .init(services: [app, shutdown], gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                                                      logger: logger))
        serviceGroup.withLock { $0 = group }
        try await group.run()
        // Hummingbird's server ended once the last connection closed; the watch has logged what it cut.
        if let report = await shutdownWatch.report() { finishedShutdown.withLock { $0 = report } }
    }

    /// Shuts down as SIGTERM does (stops accepting, closes the WebSockets with 1001, persists
    /// every room, then gives connections the grace period); `run` returns once that is done.
    /// Nothing happens before `run` started.
    public func shutdown() async {
        await serviceGroup.withLock { $0 }?.triggerGracefulShutdown()
    }

    func makeApplication(onListening: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: CORSAllowList(origins: config.corsOrigins))
        HTTPRoutes(server: self).register(on: router)

        let wsRouter = Router(context: UpgradeRequestContext.self)
        let cors = CORSAllowList<UpgradeRequestContext>(origins: config.corsOrigins)
        wsRouter.ws(RouterPath("/parties/\(config.party)/:room")) { request, context in
            // A refusal is answered with its status (hummingbird-websocket alone would say 400).
            guard cors.allows(request.headers[.origin]) else {
                self.logger.warning("refused a WebSocket upgrade from origin \(request.headers[.origin] ?? "")")
                self.host.counters.add("ysync_connections_refused_total", labels: ["reason": "origin"])
                await context.refuse(.forbidden, "origin not allowed (--cors-origin)")
                return .dontUpgrade
            }
            do {
                _ = try await self.authorise(request, context.parameters.get("room"))
            } catch let error as HTTPError {
                await context.refuse(error.status, error.body ?? "\(error.status)")
                return .dontUpgrade
            }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let request = context.request
            guard let (room, access, expires) = try? await self.authorise(request, context.requestContext.parameters.get("room")) else {
                // shouldUpgrade accepted this request; only the clock moved since: its token expired in between.
                self.logger.info("room \(context.requestContext.parameters.get("room") ?? ""): closed a connection with 4401: its token expired during the upgrade")
                self.host.counters.add("ysync_connections_closed_total", labels: ["reason": "token_expired"])
                try? await outbound.close(.init(codeNumber: 4401), reason: "token expired")
                return
            }
            let query = request.uri.queryParameters
            let acks = ["1", "true", "yes"].contains(query.get("ack").map { String($0) } ?? "")
            let label = query.get("label").map { String($0) } ?? ""
            let frameLimit = await FrameLimitRefusal.observe(context.requestContext.channel)
            let socket = RoomSocket(host: self.host, limits: self.config.limits, logger: self.logger, frameLimit: frameLimit)
            let options = JoinOptions(access: access, durableAcks: acks, label: label)
            let key = self.liveSockets.add(outbound)
            defer { self.liveSockets.remove(key) }
            try await self.closingAtExpiry(expires, room: room, outbound: outbound) {
                try await socket.run(room: room, options: options, inbound: inbound, outbound: outbound)
            }
        }

        // validateUTF8: a text frame that is not UTF-8 is refused with 1007 (RFC 6455 §8.1).
        let wsConfig = WebSocketServerConfiguration(maxFrameSize: config.limits.maxFrameBytes, validateUTF8: true)
        var http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [RequestPhaseHandler()])
        http1.httpDecoder = .init(maxHeaderFieldSize: config.maxHeaderBytes, maxHeaderListSize: config.maxHeaderBytes)
        let channelConfig = HTTP1WebSocketUpgradeChannel.Configuration(http1: http1, ws: wsConfig)
        let limits = BoundaryLimits(headerTimeout: .seconds(config.headerTimeout), bodyTimeout: .seconds(config.bodyTimeout),
                                    idleTimeout: .seconds(config.httpIdleTimeout))
        let maxConnections = config.effectiveMaxConnections, reserve = config.healthReserve, maxRooms = config.effectiveMaxRooms
        let registry = connections
        let wsResponder = wsRouter.buildResponder()
        let server = HTTPServerBuilder { responder in
            GuardedChannel(inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: wsResponder,
                                                               configuration: channelConfig),
                           limits: limits, maxConnections: maxConnections, healthReserve: reserve, registry: registry)
        }
        let logger = self.logger
        let host = config.host, party = config.party
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "ysync"),
            services: [RoomHostService(host: self.host)],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("ysync server listening on http://\(host):\(port) (WebSocket ws://\(host):\(port)/parties/\(party)/ROOM); at most \(maxConnections) connections (+\(reserve) for /healthz) and \(maxRooms) loaded rooms")
                await onListening(port)
            },
            logger: logger
        )
    }

    /// Runs `body` (the connection); at the token's `exp` closes the WebSocket with 4401, as
    /// y/hub does: one timer per connection, nothing checked per message.
    private func closingAtExpiry(_ expires: Date?, room: String, outbound: WebSocketOutboundWriter,
                                 _ body: @escaping @Sendable () async throws -> Void) async throws {
        guard let expires else { return try await body() }
        let logger = self.logger, counters = host.counters
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await body(); return true }
            group.addTask {
                try await Task.sleep(for: .seconds(max(0, expires.timeIntervalSinceNow)))
                logger.info("room \(room): closed a connection with 4401: its token expired")
                counters.add("ysync_connections_closed_total", labels: ["reason": "token_expired"])
                try? await outbound.close(.init(codeNumber: 4401), reason: "token expired")
                return false
            }
            defer { group.cancelAll() }
            // Until the connection ends (after a 4401, when the peer answers the close).
            while let bodyEnded = try await group.next(), !bodyEnded {}
        }
    }

    /// The room name, what the request's token allows there and until when; throws an HTTP 400/401/403.
    func authorise(_ request: Request, _ rawRoom: String?) async throws -> (String, Access, Date?) {
        let room = try HTTPRoutes.roomName(rawRoom)
        do { try RoomStorage.validate(room) } catch { throw HTTPError(.badRequest, message: RoomHostError.badName(error).description) }
        let token = RoomAuthenticator.token(query: request.uri.queryParameters.get("token").map { String($0) },
                                            authorization: request.headers[.authorization])
        do throws(AuthError) {
            let grant = try await auth.grant(room: room, token: token)
            return (room, grant.access, grant.expires)
        } catch {
            host.counters.add("ysync_connections_refused_total", labels: ["reason": "auth"])
            logger.warning("refused a connection to room \(room): \(error)")
            switch error {
            case .missingToken, .invalidToken, .expired, .notYetValid: throw HTTPError(.unauthorized, message: error.description)
            case .otherRoom, .badScope, .weakSecret: throw HTTPError(.forbidden, message: error.description)
            }
        }
    }
}

/// Persists and closes every room when the application ends (after its HTTP server). After a
/// graceful shutdown `ShutdownService` has done so already; this covers a cancelled `run`.
struct RoomHostService: Service {
    let host: RoomHost

    func run() async throws {
        try? await gracefulShutdown()
        await host.shutdown()
    }
}

extension RoomLogLevel {
    var swiftLog: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .warning: .warning
        case .error: .error
        }
    }
}
