import NIOCore
import NIOWebSocket
import Synchronization

/// Set when NIO's WebSocket decoder refused a frame over the frame limit. The decoder answers
/// 1009 and closes by itself, and the inbound stream then simply ends: without this, that close
/// would be the only one the room neither logs nor counts.
final class FrameLimitRefusal: Sendable {
    private let refused = Mutex(false)

    /// The decoder refused a frame of this connection.
    var happened: Bool { refused.withLock { $0 } }

    func record() { refused.withLock { $0 = true } }

    /// Puts an observer right before NIO's WebSocket protocol error handler of `channel` (an
    /// upgraded connection): before, because that handler closes the channel, and the reader
    /// must find the refusal recorded when its stream ends.
    static func observe(_ channel: any Channel) async -> FrameLimitRefusal {
        let refusal = FrameLimitRefusal()
        try? await channel.eventLoop.submit {
            let errors = try channel.pipeline.syncOperations.handler(type: WebSocketProtocolErrorHandler.self)
            try channel.pipeline.syncOperations.addHandler(FrameLimitObserver(refusal), position: .before(errors))
        }.get()
        return refusal
    }
}

/// Passes everything on; records `NIOWebSocketError.invalidFrameLength` as it goes by.
final class FrameLimitObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let refusal: FrameLimitRefusal

    init(_ refusal: FrameLimitRefusal) { self.refusal = refusal }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case NIOWebSocketError.invalidFrameLength = error { refusal.record() }
        context.fireErrorCaught(error)
    }
}

@available(*, unavailable)
extension FrameLimitObserver: Sendable {}
