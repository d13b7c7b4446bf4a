import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A WebSocket client on a bare non-blocking socket, for clients that misbehave at the TCP
/// level: one that never reads (its receive buffer set small, so the server's writes back up)
/// until the test lets it drain. Only what the abuse tests need: the upgrade, masked binary
/// frames out, and reading frames until the server's close (payloads counted, not kept).
final class RawWebSocket: @unchecked Sendable {
    private let fd: Int32
    private var pending: [UInt8] = []
    /// Bytes of the current frame's payload still to skip.
    private var skipping = 0

    /// Connects to 127.0.0.1:`port` and upgrades `path`. `receiveBuffer` (bytes) is set before
    /// connecting, so the TCP window stays that small.
    init(port: Int, path: String, receiveBuffer: Int32? = nil, timeout: Duration = .seconds(10)) async throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure.failed("socket() failed") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            throw TestFailure.failed("connect failed: errno \(errno)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try await write(Array(request.utf8), timeout: timeout)
        let deadline = ContinuousClock.now + timeout
        while true {
            if let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
                pending.removeSubrange(..<end.upperBound)
                guard head.hasPrefix("HTTP/1.1 101") else { throw TestFailure.failed("upgrade refused: \(head)") }
                return
            }
            guard try readSome() > 0 else {
                guard ContinuousClock.now < deadline else { throw TestFailure.timeout("the upgrade answer") }
                try await Task.sleep(for: .milliseconds(5))
                continue
            }
        }
    }

    deinit { Glibc.close(fd) }

    /// Sends one masked binary frame.
    func sendBinary(_ payload: [UInt8], timeout: Duration = .seconds(10)) async throws {
        try await send(opcode: 0x2, payload, timeout: timeout)
    }

    /// Sends one masked text frame.
    func sendText(_ text: String, timeout: Duration = .seconds(10)) async throws {
        try await send(opcode: 0x1, Array(text.utf8), timeout: timeout)
    }

    private func send(opcode: UInt8, _ payload: [UInt8], timeout: Duration) async throws {
        var frame: [UInt8] = [0x80 | opcode]
        let n = payload.count
        if n < 126 {
            frame.append(0x80 | UInt8(n))
        } else if n < 65_536 {
            frame += [0x80 | 126, UInt8(n >> 8), UInt8(n & 0xff)]
        } else {
            frame.append(0x80 | 127)
            for i in (0..<8).reversed() { frame.append(UInt8((n >> (8 * i)) & 0xff)) }
        }
        // A zero key (RFC 6455 allows any) leaves the payload as it is: a debug build masked
        // megabytes byte by byte for seconds, and the floods send hundreds of them.
        frame += [0, 0, 0, 0]
        frame += payload
        try await write(frame, timeout: timeout)
    }

    private func write(_ bytes: [UInt8], timeout: Duration) async throws {
        var sent = 0
        let deadline = ContinuousClock.now + timeout
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                sent += n
            } else if n < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                guard ContinuousClock.now < deadline else { throw TestFailure.timeout("sending on a raw socket") }
                try await Task.sleep(for: .milliseconds(2))
            } else {
                throw TestFailure.failed("send failed: errno \(errno)")
            }
        }
    }

    /// Reads what the socket has (never waits); 0 when nothing is there, -1 at its end.
    private func readSome() throws -> Int {
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            pending += buffer[..<n]
            return n
        }
        if n == 0 { return -1 }
        if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
        return -1
    }

    /// What reading until the close found.
    struct Drained {
        /// The close frame's code (nil: the connection ended without one).
        var closeCode: Int?
        /// Binary data frames before it, and their payload bytes.
        var frames = 0
        var payloadBytes = 0
        /// Text frames before it (their payloads are in `payloadBytes` too).
        var texts = 0
    }

    /// What was read so far (payloads counted, not kept).
    private(set) var received = Drained()

    /// Reads (and forgets) frames until the server's close frame or the end of the connection,
    /// for at most `timeout`; returns everything read on this socket.
    func drainUntilClose(timeout: Duration = .seconds(30)) async throws -> Drained {
        try await read(until: { _ in false }, timeout: timeout)
    }

    /// Reads until `done` holds for what was read, the close or the end (at most `timeout`).
    @discardableResult
    func read(until done: (Drained) -> Bool, timeout: Duration = .seconds(30)) async throws -> Drained {
        let deadline = ContinuousClock.now + timeout
        while !done(received) {
            if skipping > 0 {
                let n = min(skipping, pending.count)
                pending.removeFirst(n)
                skipping -= n
                received.payloadBytes += n
            }
            if skipping == 0, let (opcode, headerBytes, length) = header() {
                if opcode != 0x8 {
                    pending.removeFirst(headerBytes)
                    if opcode == 0x2 { received.frames += 1 }
                    if opcode == 0x1 { received.texts += 1 }
                    skipping = length
                    continue
                }
                if pending.count >= headerBytes + min(length, 2) {
                    if length >= 2 { received.closeCode = Int(pending[headerBytes]) << 8 | Int(pending[headerBytes + 1]) }
                    return received
                }
            }
            if try await wait(deadline) { continue }
            return received
        }
        return received
    }

    /// Reads more, waiting a little if nothing came; false at the connection's end.
    private func wait(_ deadline: ContinuousClock.Instant) async throws -> Bool {
        let n = try readSome()
        if n < 0 { return false }
        if n == 0 {
            guard ContinuousClock.now < deadline else { throw TestFailure.timeout("the server's close") }
            try await Task.sleep(for: .milliseconds(2))
        }
        return true
    }

    /// The frame header at the start of `pending`: opcode, header size, payload length.
    private func header() -> (UInt8, Int, Int)? {
        guard pending.count >= 2 else { return nil }
        let opcode = pending[0] & 0x0f
        let len7 = Int(pending[1] & 0x7f)
        switch len7 {
        case 126:
            guard pending.count >= 4 else { return nil }
            return (opcode, 4, Int(pending[2]) << 8 | Int(pending[3]))
        case 127:
            guard pending.count >= 10 else { return nil }
            return (opcode, 10, (2..<10).reduce(0) { $0 << 8 | Int(pending[$1]) })
        default:
            return (opcode, 2, len7)
        }
    }
}

/// The resident set size in bytes (`VmRSS` in /proc/PID/status) of this process, or of `pid`.
func residentBytes(pid: Int32? = nil) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid.map(String.init) ?? "self")/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb * 1024
}
