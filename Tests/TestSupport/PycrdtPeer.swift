import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kind of a shared type, as the tests and the pycrdt bridge name it.
public enum SharedKind: String, Sendable, CaseIterable {
    case text, map, array
}

/// One step from a shared type to a nested one: a map key or an array index.
public enum PathStep: Hashable, Sendable, CustomStringConvertible {
    case key(String)
    case index(Int)

    public var json: JSONValue {
        switch self {
        case let .key(k): return .string(k)
        case let .index(i): return JSONValue(i)
        }
    }

    public var description: String {
        switch self {
        case let .key(k): return ".\(k.debugDescription)"
        case let .index(i): return "[\(i)]"
        }
    }
}

/// Addresses a shared type: a root (by name and kind) and a path of nested steps.
public struct SharedTarget: Hashable, Sendable, CustomStringConvertible {
    public var root: String
    public var rootKind: SharedKind
    public var path: [PathStep]

    public init(root: String, kind: SharedKind, path: [PathStep] = []) {
        self.root = root
        self.rootKind = kind
        self.path = path
    }

    public static func text(_ root: String) -> SharedTarget { SharedTarget(root: root, kind: .text) }
    public static func map(_ root: String) -> SharedTarget { SharedTarget(root: root, kind: .map) }
    public static func array(_ root: String) -> SharedTarget { SharedTarget(root: root, kind: .array) }

    public func appending(_ step: PathStep) -> SharedTarget {
        var t = self
        t.path.append(step)
        return t
    }

    public var json: JSONValue {
        .object(["root": .string(root), "kind": .string(rootKind.rawValue), "path": .array(path.map(\.json))])
    }

    public var description: String { "\(root)(\(rootKind.rawValue))" + path.map(\.description).joined() }
}

public enum PycrdtPeerError: Error, CustomStringConvertible {
    case interpreterMissing(String)
    case bridgeMissing(String)
    case launchFailed(String)
    case bridgeDied(String)
    case remote(op: String, message: String)
    case badReply(String)

    public var description: String {
        switch self {
        case let .interpreterMissing(m), let .bridgeMissing(m), let .launchFailed(m), let .bridgeDied(m), let .badReply(m):
            return "pycrdt oracle: \(m)"
        case let .remote(op, m):
            return "pycrdt oracle: command '\(op)' failed in the bridge: \(m)"
        }
    }
}

/// A pycrdt (yrs) document in a child Python process (`Tests/TestSupport/pycrdt_peer.py`), driven
/// through JSON lines. Positions are UTF-16 units on this side; the bridge converts them.
///
/// The interpreter is `$YSYNC_PYTHON`, else `<repo>/.venv/bin/python` (made by `scripts/setup.sh`).
/// A missing interpreter or a missing pycrdt is an error (tests fail, they never skip).
public final class PycrdtPeer {
    /// `RepoData.python`.
    public static var interpreterPath: String { RepoData.python }

    public static var bridgePath: String {
        RepoData.root.appendingPathComponent("Tests/TestSupport/pycrdt_peer.py").path
    }

    private let process: Process
    private let input: FileHandle
    private let output: FileHandle
    private var buffer: [UInt8] = []
    private var scanned = 0  // bytes of `buffer` known to hold no newline
    private var closed = false
    /// Number of requests sent (for diagnostics).
    public private(set) var requestCount = 0

    /// Launches the bridge and creates its document with `clientID` (random when nil).
    public init(clientID: UInt64? = nil, gc: Bool = true) throws {
        let python = PycrdtPeer.interpreterPath
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw PycrdtPeerError.interpreterMissing(
                "no Python interpreter at \(python). Run scripts/setup.sh (creates <repo>/.venv with pycrdt) "
                    + "or set YSYNC_PYTHON to a python that has pycrdt 0.14 installed.")
        }
        guard FileManager.default.fileExists(atPath: PycrdtPeer.bridgePath) else {
            throw PycrdtPeerError.bridgeMissing("bridge script not found at \(PycrdtPeer.bridgePath)")
        }
        // A dead child must surface as an error from write(), not kill the test process.
        signal(SIGPIPE, SIG_IGN)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-u", PycrdtPeer.bridgePath]
        var env = ProcessInfo.processInfo.environment
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONIOENCODING"] = "utf-8"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        p.environment = env
        let inPipe = Pipe(), outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        // stderr is inherited: Python tracebacks land in the test log.
        do {
            try p.run()
        } catch {
            throw PycrdtPeerError.launchFailed("could not start \(python): \(error)")
        }
        process = p
        input = inPipe.fileHandleForWriting
        output = outPipe.fileHandleForReading

