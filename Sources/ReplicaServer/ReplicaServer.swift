import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import Replica
import RoomHost
import ServiceLifecycle

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

    /// Opens the content store (if configured), the room host and the authenticator; listens only in `run`.
    /// Throws `.setup` when one of them fails (a weak JWT secret, an unusable data directory or content database).
    public init(config: ServerConfig, logger: Logger) async throws(ServerError) {
        self.config = config
        self.logger = logger
        var hostConfig = RoomHostConfig(dataDirectory: config.dataDirectory)
        hostConfig.room.limits = config.limits
        hostConfig.room.journal.durability = config.durability
        hostConfig.idleTimeout = config.idleTimeout
        if let path = config.contentDatabase {
            do { hostConfig.room.contentStore = try ContentStore(path: path) } catch {
                throw .setup("content database: \(error)")
            }
        }
        let roomLogger = logger
        hostConfig.log = { level, message in roomLogger.log(level: level.swiftLog, "\(message)") }
        do { host = try RoomHost(config: hostConfig) } catch { throw .setup("\(error)") }
        do { auth = try await RoomAuthenticator(secret: config.jwtSecret) } catch { throw .setup("\(error)") }
    }

    /// Serves until SIGINT/SIGTERM (or until the task is cancelled), then stops accepting,
    /// closes the connections and persists every room. `onListening` gets the bound port.
    public func run(handleSignals: Bool = true, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        if auth.isOpen {
            logger.warning("no JWT secret configured: the server is OPEN (anyone can read and write every room); set --jwt-secret or YSYNC_JWT_SECRET")
        }
        if !auth.isOpen, config.metricsToken == nil {
            logger.info("/metrics answers without a token (set --metrics-token or YSYNC_METRICS_TOKEN to require one)")
        }
        await host.startEviction()
        let app = makeApplication(onListening: onListening)
        try await app.runService(gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [])
    }

    func makeApplication(onListening: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: CORSAllowList(origins: config.corsOrigins))
        HTTPRoutes(server: self).register(on: router)

        let wsRouter = Router(context: BasicWebSocketRequestContext.self)
        wsRouter.ws(RouterPath("/parties/\(config.party)/:room")) { request, context in
            _ = try await self.authorise(request, context.parameters.get("room"))
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let request = context.request
            guard let (room, access) = try? await self.authorise(request, context.requestContext.parameters.get("room")) else { return }
            let query = request.uri.queryParameters
            let acks = ["1", "true", "yes"].contains(query.get("ack").map { String($0) } ?? "")
            let label = query.get("label").map { String($0) } ?? ""
            let socket = RoomSocket(host: self.host, limits: self.config.limits, logger: self.logger)
            await socket.run(room: room, options: JoinOptions(access: access, durableAcks: acks, label: label),
                             inbound: inbound, outbound: outbound)
        }

        let wsConfig = WebSocketServerConfiguration(maxFrameSize: config.limits.maxFrameBytes)
        let logger = self.logger
        let host = config.host, party = config.party
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: wsRouter, configuration: .init(ws: wsConfig)),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "ysync"),
            services: [RoomHostService(host: self.host)],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("ysync server listening on http://\(host):\(port) (WebSocket ws://\(host):\(port)/parties/\(party)/ROOM)")
                await onListening(port)
            },
            logger: logger
        )
    }

    /// The room name and what the request's token allows there; throws an HTTP 400/401/403.
    func authorise(_ request: Request, _ rawRoom: String?) async throws -> (String, Access) {
        guard let raw = rawRoom, let room = raw.removingPercentEncoding, !room.isEmpty else {
            throw HTTPError(.badRequest, message: "missing room name")
        }
        do { try RoomStorage.validate(room) } catch { throw HTTPError(.badRequest, message: "\(error)") }
        let token = RoomAuthenticator.token(query: request.uri.queryParameters.get("token").map { String($0) },
                                            authorization: request.headers[.authorization])
        do throws(AuthError) {
            return (room, try await auth.access(room: room, token: token))
        } catch {
            host.counters.add("ysync_connections_refused_total", labels: ["reason": "auth"])
            logger.warning("refused a connection to room \(room): \(error)")
            switch error {
            case .missingToken, .invalidToken, .expired: throw HTTPError(.unauthorized, message: error.description)
            case .otherRoom, .badScope, .weakSecret: throw HTTPError(.forbidden, message: error.description)
            }
        }
    }
}

/// Persists and closes every room when the service group shuts down (after the HTTP server,
/// which closes the WebSockets with 1001 going away).
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
