import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Sync

/// Why a WebSocket transport could not be opened.
public enum WebSocketTransportError: Error, CustomStringConvertible, Sendable {
    /// The connection or its WebSocket upgrade failed; `reason` is one plain phrase.
    case connectFailed(url: String, reason: String)
    /// What the failure says to a user.
    public var description: String {
        switch self {
        case let .connectFailed(url, reason): "cannot connect to \(url): \(reason)"
        }
    }
}

/// A `Transport` over a WebSocket (y-websocket framing: one message per binary frame). Text
/// frames (the server's broadcasts) arrive on `texts`. The maximum frame size is raised on
/// this side too (hummingbird-websocket's default of 16 KiB would drop full-state messages).
public final class WebSocketTransport: Transport, @unchecked Sendable {
    /// Binary frames received; finishes when the connection closes.
    public let frames: AsyncThrowingStream<[UInt8], Error>
    /// Text frames received (the server's broadcasts).
    public let texts: AsyncStream<String>
    private let outbox: AsyncStream<Outgoing>.Continuation
    private let lock = NSLock()
    private var isClosed = false
    private var closeInfo: (code: Int, reason: String?)?

    enum Outgoing: Sendable {
        case binary([UInt8])
        case close
    }

    /// The close code and reason the server sent, once the connection ended.
    public var serverClose: (code: Int, reason: String?)? {
        lock.lock()
        defer { lock.unlock() }
        return closeInfo
    }

    private init(frames: AsyncThrowingStream<[UInt8], Error>, texts: AsyncStream<String>, outbox: AsyncStream<Outgoing>.Continuation) {
        self.frames = frames
        self.texts = texts
        self.outbox = outbox
    }

    /// Connects to `url` (e.g. `ws://127.0.0.1:1999/parties/main/ROOM?ack=1`) and returns once
    /// the upgrade succeeded. `token` goes in an `Authorization: Bearer` header.
    public static func connect(url: String, token: String? = nil, maxFrameBytes: Int = 64 << 20,
                               logger: Logger = Logger(label: "ysync.ws-client")) async throws -> WebSocketTransport {
        let (frames, frameSink) = AsyncThrowingStream<[UInt8], Error>.makeStream()
        let (texts, textSink) = AsyncStream<String>.makeStream()
        let (outgoing, outbox) = AsyncStream<Outgoing>.makeStream()
        let transport = WebSocketTransport(frames: frames, texts: texts, outbox: outbox)
        var config = WebSocketClientConfiguration(maxFrameSize: maxFrameBytes)
        if let token { config.additionalHeaders[.authorization] = "Bearer \(token)" }

        let opened = OneShot<Result<Void, Error>>()
        // Runs the connection until either side closes it.
        Task {
            do {
                let close = try await WebSocketClient.connect(url: url, configuration: config, logger: logger) { inbound, outbound, _ in
                    opened.fulfil(.success(()))
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await item in outgoing {
                                switch item {
                                case let .binary(bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                                case .close:
                                    try await outbound.close(.normalClosure, reason: nil)
                                    return
                                }
                            }
                        }
                        group.addTask {
                            for try await message in inbound.messages(maxSize: maxFrameBytes) {
                                switch message {
                                case let .binary(buffer): frameSink.yield(Array(buffer.readableBytesView))
                                case let .text(text): textSink.yield(text)
                                }
                            }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                }
                if let close { transport.recordClose(code: Int(UInt16(webSocketErrorCode: close.closeCode)), reason: close.reason) }
                opened.fulfil(.failure(WebSocketTransportError.connectFailed(url: url, reason: "closed during the upgrade")))
                frameSink.finish()
            } catch {
                var reason = ConnectFailure.reason(error)
                // The client only learns "declined": ask the server for its status and reason.
                if ConnectFailure.isUpgradeRefusal(error), let why = await UpgradeRefusal.explain(url: url, token: token) {
                    reason = "the server refused the WebSocket upgrade: \(why)"
                }
                opened.fulfil(.failure(WebSocketTransportError.connectFailed(url: url, reason: reason)))
                frameSink.finish(throwing: error)
            }
            textSink.finish()
            transport.markClosed()
        }
        switch await opened.value {
        case .success: return transport
        case let .failure(error): throw error
        }
    }

    /// TCP delivers every frame in order while the connection lives; a dropped connection is a
    /// new session with a fresh handshake.
    public var deliversReliably: Bool { true }

    /// Queues `frame` as one binary message; throws `TransportError.closed` once closed.
    public func send(_ frame: [UInt8]) async throws {
        if closedNow { throw TransportError.closed }
        outbox.yield(.binary(frame))
    }

    private var closedNow: Bool {
        lock.lock()
        defer { lock.unlock() }
        return isClosed
    }

    /// Sends a normal close frame after the frames already queued; `send` throws from then on.
    public func close() async {
        outbox.yield(.close)
        outbox.finish()
        markClosed()
    }

    private func markClosed() {
        lock.lock()
        isClosed = true
        lock.unlock()
    }

    private func recordClose(code: Int, reason: String?) {
        lock.lock()
        closeInfo = (code, reason)
        lock.unlock()
    }
}

/// A value set once and awaited by one or more tasks.
final class OneShot<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value_: Value?
    private var waiters: [CheckedContinuation<Value, Never>] = []

    func fulfil(_ value: Value) {
        lock.lock()
        guard value_ == nil else {
            lock.unlock()
            return
        }
        value_ = value
        let w = waiters
        waiters.removeAll()
        lock.unlock()
        for c in w { c.resume(returning: value) }
    }

    var value: Value {
        get async {
            await withCheckedContinuation { c in
                lock.lock()
                if let v = value_ {
                    lock.unlock()
                    c.resume(returning: v)
                } else {
                    waiters.append(c)
                    lock.unlock()
                }
            }
        }
    }
}