        do {
            _ = try request(["op": "ping"])
        } catch {
            close()
            throw PycrdtPeerError.bridgeDied(
                "the bridge did not answer (\(error)). Is pycrdt installed for \(python)? Run scripts/setup.sh.")
        }
        try newDoc(clientID: clientID, gc: gc)
    }

    deinit { close() }

    /// Ends the child process (idempotent).
    public func close() {
        guard !closed else { return }
        closed = true
        if process.isRunning {
            _ = PosixIO.writeAll(input.fileDescriptor, Array((JSONValue.object(["op": "quit"]).description + "\n").utf8))
            try? input.close()
            process.waitUntilExit()
        } else {
            try? input.close()
        }
        try? output.close()
    }

    // MARK: raw protocol

    /// Sends one request; returns the reply object. Throws if the bridge reports an error.
    @discardableResult
    public func request(_ req: JSONValue) throws -> [String: JSONValue] {
        guard !closed else { throw PycrdtPeerError.bridgeDied("peer already closed") }
        let op = req["op"]?.stringValue ?? "?"
        requestCount += 1
        let line = req.description + "\n"
        guard PosixIO.writeAll(input.fileDescriptor, Array(line.utf8)) else {
            throw PycrdtPeerError.bridgeDied("write to bridge failed (errno \(errno)); the Python process exited")
        }
        guard let replyLine = readLine() else {
            throw PycrdtPeerError.bridgeDied("the Python process closed its output (see its traceback on stderr)")
        }
        let reply: JSONValue
        do {
            reply = try JSONValue.parse(replyLine)
        } catch {
            throw PycrdtPeerError.badReply("unparsable reply to '\(op)': \(error): \(String(decoding: replyLine.prefix(300), as: UTF8.self))")
        }
        guard case let .object(obj) = reply else { throw PycrdtPeerError.badReply("reply is not an object") }
        if obj["ok"]?.boolValue != true {
            var msg = obj["error"]?.stringValue ?? "unknown error"
            if let tb = obj["trace"]?.stringValue { msg += "\n" + tb }
            throw PycrdtPeerError.remote(op: op, message: msg)
        }
        return obj
    }

    /// Reads one reply line with plain read(2), retrying on EINTR (FileHandle.availableData traps
    /// on EINTR, which signals from other tests' child processes can cause).
    private func readLine() -> [UInt8]? {
        while true {
            if let nl = buffer[scanned...].firstIndex(of: 0x0a) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                scanned = 0
                return line
            }
            scanned = buffer.count
            guard PosixIO.readChunk(output.fileDescriptor, into: &buffer) else { return nil }
        }
    }

    private static func updates(of reply: [String: JSONValue]) throws -> [[UInt8]] {
        guard let list = reply["updates"]?.arrayValue else { return [] }
        return try list.map {
            guard let s = $0.stringValue, let b = Hex.decode(s) else { throw PycrdtPeerError.badReply("bad update hex") }
            return b
        }
    }

    private static func bytes(_ reply: [String: JSONValue], _ key: String) throws -> [UInt8] {
        guard let s = reply[key]?.stringValue, let b = Hex.decode(s) else {
            throw PycrdtPeerError.badReply("reply lacks hex field '\(key)'")
        }
        return b
    }

    /// Runs an editing command and returns the updates (update v1) the document emitted for it:
    /// exactly one for an edit that changed something.
    private func edit(_ fields: [String: JSONValue]) throws -> [[UInt8]] {
        try PycrdtPeer.updates(of: request(.object(fields)))
    }

    // MARK: document

    /// Replaces the bridge's document by a fresh one.
    public func newDoc(clientID: UInt64?, gc: Bool = true) throws {
        try request(["op": "new", "client_id": clientID.map { JSONValue($0) } ?? .null, "gc": .bool(gc)])
    }

    @discardableResult
    public func textInsert(_ target: SharedTarget, at index: Int, _ text: String) throws -> [[UInt8]] {
        try edit(["op": "text_insert", "target": target.json, "index": JSONValue(index), "text": .string(text)])
    }

    @discardableResult
    public func textDelete(_ target: SharedTarget, at index: Int, count: Int) throws -> [[UInt8]] {
        try edit(["op": "text_delete", "target": target.json, "index": JSONValue(index), "count": JSONValue(count)])
    }

    /// `value` is plain JSON, or `{"$bytes": hex}` for a binary value.
    @discardableResult
    public func mapSet(_ target: SharedTarget, _ key: String, _ value: JSONValue) throws -> [[UInt8]] {
        try edit(["op": "map_set", "target": target.json, "key": .string(key), "value": value])
    }

    @discardableResult
    public func mapSetType(_ target: SharedTarget, _ key: String, _ kind: SharedKind) throws -> [[UInt8]] {
        try edit(["op": "map_set_type", "target": target.json, "key": .string(key), "kind": .string(kind.rawValue)])
    }

    @discardableResult
    public func mapDelete(_ target: SharedTarget, _ key: String) throws -> [[UInt8]] {
        try edit(["op": "map_delete", "target": target.json, "key": .string(key)])
    }

    /// Inserts `values` with one call (one ContentAny item, as Yjs does).
    @discardableResult
    public func arrayInsert(_ target: SharedTarget, at index: Int, _ values: [JSONValue]) throws -> [[UInt8]] {
        try edit(["op": "array_insert", "target": target.json, "index": JSONValue(index), "values": .array(values)])
    }

    @discardableResult
    public func arrayInsertType(_ target: SharedTarget, at index: Int, _ kind: SharedKind) throws -> [[UInt8]] {
        try edit(["op": "array_insert_type", "target": target.json, "index": JSONValue(index), "kind": .string(kind.rawValue)])
    }

    @discardableResult
    public func arrayDelete(_ target: SharedTarget, at index: Int, count: Int) throws -> [[UInt8]] {
        try edit(["op": "array_delete", "target": target.json, "index": JSONValue(index), "count": JSONValue(count)])
    }

    /// Applies an update v1; returns the update(s) pycrdt emitted for what got integrated.
    @discardableResult
    public func applyUpdate(_ update: [UInt8]) throws -> [[UInt8]] {
        try edit(["op": "apply_update", "update": .string(Hex.encode(update))])
    }

    /// `get_update()`: the full state (or the diff against an encoded state vector).
    public func encodeStateAsUpdate(sinceEncoded sv: [UInt8]? = nil) throws -> [UInt8] {
        var req: [String: JSONValue] = ["op": "get_update"]
        if let sv { req["sv"] = .string(Hex.encode(sv)) }
        return try PycrdtPeer.bytes(request(.object(req)), "update")
    }

    /// The encoded state vector (yrs writes clients in hash order: compare decoded).
    public func encodeStateVector() throws -> [UInt8] {
        try PycrdtPeer.bytes(request(["op": "get_state"]), "sv")
    }

    public func stateVector() throws -> [UInt64: UInt32] {
        try decodeStateVector(encodeStateVector())
    }

    /// Length of a text in UTF-16 units.
    public func textLength(_ target: SharedTarget) throws -> Int {
        guard let n = try request(["op": "text_length", "target": target.json])["length"]?.intValue else {
            throw PycrdtPeerError.badReply("text_length without length")
        }
        return n
    }

    /// Plain rendering of the given roots: text -> string, map -> object, array -> list (nested
    /// types rendered recursively), binary -> `{"$bytes": hex}`, numbers as doubles.
    public func content(roots: [String: SharedKind]) throws -> JSONValue {
        let typed = try typedContent(roots: roots)
        return .object(typed.mapValues { $0.plain })
    }

    /// The same, keeping the kind of every shared type (see `ContentNode`).
    public func typedContent(roots: [String: SharedKind]) throws -> [String: ContentNode] {
        let reply = try request([
            "op": "content", "typed": true,
            "roots": .object(roots.mapValues { .string($0.rawValue) }),
        ])
        guard let c = reply["content"]?.objectValue else { throw PycrdtPeerError.badReply("content without content") }
        return try c.mapValues { try ContentNode(typedJSON: $0) }
    }

    // MARK: traces

    public struct TraceReplay: Sendable {
        public let patches: Int
        public let endContentMatches: Bool
        public let update: [UInt8]
        public let stateVector: [UInt8]
        /// FNV-1a 64 of every per-transaction update, in order (see `fnv1a64`).
        public let updateHashes: [UInt64]
    }

    /// Replays a sequential editing trace inside Python (one transaction per patch).
    public func replayTrace(path: String, clientID: UInt64, root: String = "text") throws -> TraceReplay {
        let r = try request(["op": "replay_trace", "path": .string(path), "client_id": JSONValue(clientID), "root": .string(root)])
        let hashes = try (r["update_hashes"]?.arrayValue ?? []).map { v -> UInt64 in
            guard let s = v.stringValue, let h = UInt64(s, radix: 16) else { throw PycrdtPeerError.badReply("bad hash") }
            return h
        }
        return TraceReplay(
            patches: r["patches"]?.intValue ?? -1,
            endContentMatches: r["end_ok"]?.boolValue ?? false,
            update: try PycrdtPeer.bytes(r, "update"),
            stateVector: try PycrdtPeer.bytes(r, "sv"),
            updateHashes: hashes)
    }

    /// The `index`-th per-transaction update of the last `replayTrace`.
    public func traceUpdate(_ index: Int) throws -> [UInt8] {
        try PycrdtPeer.bytes(request(["op": "trace_update", "index": JSONValue(index)]), "update")
    }
}

/// FNV-1a 64-bit, the hash the bridge uses for trace updates.
public func fnv1a64<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01b3
    }
    return h
}

/// read(2)/write(2) loops that retry on EINTR.
enum PosixIO {
    /// Appends up to 64 KiB to `buffer`; false on end of file or error.
    static func readChunk(_ fd: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
            if n < 0 && errno == EINTR { continue }
            return false
        }
    }

    /// Reads until end of file.
    static func readAll(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        while readChunk(fd, into: &out) {}
        return out
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n > 0 {
                off += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }
}
