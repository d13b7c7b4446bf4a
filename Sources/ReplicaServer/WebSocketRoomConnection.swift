import Foundation
import NIOCore
import Replica
import RoomHost

/// A room's view of one WebSocket: frames are queued here and written by the connection's
/// writer task, so a room never waits for a socket. A connection whose queue passes
/// `RoomLimits.maxQueuedFrames` or `queuedBytesLimit`, or holds more than its share of the
/// server's `OutboundBudget` while that is used up, is closed as too slow (4008): its queued
/// frames are dropped at once (that memory is what the limit protects), the close goes out after
/// the frame being written, and `onOverflow` tells the room (which logs and counts the close).
final class WebSocketRoomConnection: RoomConnection, @unchecked Sendable {
    enum Command: Sendable {
        case frame(OutboundFrame)
        case close(CloseCode, String)
    }

    /// The commands in order, for the writer task (one iteration at a time); ends when the
    /// connection is finished or after its close.
    struct Commands: AsyncSequence, Sendable {
        typealias Element = Command
        let connection: WebSocketRoomConnection
        struct AsyncIterator: AsyncIteratorProtocol {
            let connection: WebSocketRoomConnection
            mutating func next() async -> Command? { await connection.next() }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(connection: connection) }
    }

    var commands: Commands { Commands(connection: self) }

    private let maxFrames: Int
    private let maxBytes: Int
    private let budget: OutboundBudget
    private let counters: ServerCounters?
    private let lock = NSLock()
    private var queue = CircularBuffer<OutboundFrame>()
    /// Frames and bytes queued, the one being written included.
    private var queuedFrames = 0
    private var queuedBytes = 0
    /// The frame the writer took and is writing (counted until `didWrite`).
    private var inFlight: Int?
    /// No more frames are accepted (a close is queued, or the socket ended).
    private var closed = false
    /// The close to write once the queue is empty.
    private var pendingClose: (CloseCode, String)?
    /// The socket ended: the writer stops.
    private var finished = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var overflowHandler: (@Sendable (String) -> Void)?
    /// An overflow before the handler was set (during the join's greeting).
    private var unreportedOverflow: String?

    init(limits: RoomLimits, budget: OutboundBudget, counters: ServerCounters? = nil) {
        maxFrames = limits.maxQueuedFrames
        maxBytes = limits.queuedBytesLimit
        self.budget = budget
        self.counters = counters
    }

    /// Called (once, from any thread) with the reason when the queue overflowed.
    func onOverflow(_ handler: @escaping @Sendable (String) -> Void) {
        lock.lock()
        overflowHandler = handler
        let missed = unreportedOverflow
        unreportedOverflow = nil
        lock.unlock()
        if let missed { handler(missed) }
    }

    /// Bytes queued now (the frame being written included).
    var bytesQueued: Int {
        lock.lock()
        defer { lock.unlock() }
        return queuedBytes
    }

    func send(_ frame: OutboundFrame) {
        let size = frame.byteCount
        lock.lock()
        guard !closed else {
            lock.unlock()
            return
        }
        var overflow: (reason: String, limit: String)?
        if queuedFrames + 1 > maxFrames {
            overflow = ("more than \(maxFrames) frames queued", "frames")
        } else if queuedBytes + size > maxBytes {
            overflow = ("\(queuedBytes + size) bytes queued (limit \(maxBytes))", "connection_bytes")
        } else if let share = budget.take(size, held: queuedBytes) {
            overflow = ("holds \(queuedBytes + size) bytes, over its share \(share) of the server's full outbound budget", "server_bytes")
        }
        guard let overflow else {
            queue.append(frame)
            queuedFrames += 1
            queuedBytes += size
            let w = waiter
            waiter = nil
            lock.unlock()
            w?.resume()
            return
        }
        // Drop what it has not been sent: the frame in flight finishes, then the close goes.
        closed = true
        let dropped = queuedBytes - (inFlight ?? 0)
        budget.give(dropped, heldAfter: queuedBytes - dropped)
        queue.removeAll()
        queuedFrames = inFlight == nil ? 0 : 1
        queuedBytes -= dropped
        pendingClose = (.tooSlow, overflow.reason)
        let w = waiter
        waiter = nil
        let handler = overflowHandler
        if handler == nil { unreportedOverflow = overflow.reason }
        lock.unlock()
        w?.resume()
        counters?.add("ysync_outbound_overflows_total", labels: ["limit": overflow.limit])
        handler?(overflow.reason)
    }

