import CLISupport
import ArgumentParser
import Foundation

#if canImport(ReplicaServer)
import Journal
import Logging
import ReplicaServer
import Replica
import RoomHost

let serverCommands: [any ParsableCommand.Type] = [ServeCommand.self, TokenCommand.self]

/// An optional text option: the command line, else the environment, else nil.
private func optionalSetting(_ given: String?, _ variable: String) -> String? {
    if let given { return given }
    if let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty { return text }
    return nil
}

/// Reads an option given on the command line, else from the environment, else a default.
private func setting<T>(_ given: T?, _ variable: String, _ parse: (String) -> T?, default value: T) throws -> T {
    if let given { return given }
    if let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty {
        guard let parsed = parse(text) else { throw ValidationError("\(variable)=\(text) is not valid") }
        return parsed
    }
    return value
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the server: rooms over WebSocket (y-websocket / y-partykit compatible), the HTTP API, auth, limits, metrics.",
        discussion: """
        WebSocket: ws://HOST:PORT/parties/main/ROOM (one y-protocols message per binary frame; add ?ack=1 for durable acknowledgements). HTTP: GET /parties/main/ROOM ({"users": [...]} from awareness), POST /parties/main/ROOM ({"requestId", "body", "name"} -> text frame to every connection), GET .../state[?sv=BASE64], POST .../update, GET .../text[?name=codemirror], GET /healthz, GET /metrics (Prometheus). Every room is journaled in DATA/rooms/<room>.ysync (SQLite, WAL); an update is journaled before it is relayed or acknowledged.

        Every option can also be set by an environment variable (named in its help); the command line wins. Stops on SIGINT/SIGTERM: stops accepting, closes WebSockets (1001), persists every room, then gives connections --shutdown-grace seconds (from the signal) and closes the rest, saying what it cut; exits 0.
        """
    )

    @Option(help: "Address to listen on ($YSYNC_HOST; default 127.0.0.1).") var host: String?
    @Option(help: "Port ($YSYNC_PORT; default 1999; 0 picks a free one).") var port: Int?
    @Option(help: ArgumentHelp("Directory for room journals ($YSYNC_DATA; default ./ysync-data).", valueName: "DIR")) var data: String?
    @Option(name: .customLong("content-db"), help: ArgumentHelp("The seed's content store: SQLite with table contentResource(id, type, fields) ($YSYNC_CONTENT_DB).", valueName: "PATH"))
    var contentDB: String?
    @Option(name: .customLong("jwt-secret"), help: "HS256 secret for room tokens ($YSYNC_JWT_SECRET). Without one the server is open.")
    var jwtSecret: String?
    @Option(name: .customLong("metrics-token"), help: "Bearer token GET /metrics requires ($YSYNC_METRICS_TOKEN). Without one /metrics is open.")
    var metricsToken: String?
    @Option(name: .customLong("cors-origin"), help: "Allowed CORS origin, repeatable ($YSYNC_CORS_ORIGINS, comma-separated; default *).")
    var corsOrigins: [String] = []
    @Option(name: .customLong("max-frame-bytes"), help: "Largest WebSocket message ($YSYNC_MAX_FRAME_BYTES; default 16 MiB).")
    var maxFrameBytes: Int?
    @Option(name: .customLong("max-document-bytes"), help: "Largest document ($YSYNC_MAX_DOCUMENT_BYTES; default 64 MiB).")
    var maxDocumentBytes: Int?
    @Option(name: .customLong("messages-per-second"), help: "Messages per second per connection, burst twice that ($YSYNC_MESSAGES_PER_SECOND; default 200).")
    var messagesPerSecond: Double?
    @Option(name: .customLong("broadcasts-per-second"), help: "HTTP broadcasts (POST /parties/main/ROOM) per second per room, burst twice that; over it 429 ($YSYNC_BROADCASTS_PER_SECOND; default 20).")
    var broadcastsPerSecond: Double?
    @Option(name: .customLong("broadcast-bytes-per-second"), help: "Bytes of HTTP broadcasts per second per room, burst twice that and at least --max-frame-bytes; over it 429 ($YSYNC_BROADCAST_BYTES_PER_SECOND; default 1 MiB).")
    var broadcastBytesPerSecond: Int?
    @Option(name: .customLong("max-chunked-bytes-total"), help: "Bytes of unfinished y-partykit chunked messages (y-pk-batch) of all connections together; a part past it closes its connection with 1013 ($YSYNC_MAX_CHUNKED_BYTES_TOTAL; default 128 MiB).")
    var maxChunkedBytesTotal: Int?
    @Option(name: .customLong("max-queued-bytes"), help: "Bytes queued for one slow connection before it is closed with 4008 ($YSYNC_MAX_QUEUED_BYTES; default --max-document-bytes + --max-frame-bytes).")
    var maxQueuedBytes: Int?
    @Option(name: .customLong("max-queued-bytes-total"), help: "Bytes queued for all connections together; beyond it one over its share is closed with 4008 ($YSYNC_MAX_QUEUED_BYTES_TOTAL; default 512 MiB).")
    var maxQueuedBytesTotal: Int?
    @Option(name: .customLong("max-awareness-state-bytes"), help: "Largest awareness state; over it 4031 ($YSYNC_MAX_AWARENESS_STATE_BYTES; default 32 KiB).")
    var maxAwarenessStateBytes: Int?
    @Option(name: .customLong("max-awareness-states"), help: "Awareness states per room; more is 4031 ($YSYNC_MAX_AWARENESS_STATES; default 2000).")
    var maxAwarenessStates: Int?
    @Option(name: .customLong("idle-timeout"), help: "Seconds before an unused room is persisted and unloaded ($YSYNC_IDLE_TIMEOUT; default 60).")
    var idleTimeout: Double?
    @Option(name: .customLong("max-request-bytes"), help: "Largest HTTP request body ($YSYNC_MAX_REQUEST_BYTES; default: --max-frame-bytes).")
    var maxRequestBytes: Int?
    @Option(name: .customLong("max-header-bytes"), help: "Largest request line and header block; over it 414/431 ($YSYNC_MAX_HEADER_BYTES; default 32 KiB).")
    var maxHeaderBytes: Int?
    @Option(name: .customLong("header-timeout"), help: "Seconds to send a request's head, from its first byte; then 408 and closed ($YSYNC_HEADER_TIMEOUT; default 10).")
    var headerTimeout: Double?
    @Option(name: .customLong("body-timeout"), help: "Seconds to send a request's body, after its head; then 408 and closed ($YSYNC_BODY_TIMEOUT; default 30).")
    var bodyTimeout: Double?
    @Option(name: .customLong("http-idle-timeout"), help: "Seconds an HTTP connection may wait for its next request ($YSYNC_HTTP_IDLE_TIMEOUT; default 60).")
    var httpIdleTimeout: Double?
    @Option(name: .customLong("max-connections"), help: "Open connections served in full; 16 more may only ask /healthz ($YSYNC_MAX_CONNECTIONS; default half the descriptor limit, at most 10000).")
    var maxConnections: Int?
    @Option(name: .customLong("shutdown-grace"), help: ArgumentHelp("Seconds a shutdown (SIGTERM/SIGINT) gives connections, from the signal, once every room is persisted; then the rest are closed ($YSYNC_SHUTDOWN_GRACE; default 10).", valueName: "SECONDS"))
    var shutdownGrace: Double?
    @Option(help: "Journal durability: full (fsync every update) or normal (survives a process crash) ($YSYNC_DURABILITY; default full).")
    var durability: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, warning or error ($YSYNC_LOG_LEVEL; default info).")
    var logLevel: String?
    @Option(name: .customLong("log-format"), help: "text or json (one JSON object per line) ($YSYNC_LOG_FORMAT; default text).")
    var logFormat: String?

    func run() async throws {
        var config = ServerConfig()
        config.host = try setting(host, "YSYNC_HOST", { $0 }, default: config.host)
        config.port = try setting(port, "YSYNC_PORT", { Int($0) }, default: config.port)
        config.dataDirectory = try setting(data, "YSYNC_DATA", { $0 }, default: config.dataDirectory)
        config.contentDatabase = optionalSetting(contentDB, "YSYNC_CONTENT_DB")
        config.jwtSecret = optionalSetting(jwtSecret, "YSYNC_JWT_SECRET")
        config.metricsToken = optionalSetting(metricsToken, "YSYNC_METRICS_TOKEN")
        let origins = try setting(corsOrigins.isEmpty ? nil : corsOrigins, "YSYNC_CORS_ORIGINS",
                                  { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }, default: ["*"])
        config.corsOrigins = origins
        config.limits.maxFrameBytes = try setting(maxFrameBytes, "YSYNC_MAX_FRAME_BYTES", { Int($0) }, default: config.limits.maxFrameBytes)
        config.limits.maxDocumentBytes = try setting(maxDocumentBytes, "YSYNC_MAX_DOCUMENT_BYTES", { Int($0) }, default: config.limits.maxDocumentBytes)
        // 0 (not given): the default that follows the document and frame limits.
        let queued = try setting(maxQueuedBytes, "YSYNC_MAX_QUEUED_BYTES", { Int($0) }, default: 0)
        config.limits.maxQueuedBytes = queued == 0 ? nil : queued
        config.limits.maxQueuedBytesTotal = try setting(maxQueuedBytesTotal, "YSYNC_MAX_QUEUED_BYTES_TOTAL", { Int($0) }, default: config.limits.maxQueuedBytesTotal)
        config.limits.maxAwarenessStateBytes = try setting(maxAwarenessStateBytes, "YSYNC_MAX_AWARENESS_STATE_BYTES", { Int($0) }, default: config.limits.maxAwarenessStateBytes)
        config.limits.maxAwarenessStates = try setting(maxAwarenessStates, "YSYNC_MAX_AWARENESS_STATES", { Int($0) }, default: config.limits.maxAwarenessStates)
        let rate = try setting(messagesPerSecond, "YSYNC_MESSAGES_PER_SECOND", { Double($0) }, default: config.limits.messagesPerSecond)
        config.limits.messagesPerSecond = rate
        config.limits.messageBurst = rate * 2
        let broadcasts = try setting(broadcastsPerSecond, "YSYNC_BROADCASTS_PER_SECOND", { Double($0) }, default: config.limits.broadcastsPerSecond)
        config.limits.broadcastsPerSecond = broadcasts
        config.limits.broadcastBurst = broadcasts * 2
        config.limits.broadcastBytesPerSecond = try setting(broadcastBytesPerSecond, "YSYNC_BROADCAST_BYTES_PER_SECOND", { Int($0) }, default: config.limits.broadcastBytesPerSecond)
        config.limits.maxChunkedBytesTotal = try setting(maxChunkedBytesTotal, "YSYNC_MAX_CHUNKED_BYTES_TOTAL", { Int($0) }, default: config.limits.maxChunkedBytesTotal)
        config.idleTimeout = try setting(idleTimeout, "YSYNC_IDLE_TIMEOUT", { Double($0) }, default: config.idleTimeout)
        config.maxRequestBytes = try setting(maxRequestBytes, "YSYNC_MAX_REQUEST_BYTES", { Int($0) }, default: nil)
        config.maxHeaderBytes = try setting(maxHeaderBytes, "YSYNC_MAX_HEADER_BYTES", { Int($0) }, default: config.maxHeaderBytes)
        config.headerTimeout = try setting(headerTimeout, "YSYNC_HEADER_TIMEOUT", { Double($0) }, default: config.headerTimeout)
        config.bodyTimeout = try setting(bodyTimeout, "YSYNC_BODY_TIMEOUT", { Double($0) }, default: config.bodyTimeout)
        config.httpIdleTimeout = try setting(httpIdleTimeout, "YSYNC_HTTP_IDLE_TIMEOUT", { Double($0) }, default: config.httpIdleTimeout)
        config.maxConnections = try setting(maxConnections, "YSYNC_MAX_CONNECTIONS", { Int($0) }, default: nil)
        config.shutdownGrace = try setting(shutdownGrace, "YSYNC_SHUTDOWN_GRACE", { Double($0) }, default: config.shutdownGrace)
        guard (config.maxRequestBytes ?? 1) > 0, config.maxHeaderBytes >= 1024, (config.maxConnections ?? 1) > 0,
              config.headerTimeout > 0, config.bodyTimeout > 0, config.httpIdleTimeout > 0 else {
            throw ValidationError("--max-request-bytes, --max-connections and the timeouts must be positive, --max-header-bytes at least 1024")
        }
        guard config.shutdownGrace >= 0, config.shutdownGrace <= 86_400 else {
            throw ValidationError("--shutdown-grace must be between 0 and 86400 seconds, not \(config.shutdownGrace)")
        }
        let durabilityName = try setting(durability, "YSYNC_DURABILITY", { $0 }, default: "full")
        switch durabilityName {
        case "full": config.durability = .full
        case "normal": config.durability = .normal
        default: throw ValidationError("durability must be full or normal, not \(durabilityName)")
        }
        guard (0...65535).contains(config.port) else { throw ValidationError("port \(config.port) is out of range") }
        guard config.limits.maxFrameBytes > 0, config.limits.maxDocumentBytes > 0, rate > 0, broadcasts > 0,
              config.limits.broadcastBytesPerSecond > 0, config.limits.maxChunkedBytesTotal > 0,
              queued >= 0, config.limits.maxQueuedBytesTotal > 0,
              config.limits.maxAwarenessStateBytes > 0, config.limits.maxAwarenessStates > 0 else {
            throw ValidationError("limits must be positive")
        }

        let levelName = try setting(logLevel, "YSYNC_LOG_LEVEL", { $0 }, default: "info")
        guard let level = Logger.Level(rawValue: levelName) else { throw ValidationError("unknown log level \(levelName)") }
        let format = try setting(logFormat, "YSYNC_LOG_FORMAT", { $0 }, default: "text")
        guard format == "text" || format == "json" else { throw ValidationError("log format must be text or json") }
        var logger = Logger(label: "ysync") { label in
            format == "json" ? JSONLineLogHandler(label: label) as any LogHandler : TextLineLogHandler(label: label)
        }
        logger.logLevel = level

        let server: ReplicaServer
        do { server = try await ReplicaServer(config: config, logger: logger) } catch { throw CLIError("\(error)") }
        logger.info("data directory \(config.dataDirectory); CORS origins \(origins.joined(separator: ", "))\(config.contentDatabase.map { "; content store \($0)" } ?? "")")
        let boundHost = config.host
        do {
            try await server.run { port in
                // One line on stdout for scripts and tests that start the server with --port 0.
                Console.out("{\"listening\": true, \"host\": \"\(boundHost)\", \"port\": \(port)}\n")
            }
        } catch {
            throw CLIError(Self.startFailure(error, host: config.host, port: config.port))
        }
        logger.info("stopped; every room persisted")
    }
}

