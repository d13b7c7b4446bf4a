import Foundation
import Replica
import RoomHost

/// A room's view of one WebSocket: frames are queued here and written by the connection's
/// writer task, so a room never waits for a socket. A connection that lets more than
/// `maxQueued` frames pile up is closed as too slow.
final class WebSocketRoomConnection: RoomConnection, @unchecked Sendable {
    enum Command: Sendable {
        case frame(OutboundFrame)
        case close(CloseCode, String)
    }

    let commands: AsyncStream<Command>
    private let continuation: AsyncStream<Command>.Continuation
    private let maxQueued: Int
    private let lock = NSLock()
    private var queued = 0
    private var closed = false

    init(maxQueued: Int) {
        (commands, continuation) = AsyncStream<Command>.makeStream()
        self.maxQueued = maxQueued
    }

    func send(_ frame: OutboundFrame) {
        lock.lock()
        if closed {
            lock.unlock()
            return
        }
        queued += 1
        let overflow = queued > maxQueued
        if overflow { closed = true }
        lock.unlock()
        if overflow {
            continuation.yield(.close(.tooSlow, "more than \(maxQueued) frames queued"))
            continuation.finish()
        } else {
            continuation.yield(.frame(frame))
        }
    }

    func close(_ code: CloseCode, reason: String) {
        lock.lock()
        let wasClosed = closed
        closed = true
        lock.unlock()
        guard !wasClosed else { return }
        continuation.yield(.close(code, reason))
        continuation.finish()
    }

    /// The writer took one frame off the queue.
    func didWrite() {
        lock.lock()
        queued -= 1
        lock.unlock()
    }

    /// The socket ended: drop whatever is queued.
    func finish() {
        lock.lock()
        closed = true
        lock.unlock()
        continuation.finish()
    }
}
