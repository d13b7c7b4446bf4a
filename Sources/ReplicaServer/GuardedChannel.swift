import CRDT
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// hummingbird-websocket's HTTP/1 + upgrade channel with `ConnectionGuard` in front of it:
/// Hummingbird 2 has no read timeouts of its own (its idle timeout does not cover a request
/// being read slowly) and leaves a head NIO's decoder refused unanswered with the connection open.
struct GuardedChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let inner: HTTP1WebSocketUpgradeChannel
    let limits: BoundaryLimits
    let maxConnections: Int
    /// Connections beyond `maxConnections` that may still ask `/healthz`.
    let healthReserve: Int
    let registry: ConnectionRegistry

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let (key, open) = registry.open(channel)
        let registry = self.registry
        channel.closeFuture.whenComplete { _ in registry.close(key) }
        let healthOnly = open > maxConnections
        if open > maxConnections + healthReserve {
            // Past the reserve too: close at once, so descriptors stay bounded.
            channel.close(promise: nil)
        }
        do {
            try channel.pipeline.syncOperations.addHandler(ConnectionGuard(limits: limits, healthOnly: healthOnly, registry: registry, key: key),
                                                         position: .first)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            // After NIO's HTTP decoder (and the upgrade handler): hears what the decoder refused.
            try channel.pipeline.syncOperations.addHandler(DecoderErrorHandler())
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        // A connection closed before its first request was read (idle timeout, 408, a shutdown
        // cutting it) is no error, though hummingbird-websocket logs it as one.
        let base = logger.handler
        var quieter = Logger(label: logger.label) { _ in ClosedBeforeRequestDemoted(base: base) }
        quieter.logLevel = logger.logLevel
        await inner.handle(value: value, logger: quieter)
    }
}

/// Passes every log event on, but hummingbird-websocket's "Error handling upgrade result" for a
/// connection that was closed before its first request (a channel already closed) at debug level.
struct ClosedBeforeRequestDemoted: LogHandler {
    var base: any LogHandler
    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }
    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if event.level == .error, event.message.description == "Error handling upgrade result",
           let type = event.metadata?["error.type"]?.description,
           type.contains("Inappropriate operation for state") || type.contains("I/O on closed channel") {
            guard logLevel <= .debug else { return }
            event.level = .debug
        }
        base.log(event: event)
    }
}

/// Answers a head NIO's decoder refused (through `ConnectionGuard`, on the raw socket).
final class DecoderErrorHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError,
              let guardHandler = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self) else {
            context.fireErrorCaught(error)
            return
        }
        guardHandler.decoderFailed(parserError)
    }
}

@available(*, unavailable)
extension DecoderErrorHandler: Sendable {}

/// Tells `ConnectionGuard` where a plain HTTP request is (head read, body read, answer written),
/// and turns hummingbird-websocket's bare 400 for a refused upgrade into the route's 401/403.
final class RequestPhaseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var guardHandler: ConnectionGuard?

    func handlerAdded(context: ChannelHandlerContext) {
        guardHandler = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: guardHandler?.headReceived()
        case .body: break
        case .end: guardHandler?.requestEnded()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        switch part {
        case let .head(head) where head.status == .badRequest:
            if let refusal = guardHandler?.upgradeRefusal {
                guardHandler?.upgradeRefusal = nil
                var fields = head.headerFields
                fields[.contentLength] = String(refusal.body.utf8.count)
                fields[.contentType] = "application/json"
                let status = HTTPResponse.Status(code: Int(refusal.status.code))
                context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
                context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(string: refusal.body))), promise: promise)
                return
            }
        case .end:
            context.write(data, promise: promise)
            guardHandler?.responseEnded()
            return
        default:
            break
        }
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension RequestPhaseHandler: Sendable {}

/// The WebSocket route's context: the router's, plus the channel (to hand a refusal's status
/// to `ConnectionGuard`, since hummingbird-websocket answers every refused upgrade with 400).
struct UpgradeRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }

    /// Records the refusal the upgrade is answered with (instead of the library's 400).
    func refuse(_ status: HTTPResponse.Status, _ message: String) async {
        let body = YAny.object([("error", .string(message))]).jsonText
        let code = status.code
        try? await channel.eventLoop.submit { [channel] in
            let handler = try channel.pipeline.syncOperations.handler(type: ConnectionGuard.self)
            handler.upgradeRefusal = (HTTPResponseStatus(statusCode: code), body)
        }.get()
    }
}