extension ServeCommand {
    /// A failure to listen, said in one sentence that names the address (no errno text).
    static func startFailure(_ error: any Error, host: String, port: Int) -> String {
        let text = "\(error)"
        if text.contains("Address already in use") || text.contains("errno: 98") {
            return "cannot listen on \(host):\(port): the address is already in use (another server there? choose another --port)"
        }
        if text.contains("Permission denied") || text.contains("errno: 13") {
            return "cannot listen on \(host):\(port): permission denied (ports below 1024 need privileges)"
        }
        if text.contains("Cannot assign requested address") || text.contains("errno: 99") {
            return "cannot listen on \(host):\(port): no interface has that address (check --host)"
        }
        return "cannot serve on \(host):\(port): \(text)"
    }
}

struct TokenCommand: AsyncParsableCommand, JSONReporting {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print an HS256 room token for 'ycli serve --jwt-secret'.",
        discussion: """
        Claims: {"exp", "rooms": [...], "scope": "write"|"read", "sub"}. A room of * grants every room. --json prints {"token", "rooms", "scope", "subject" (or null), "expires" (ISO-8601, UTC)}.
        """
    )

    @Option(help: "The server's secret (default: $YSYNC_JWT_SECRET).") var secret: String?
    @Option(name: .customLong("room"), help: "A room the token grants (repeatable; * for all).") var rooms: [String] = []
    @Option(help: "write or read.") var scope: String = "write"
    @Option(help: "Seconds until it expires (negative: already expired, for tests).") var ttl: Double = 3600
    @Option(help: "Subject (who the token is for).") var subject: String?
    @Flag(help: "Print a JSON object with the token and its claims.") var json = false

    func run() async throws {
        guard let secret = secret ?? ProcessInfo.processInfo.environment["YSYNC_JWT_SECRET"], !secret.isEmpty else {
            throw ValidationError("give --secret or set YSYNC_JWT_SECRET")
        }
        guard !rooms.isEmpty else { throw ValidationError("give at least one --room") }
        guard let access = Access(rawValue: scope) else { throw ValidationError("scope must be write or read") }
        let expires = Date().addingTimeInterval(ttl)
        let claims = RoomClaims(expires: expires, rooms: rooms, scope: access, subject: subject)
        let token = try await RoomAuthenticator.sign(claims, secret: secret)
        guard json else {
            Console.out(token + "\n")
            return
        }
        Console.out(JSON.object([
            ("token", .string(token)),
            ("rooms", .array(rooms.map { .string($0) })),
            ("scope", .string(scope)),
            ("subject", subject.map { .string($0) } ?? .null),
            ("expires", .string(ISOTime.format(expires.timeIntervalSince1970))),
        ]).rendered(pretty: true, prettyDepth: 1) + "\n")
    }
}
#else
let serverCommands: [any ParsableCommand.Type] = []
#endif
