import NIOCore
import NIOHTTP1

/// The limits of the HTTP boundary one connection is held to (from `ServerConfig`).
struct BoundaryLimits: Sendable {
    var headerTimeout: TimeAmount
    var bodyTimeout: TimeAmount
    var idleTimeout: TimeAmount
}

/// The first handler of every connection, on the raw bytes: read deadlines (headers, body,
/// keep-alive idle), the answer to a head NIO's decoder refused (414/431/400), the `/healthz`-only
/// mode of connections over the limit, and after the WebSocket upgrade the one frame rule
/// NIO's decoder does not check: client frames must be masked (RFC 6455 §5.1, else 1002).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    enum Phase { case idle, head, body, responding, webSocket, done }

    private let limits: BoundaryLimits
    /// Over the connection limit: only `GET /healthz` is served, then the connection closes.
    private let healthOnly: Bool
    private(set) var phase = Phase.idle {
        didSet { if let activity = phase.activity, activity != oldValue.activity { registry.note(key, activity) } }
    }
    /// Where the connection's activity is reported (for the shutdown's account of what it cut).
    private let registry: ConnectionRegistry
    private let key: Int
    private var deadline: Scheduled<Void>?
    /// The line of the head being read: its length and first bytes (to tell a URL from a header).
    private var lineLength = 0
    private var lineStart: [UInt8] = []
    private var lineIndex = 0
    /// WebSocket frame header bytes read so far, and payload bytes still to skip.
    private var frameHeader: [UInt8] = []
    private var payloadLeft: UInt64 = 0
    /// Set by the upgrade route when it refuses: the status and JSON body to answer instead of 400.
    var upgradeRefusal: (status: HTTPResponseStatus, body: String)?

    init(limits: BoundaryLimits, healthOnly: Bool, registry: ConnectionRegistry, key: Int) {
        self.limits = limits
        self.healthOnly = healthOnly
        self.registry = registry
        self.key = key
    }

    /// This handler's own context: answers are written from the head of the pipeline, whoever asks.
    private var ownContext: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        ownContext = context
        arm(context, limits.idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        ownContext = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        phase = .done
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        switch phase {
        case .idle:
            phase = .head
            arm(context, limits.headerTimeout)
            guard scanHead(context, buffer) else { return }
        case .head:
            guard scanHead(context, buffer) else { return }
        case .webSocket:
            guard checkFrames(buffer) else {
                // 1002 protocol error, written raw: the frame is never decoded.
                refuse(context, raw: [0x88, 0x02, 0x03, 0xEA])
                return
            }
        case .body, .responding:
            break
        case .done:
            return
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if phase != .webSocket, case let .byteBuffer(buffer) = unwrapOutboundIn(data),
           buffer.readableBytesView.starts(with: Array("HTTP/1.1 101 ".utf8)) {
            // The upgrade answer: from here on the bytes are WebSocket frames, without deadlines
            // (hummingbird-websocket pings and closes a silent peer).
            phase = .webSocket
            disarm()
        }
        context.write(data, promise: promise)
    }

    // MARK: Phases the request handler reports (HTTP parts, after the decoder)

    /// The decoder produced a request head: the body must arrive within the body timeout.
    func headReceived() {
        guard let context = ownContext, phase == .head || phase == .idle else { return }
        phase = .body
        arm(context, limits.bodyTimeout)
    }

    /// The request is read to its end; the route is working on it (no read deadline).
    func requestEnded() {
        guard phase == .body || phase == .head else { return }
        phase = .responding
        disarm()
    }

    /// The response is written: wait for the next request for at most the idle timeout.
    func responseEnded() {
        guard let context = ownContext, phase != .webSocket, phase != .done else { return }
        if healthOnly {
            phase = .done
            disarm()
            context.flush()
            context.close(promise: nil)
            return
        }
        phase = .idle
        lineLength = 0
        lineIndex = 0
        lineStart = []
        arm(context, limits.idleTimeout)
    }

    /// NIO's HTTP decoder refused the head: answer it (the connection closes either way).
    func decoderFailed(_ error: HTTPParserError) {
        guard let context = ownContext, phase != .done else { return }
        if case .headerOverflow = error {
            // The line that overflowed starts with "METHOD " only if it is the request line.
            let requestLine = lineIndex == 0 && lineStart.contains(0x20)
                && lineStart.prefix(while: { $0 != 0x20 }).allSatisfy { (0x41...0x5A).contains($0) }
            respond(context, requestLine ? "414 URI Too Long" : "431 Request Header Fields Too Large")
        } else {
            respond(context, "400 Bad Request")
        }
    }

    // MARK: Reading

    /// Follows the lines of the head; false when the connection was answered and closed.
    private func scanHead(_ context: ChannelHandlerContext, _ buffer: ByteBuffer) -> Bool {
        for byte in buffer.readableBytesView {
            if byte == 0x0A {
                if lineIndex == 0, healthOnly, !isHealthCheck() {
                    respond(context, "503 Service Unavailable", message: "the server is at its connection limit")
                    return false
                }
                lineIndex += 1
                lineLength = 0
                lineStart = []
            } else {
                lineLength += 1
                if lineStart.count < 32 { lineStart.append(byte) }
            }
        }
        return true
    }

    private func isHealthCheck() -> Bool {
        lineStart.starts(with: Array("GET /healthz ".utf8)) || lineStart.starts(with: Array("GET /healthz?".utf8))
    }

    /// Follows the frame headers of the client's bytes; false at a frame without a mask.
    private func checkFrames(_ buffer: ByteBuffer) -> Bool {
        var bytes = buffer.readableBytesView[...]
        while !bytes.isEmpty {
            if payloadLeft > 0 {
                let skip = Int(min(payloadLeft, UInt64(bytes.count)))
                bytes = bytes.dropFirst(skip)
                payloadLeft -= UInt64(skip)
                continue
            }
            frameHeader.append(bytes.removeFirst())
            guard frameHeader.count >= 2 else { continue }
            guard frameHeader[1] & 0x80 != 0 else { return false }
            let short = frameHeader[1] & 0x7F
            let lengthBytes = short == 126 ? 2 : short == 127 ? 8 : 0
            guard frameHeader.count == 2 + lengthBytes + 4 else { continue }
            var length = UInt64(short)
            if lengthBytes > 0 {
                length = frameHeader[2..<(2 + lengthBytes)].reduce(0) { $0 << 8 | UInt64($1) }
            }
            payloadLeft = length
            frameHeader.removeAll(keepingCapacity: true)
        }
        return true
    }

    // MARK: Deadlines and answers

    private func arm(_ context: ChannelHandlerContext, _ timeout: TimeAmount) {
        disarm()
        let phaseArmed = phase
        deadline = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: timeout) {
            self.deadline = nil
            guard self.phase == phaseArmed else { return }
            switch phaseArmed {
            case .head, .body:
                // Fails the body stream first: Hummingbird takes a stream that just ends as a
                // complete body, and the route would go on with half of it.
                if phaseArmed == .body { context.fireErrorCaught(RequestTimeout()) }
                self.respond(context, "408 Request Timeout", message: "the request did not arrive in time")
            case .idle: self.phase = .done; context.close(promise: nil)
            case .responding, .webSocket, .done: break
            }
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }

    /// Writes a whole HTTP response on the raw socket and closes.
    private func respond(_ context: ChannelHandlerContext, _ status: String, message: String? = nil) {
        let body = "{\"error\": \"\(message ?? String(status.drop(while: { $0 != " " }).dropFirst()).lowercased())\"}"
        let text = "HTTP/1.1 \(status)\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)"
        refuse(context, raw: Array(text.utf8))
    }

    private func refuse(_ context: ChannelHandlerContext, raw: [UInt8]) {
        phase = .done
        disarm()
        let buffer = context.channel.allocator.buffer(bytes: raw)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(buffer))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}

@available(*, unavailable)
extension ConnectionGuard: Sendable {}

extension ConnectionGuard.Phase {
    /// What the registry is told (nil once the connection is being closed: it keeps its last).
    var activity: ConnectionRegistry.Activity? {
        switch self {
        case .idle: .idle
        case .head, .body: .request
        case .responding: .response
        case .webSocket: .webSocket
        case .done: nil
        }
    }
}

/// A request that did not arrive within its read deadline.
struct RequestTimeout: Error, CustomStringConvertible {
    var description: String { "the request did not arrive in time" }
}

extension TimeAmount {
    /// Seconds given as a `Double` (the configuration's unit).
    static func seconds(_ value: Double) -> TimeAmount { .nanoseconds(Int64(value * 1_000_000_000)) }
}
