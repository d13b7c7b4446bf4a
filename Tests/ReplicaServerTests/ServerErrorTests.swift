import Foundation
import Logging
import ReplicaServer
import RoomHost
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// One error shape everywhere, `{"error": "..."}`, with messages that say the limit; a data
/// directory the server cannot write refuses to start.
@Suite("Server errors: one JSON shape, limits named, no read-only start")
struct ServerErrorTests {
    /// The `error` string of a JSON error body (nil when the body is not `{"error": "..."}`).
    static func message(_ body: Data) -> String? {
        (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"] as? String
    }

    @Test("bad room names: 400 {\"error\": \"...\"} on every route and on the upgrade, one limit in the message")
    func badRoomNames() async throws {
        let server = try await TestServer.start()
        let long = String(repeating: "r", count: 256)  // within 256 bytes, over 241 once encoded
        for path in ["/parties/main/\(long)", "/parties/main/\(long)/text", "/parties/main/\(long)/state"] {
            let answer = try await server.http("GET", path)
            #expect(answer.status == 400)
            #expect(Self.message(answer.body) == "bad room name: room name of 256 bytes is too long: at most 241 bytes once percent-encoded (every byte but A-Z, a-z, 0-9, '-', '_' and '.' counts 3)",
                    "\(path): \(answer.text)")
        }
        for path in ["/parties/main/\(long)/update", "/parties/main/\(long)"] {
            let answer = try await server.http("POST", path, body: Data("{}".utf8))
            #expect(answer.status == 400 && Self.message(answer.body)?.hasPrefix("bad room name: room name of 256 bytes") == true, "\(answer.text)")
        }
        // Not valid percent-encoding: was {"error": {"message": "missing room name"}}.
        for (method, path) in [("GET", "/parties/main/a%ZZ/text"), ("POST", "/parties/main/a%ZZ/update")] {
            // Raw: URLSession would escape the % itself.
            let answer = try await rawHTTP(port: server.port, method, path, body: method == "POST" ? [0, 0] : [])
            #expect(answer.status == 400)
            #expect(Self.message(Data(answer.body))?.hasPrefix("bad room name: not valid percent-encoding") == true,
                    "\(String(decoding: answer.body, as: UTF8.self))")
        }
        let upgrade = try await rawUpgrade(port: server.port, path: "/parties/main/\(long)")
        _ = try await upgrade.closedByServer()
        #expect(upgrade.text.hasPrefix("HTTP/1.1 400"), "\(upgrade.text)")
        #expect(upgrade.text.contains(#"{"error":"bad room name: room name of 256 bytes is too long: at most 241 bytes"#), "\(upgrade.text)")
        await server.stop()
    }

    @Test("413 says the limit in {\"error\": ...}: --max-frame-bytes by default, --max-request-bytes when given")
    func bodyTooLarge() async throws {
        for (frameLimit, requestLimit) in [(4096, nil), (4096, 2000)] as [(Int, Int?)] {
            let server = try await TestServer.start {
                $0.limits.maxFrameBytes = frameLimit
                $0.maxRequestBytes = requestLimit
            }
            let limit = requestLimit ?? frameLimit
            for path in ["/parties/main/b/update", "/parties/main/b"] {
                let answer = try await server.http("POST", path, body: Data(count: 5000))
                #expect(answer.status == 413)
                #expect(answer.header("Content-Type") == "application/json")
                #expect(Self.message(answer.body) == "the body is over the limit of \(limit) bytes (--max-request-bytes, by default --max-frame-bytes)",
                        "\(path): \(answer.text)")
            }
            // Just within the limit is not refused for its size.
            #expect(try await server.http("POST", "/parties/main/b/update", body: Data(count: limit)).status != 413)
            await server.stop()
        }
    }

    @Test("an unknown path: 404 {\"error\": \"no such endpoint: ...\"}")
    func notFound() async throws {
        let server = try await TestServer.start()
        let answer = try await server.http("GET", "/nothing/here")
        #expect(answer.status == 404)
        #expect(Self.message(answer.body) == "no such endpoint: GET /nothing/here", "\(answer.text)")
        await server.stop()
    }

    @Test("a read-only data directory: ycli serve refuses to start with one sentence and exit 1; in process ReplicaServer throws .setup")
    func readOnlyDataDirectory() async throws {
        let dir = TempDir("ysync-read-only")
        let data = dir.file("data")
        try FileManager.default.createDirectory(atPath: data + "/rooms", withIntermediateDirectories: true)
        let undo = try makeReadOnly(data + "/rooms")
        defer { undo() }

        let refused = try await Ycli.run(["serve", "--port", "0", "--data", data], timeout: 60)
        #expect(refused.status == 1, "\(refused)")
        #expect(!refused.out.contains("listening"), "\(refused.out)")
        let lines = refused.err.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("the data directory \(data) is not writable (\(data)/rooms: "), "\(refused.err)")
        #expect(refused.err.contains("give a writable --data"), "\(refused.err)")

        // A data directory inside a read-only folder cannot even be created.
        let inside = data + "/rooms/nested"
        let uncreatable = try await Ycli.run(["serve", "--port", "0", "--data", inside], timeout: 60)
        #expect(uncreatable.status == 1)
        #expect(uncreatable.err.contains("cannot create \(inside) for the rooms' journals ("), "\(uncreatable.err)")

        var config = ServerConfig()
        config.port = 0
        config.dataDirectory = data
        do {
            _ = try await ReplicaServer(config: config, logger: Logger(label: "test"))
            Issue.record("a server on a read-only data directory was made")
        } catch {
            #expect(error.description.contains("is not writable"), "\(error)")
        }
    }
}

/// Makes the directory at `path` read-only for this process: mode 0555, and for root (whom
/// modes do not stop) the immutable attribute (`chattr +i`, by ioctl). Fails, rather than
/// skipping, when the directory stays writable. Returns the undo (run it before the directory
/// is removed).
func makeReadOnly(_ path: String) throws -> @Sendable () -> Void {
    chmod(path, 0o555)
    let root = getuid() == 0
    if root, !setImmutable(path, true) {
        throw TestFailure.failed("cannot set the immutable attribute of \(path) (root ignores modes): errno \(errno)")
    }
    let undo: @Sendable () -> Void = {
        if root { _ = setImmutable(path, false) }
        chmod(path, 0o755)
    }
    let probe = path + "/probe"
    if FileManager.default.createFile(atPath: probe, contents: Data()) {
        unlink(probe)
        undo()
        throw TestFailure.failed("\(path) stays writable after chmod 0555\(root ? " and chattr +i" : "")")
    }
    return undo
}

/// Sets or clears `FS_IMMUTABLE_FL` (FS_IOC_GETFLAGS / FS_IOC_SETFLAGS, as chattr does).
private func setImmutable(_ path: String, _ on: Bool) -> Bool {
    let fd = open(path, O_RDONLY | O_DIRECTORY)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    let getFlags: UInt = 0x8008_6601, setFlags: UInt = 0x4008_6602, immutable: Int32 = 0x10
    var flags: Int32 = 0
    guard ioctl(fd, getFlags, &flags) == 0 else { return false }
    flags = on ? flags | immutable : flags & ~immutable
    return ioctl(fd, setFlags, &flags) == 0
}
