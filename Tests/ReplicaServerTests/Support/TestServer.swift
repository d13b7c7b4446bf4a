import Foundation
import Logging
import ReplicaServer
import RoomHost
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

enum TestFailure: Error, CustomStringConvertible {
    case timeout(String)
    case failed(String)
    var description: String {
        switch self {
        case let .timeout(m): "timed out: \(m)"
        case let .failed(m): m
        }
    }
}

/// Log lines a test can inspect.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.unlock()
    }
    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }
}

struct CaptureHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { capture.append("\(event.level) \(event.message)") }
}

/// The real server, in this process, on 127.0.0.1 and a free port.
final class TestServer: @unchecked Sendable {
    let server: ReplicaServer
    let port: Int
    let dataDirectory: String
    let logs: LogCapture
    private let task: Task<Void, Error>
    /// The data directory when the test gave none (removed with the server).
    private let ownDirectory: TempDir?

    private init(server: ReplicaServer, port: Int, dataDirectory: String, ownDirectory: TempDir?, logs: LogCapture,
                 task: Task<Void, Error>) {
        self.ownDirectory = ownDirectory
        self.server = server
        self.port = port
        self.dataDirectory = dataDirectory
        self.logs = logs
        self.task = task
    }

    static func start(dataDirectory: String? = nil, _ configure: (inout ServerConfig) -> Void = { _ in }) async throws -> TestServer {
        var config = ServerConfig()
        config.host = "127.0.0.1"
        config.port = 0
        let own = dataDirectory == nil ? TempDir("ysync-server") : nil
        config.dataDirectory = dataDirectory ?? own!.path
        config.durability = .normal
        configure(&config)
        let logs = LogCapture()
        var logger = Logger(label: "test-server") { _ in CaptureHandler(capture: logs) }
        logger.logLevel = .debug
        let server = try await ReplicaServer(config: config, logger: logger)
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let task = Task {
            try await server.run(handleSignals: false) { port in portSink.yield(port) }
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure.failed("server did not start") }
        return TestServer(server: server, port: port, dataDirectory: config.dataDirectory, ownDirectory: own, logs: logs, task: task)
    }

    func url(_ room: String, query: String = "") -> String {
        "ws://127.0.0.1:\(port)/parties/main/\(room)" + (query.isEmpty ? "" : "?" + query)
    }

    /// Stops the server (as a graceful shutdown does: connections closed, rooms persisted).
    func stop() async {
        task.cancel()
        _ = await task.result
    }
}

/// What an HTTP request got.
struct HTTPResult {
    var status: Int
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> [String: Any] {
        guard let o = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw TestFailure.failed("not a JSON object: \(text)")
        }
        return o
    }
    func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }
}

extension TestServer {
    func http(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> HTTPResult {
        try await httpRequest(port: port, method, path, body: body, headers: headers)
    }
}

/// One HTTP request to 127.0.0.1:`port`, given up after `timeout` seconds.
func httpRequest(port: Int, _ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:],
                 timeout: Double = 10) async throws -> HTTPResult {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.httpMethod = method
    request.httpBody = body
    request.timeoutInterval = timeout
    for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
    let (data, response) = try await URLSession.shared.data(for: request)
    guard let http = response as? HTTPURLResponse else { throw TestFailure.failed("no HTTP response") }
    var h: [String: String] = [:]
    for (k, v) in http.allHeaderFields { h["\(k)"] = "\(v)" }
    return HTTPResult(status: http.statusCode, headers: h, body: data)
}