    func close(_ code: CloseCode, reason: String) {
        lock.lock()
        guard !closed else {
            lock.unlock()
            return
        }
        closed = true
        pendingClose = (code, reason)  // after the frames already queued
        let w = waiter
        waiter = nil
        lock.unlock()
        w?.resume()
    }

    /// The writer's next command: the oldest frame, then the close; nil once finished.
    private func next() async -> Command? {
        while true {
            if let taken = take() { return taken.command }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in park(c) }
            } onCancel: {
                finish()
            }
        }
    }

    /// What the writer does next: a command, the end (a nil command), or wait (nil).
    private func take() -> (command: Command?, Void)? {
        lock.lock()
        defer { lock.unlock() }
        if finished { return (nil, ()) }
        if let frame = queue.popFirst() {
            inFlight = frame.byteCount
            return (.frame(frame), ())
        }
        if let (code, reason) = pendingClose {
            pendingClose = nil
            finished = true
            return (.close(code, reason), ())
        }
        return nil
    }

    /// Waits for the next command (resumed at once if one came meanwhile).
    private func park(_ c: CheckedContinuation<Void, Never>) {
        lock.lock()
        if finished || !queue.isEmpty || pendingClose != nil {
            lock.unlock()
            c.resume()
        } else {
            waiter = c
            lock.unlock()
        }
    }

    /// The writer wrote the frame it took last.
    func didWrite() {
        lock.lock()
        if let size = inFlight {
            inFlight = nil
            queuedFrames -= 1
            queuedBytes -= size
            budget.give(size, heldAfter: queuedBytes)
        }
        lock.unlock()
    }

    /// The socket ended: drop whatever is queued.
    func finish() {
        lock.lock()
        closed = true
        finished = true
        budget.give(queuedBytes, heldAfter: 0)
        queue.removeAll()
        queuedFrames = 0
        queuedBytes = 0
        inFlight = nil
        let w = waiter
        waiter = nil
        lock.unlock()
        w?.resume()
    }
}

extension OutboundFrame {
    /// The payload size a queue counts.
    var byteCount: Int {
        switch self {
        case let .binary(b): b.count
        case let .text(s): s.utf8.count
        }
    }
}

/// The bytes queued for every WebSocket of one server together (`RoomLimits.maxQueuedBytesTotal`).
/// While there is room, any connection may queue; once it is used up, a connection that holds
/// more than its share (the limit divided by the connections holding bytes) is refused, so a few
/// non-readers cannot take it all and a reader with a frame or two in flight keeps going.
final class OutboundBudget: @unchecked Sendable {
    let limit: Int
    private let lock = NSLock()
    private var total = 0
    private var holders = 0

    init(limit: Int) { self.limit = limit }

    /// Bytes queued on the server now.
    var bytesQueued: Int {
        lock.lock()
        defer { lock.unlock() }
        return total
    }

    /// Takes `bytes` for a connection that holds `held` already. Nil: taken; else refused, and
    /// the connection's share.
    func take(_ bytes: Int, held: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        let holding = holders + (held == 0 ? 1 : 0)
        if total + bytes > limit {
            let share = limit / max(1, holding)
            if held + bytes > share { return share }
        }
        total += bytes
        holders = holding
        return nil
    }

    /// Gives back `bytes` of a connection that holds `heldAfter` afterwards.
    func give(_ bytes: Int, heldAfter: Int) {
        guard bytes > 0 else { return }
        lock.lock()
        total -= bytes
        if heldAfter == 0 { holders -= 1 }
        lock.unlock()
    }

    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var registry: [ObjectIdentifier: (host: WeakHost, budget: OutboundBudget)] = [:]

    private struct WeakHost { weak var host: RoomHost? }

    /// The budget of the server that owns `host` (one per host, made on first use).
    static func shared(for host: RoomHost, limit: Int) -> OutboundBudget {
        registryLock.lock()
        defer { registryLock.unlock() }
        registry = registry.filter { $0.value.host.host != nil }
        if let existing = registry[ObjectIdentifier(host)] { return existing.budget }
        let budget = OutboundBudget(limit: limit)
        registry[ObjectIdentifier(host)] = (WeakHost(host: host), budget)
        return budget
    }
}
