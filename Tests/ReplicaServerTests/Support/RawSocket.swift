import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// A TCP connection to the test server driven byte by byte: non-blocking, every read bounded by
/// a deadline (polled with short async sleeps, so no cooperative thread is ever blocked).
final class RawSocket: @unchecked Sendable {
    let fd: Int32
    private(set) var received: [UInt8] = []
    private(set) var closed = false

    /// Connects to 127.0.0.1:`port`. `receiveBuffer` (bytes) is set before connecting, so that
    /// the TCP window stays that small (a client that never reads holds the server's writes back).
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure.failed("connect: errno \(errno)") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    /// Sends everything (a peer that stopped reading makes this fail after 10 s).
    func send(_ bytes: [UInt8]) async throws {
        var offset = 0
        let deadline = ContinuousClock.now + .seconds(10)
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            guard n < 0, errno == EAGAIN || errno == EWOULDBLOCK, ContinuousClock.now < deadline else {
                throw TestFailure.failed("send: errno \(errno)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Reads what is there; notes the end of the stream (EOF or reset).
    private func drain() {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !closed {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { received += chunk[0..<n] } else if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { closed = true } else { return }
        }
    }

    /// Waits until `condition` holds on what was received (and whether the server closed), or throws after `timeout`.
    func wait(_ what: String, timeout: Double = 10, _ condition: (RawSocket) -> Bool) async throws {
        try await eventually(what, timeout: timeout) {
            drain()
            return condition(self)
        }
    }

    /// Waits for the server to close the connection; returns everything it sent.
    func closedByServer(timeout: Double = 10) async throws -> [UInt8] {
        try await wait("server closes the connection", timeout: timeout) { $0.closed }
        return received
    }

    var text: String { String(decoding: received, as: UTF8.self) }
}

/// A WebSocket client frame: masked unless `masked` is false (RFC 6455 §5.2).
func wsFrame(opcode: UInt8, fin: Bool = true, _ payload: [UInt8], masked: Bool = true) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | opcode]
    let maskBit: UInt8 = masked ? 0x80 : 0
    if payload.count < 126 {
        out.append(maskBit | UInt8(payload.count))
    } else if payload.count < 65536 {
        out += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    } else {
        out.append(maskBit | 127)
        out += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xFF) }
    }
    guard masked else { return out + payload }
    let key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
    return out + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
}

/// The code of the first close frame in the server's (unmasked) frames after the HTTP head, if any.
func closeCode(in bytes: [UInt8]) -> Int? {
    guard let headEnd = bytes.indices.first(where: { bytes[$0...].starts(with: [13, 10, 13, 10]) }) else { return nil }
    var i = headEnd + 4
    while i + 2 <= bytes.count {
        let opcode = bytes[i] & 0x0F
        var length = Int(bytes[i + 1] & 0x7F), start = i + 2
        if length == 126 {
            guard start + 2 <= bytes.count else { return nil }
            length = Int(bytes[start]) << 8 | Int(bytes[start + 1]); start += 2
        } else if length == 127 {
            guard start + 8 <= bytes.count else { return nil }
            length = bytes[start..<(start + 8)].reduce(0) { $0 << 8 | Int($1) }; start += 8
        }
        guard start + length <= bytes.count else { return nil }
        if opcode == 0x8 { return length >= 2 ? Int(bytes[start]) << 8 | Int(bytes[start + 1]) : 1005 }
        i = start + length
    }
    return nil
}

/// The HTTP/1.1 handshake of a WebSocket, by hand; returns the socket after the server's answer head.
func rawUpgrade(port: Int, path: String, headers: String = "", receiveBuffer: Int32? = nil) async throws -> RawSocket {
    let socket = try RawSocket(port: port, receiveBuffer: receiveBuffer)
    try await socket.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(headers)\r\n")
    try await socket.wait("the upgrade answer") { $0.text.contains("\r\n\r\n") || $0.closed }
    return socket
}

/// One HTTP/1.1 request with `Connection: close` on a raw socket (so that no client pool keeps a
/// connection open behind the test's back); the status and body once the server closed.
func rawHTTP(port: Int, _ method: String, _ path: String, body: [UInt8] = [], timeout: Double = 30) async throws -> (status: Int, body: [UInt8]) {
    let socket = try RawSocket(port: port)
    try await socket.send("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.count)\r\n\r\n")
    if !body.isEmpty { try await socket.send(body) }
    let bytes = try await socket.closedByServer(timeout: timeout)
    guard let headEnd = bytes.firstRange(of: [13, 10, 13, 10]),
          let status = Int(String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self).split(separator: " ").dropFirst().first ?? "") else {
        throw TestFailure.failed("\(method) \(path): no HTTP answer in \(bytes.count) bytes")
    }
    return (status, Array(bytes[headEnd.upperBound...]))
}
