import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import Replica
import RoomHost

/// Runs one WebSocket connection of a room: joins it, feeds it every message, writes what the
/// room queues, and leaves it when either side closes.
struct RoomSocket {
    private enum Side: Sendable { case writer, reader((any Error)?), timeout }

    let host: RoomHost
    let limits: RoomLimits
    let logger: Logger
    /// Whether NIO's decoder refused a single frame over the limit (it closed with 1009 itself).
    let frameLimit: FrameLimitRefusal

    /// Rethrows what ended the inbound stream (a frame rule broken), so that
    /// hummingbird-websocket closes with its code (1002, 1007, 1009) instead of 1000.
    func run(room name: String, options: JoinOptions, inbound: WebSocketInboundStream,
             outbound: WebSocketOutboundWriter) async throws {
        let room: Room
        do {
            room = try await host.acquire(name)
        } catch {
            logger.warning("refused \(options.label) for room \(name): \(error)")
            let code: CloseCode = if case .tooManyRooms = error { .tryAgainLater } else { .goingAway }
            try? await outbound.close(.init(codeNumber: Int(code.rawValue)), reason: "\(error)".prefix(120).description)
            return
        }
        let budget = OutboundBudget.shared(for: host, limit: limits.maxQueuedBytesTotal)
        let connection = WebSocketRoomConnection(limits: limits, budget: budget, counters: host.counters)
        let member = await room.join(connection, options: options)
        if let member {  // a queue overflow (4008) is closed, logged and counted by the room
            connection.onOverflow { reason in Task { await room.closedBySocket(member, .tooSlow, reason: reason) } }
        }

        let readError = await withTaskGroup(of: Side.self) { group -> (any Error)? in
            group.addTask {
                await Self.write(connection, to: outbound)
                return .writer
            }
            group.addTask {
                if let member {
                    return .reader(await Self.read(inbound, into: room, as: member, maxMessage: limits.maxFrameBytes,
                                                   frameLimit: frameLimit, logger: logger))
                } else {
                    do { for try await _ in inbound {} } catch {}  // refused: wait for the peer's close
                }
                return .reader(nil)
            }
            // We closed it (a limit, shutdown): keep reading, for at most 2 s, until the peer
            // answers the close. Closing the socket while it still sends would reset the
            // connection, and the peer would never see our close code.
            var first = await group.next()
            if case .writer? = first {
                group.addTask {
                    try? await Task.sleep(for: .seconds(2))
                    return .timeout
                }
                first = await group.next()
            }
            group.cancelAll()
            if case let .reader(error)? = first { return error }
            return nil
        }
        connection.finish()
        if let member { await room.leave(member) }
        await host.release(room)
        if let readError { throw readError }
    }

    private static func write(_ connection: WebSocketRoomConnection, to outbound: WebSocketOutboundWriter) async {
        for await command in connection.commands {
            do {
                switch command {
                case let .frame(.binary(bytes)):
                    try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                case let .frame(.text(text)):
                    try await outbound.write(.text(text))
                case let .close(code, reason):
                    try await outbound.close(.init(codeNumber: Int(code.rawValue)), reason: reason)
                    return
                }
            } catch {
                return
            }
            connection.didWrite()
        }
    }

    private static func read(_ inbound: WebSocketInboundStream, into room: Room, as member: PeerID,
                             maxMessage: Int, frameLimit: FrameLimitRefusal, logger: Logger) async -> (any Error)? {
        do {
            for try await message in inbound.messages(maxSize: maxMessage) {
                switch message {
                case let .binary(buffer):
                    await room.receive(.binary(Array(buffer.readableBytesView)), from: member)
                case let .text(text):
                    await room.receive(.text(text), from: member)
                }
            }
        } catch {
            // A message of several frames over the limit ends the stream with this error.
            let described = "\(error)"
            if described.contains("messageTooLarge") || described.contains("invalidFrameLength") {
                await room.closedBySocket(member, .messageTooBig,
                                          reason: "a message over the \(maxMessage)-byte limit (--max-frame-bytes)")
            } else {
                logger.debug("room \(room.name): \(member) read ended: \(error)")
            }
            return error
        }
        // A single frame over the limit: NIO's decoder closed with 1009 and the stream just ended.
        if frameLimit.happened {
            await room.closedBySocket(member, .messageTooBig,
                                      reason: "a frame over the \(maxMessage)-byte limit (--max-frame-bytes)")
        }
        return nil
    }
}
