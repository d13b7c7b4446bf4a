import Foundation

/// Real Yjs (Debian's node-yjs 13.5) in a child node process (`Tests/TestSupport/yjs_oracle.js`),
/// driven through JSON lines by `ChildProcess` (every wait bounded). Bytes are update v1 or v2 as
/// each call says. The bridge re-writes every delete set it returns with clients descending, as Yjs
/// 13.5.47 and later (and ysync) write them; Debian's 13.5.43 writes them in insertion order.
///
/// node is `$YSYNC_NODE`, else `/usr/bin/node`, with `NODE_PATH=/usr/share/nodejs` (apt packages
/// node-yjs and node-lib0, installed by `scripts/setup.sh`). Missing node or Yjs is an error.
public final class YjsOracle: @unchecked Sendable {
    /// The bridge script in the source tree.
    public static var bridgePath: String {
        RepoData.root.appendingPathComponent("Tests/TestSupport/yjs_oracle.js").path
    }

    /// The node executable the oracle runs.
    public static var nodePath: String { TestEnvironment.environment("YSYNC_NODE") ?? "/usr/bin/node" }

    private let child: ChildProcess
    /// Seconds any one answer may take.
    public let timeout: Double

    /// One editing command's events: the update v1 and v2 bytes the document emitted.
    public struct Emitted: Sendable {
        /// Every `update` event, in order.
        public var v1: [[UInt8]]
        /// Every `updateV2` event, in order.
        public var v2: [[UInt8]]
    }

    /// Starts the bridge (its default document "a" has a random client id until `newDoc`).
    public init(timeout: Double = 60) async throws {
        guard FileManager.default.isExecutableFile(atPath: YjsOracle.nodePath) else {
            throw ProcessFailure("yjs oracle: no node at \(YjsOracle.nodePath) (apt-get install nodejs node-yjs node-lib0, or scripts/setup.sh)")
        }
        self.timeout = timeout
        child = try ChildProcess(executable: YjsOracle.nodePath, arguments: [YjsOracle.bridgePath, "--max-seconds", "900"],
                                 environment: ["NODE_PATH": "/usr/share/nodejs"], label: "yjs_oracle.js")
        do {
            _ = try await request(["op": "ping"])
        } catch {
            child.stop()
            throw ProcessFailure("yjs oracle did not start (is node-yjs installed? scripts/setup.sh): \(error)")
        }
    }

    deinit { child.stop() }

    /// Ends the bridge (bounded wait).
    public func close() async {
        _ = try? child.send(JSONValue.object(["op": "quit"]).description)
        child.closeInput()
        _ = try? await child.waitForExit(timeout: 10)
        child.stop()
    }

    /// Sends one request; returns the reply. Throws when the bridge reports an error.
    @discardableResult
    public func request(_ req: JSONValue) async throws -> [String: JSONValue] {
        let op = req["op"]?.stringValue ?? "?"
        try child.send(req.description)
        let line = try await child.nextLine(timeout: timeout)
        guard case let .object(reply) = try JSONValue.parse(line) else {
            throw ProcessFailure("yjs oracle: reply to \(op) is not an object: \(line.prefix(300))")
        }
        guard reply["ok"]?.boolValue == true else {
            throw ProcessFailure("yjs oracle: \(op) failed: \(reply["error"]?.stringValue ?? "?")\n\(reply["trace"]?.stringValue ?? "")")
        }
        return reply
    }

    private static func hex(_ reply: [String: JSONValue], _ key: String) throws -> [UInt8] {
        guard let s = reply[key]?.stringValue, let b = Hex.decode(s) else {
            throw ProcessFailure("yjs oracle: reply lacks hex field \(key)")
        }
        return b
    }

    private static func hexList(_ reply: [String: JSONValue], _ key: String) throws -> [[UInt8]] {
        try (reply[key]?.arrayValue ?? []).map {
            guard let s = $0.stringValue, let b = Hex.decode(s) else {
                throw ProcessFailure("yjs oracle: bad hex in \(key): \($0)")
            }
            return b
        }
    }

    // MARK: documents

    /// Replaces (or creates) the document `doc` with a fresh one under `clientID`.
    public func newDoc(_ doc: String = "a", clientID: UInt64, gc: Bool = true) async throws {
        try await request(["op": "new", "doc": .string(doc), "client_id": JSONValue(clientID), "gc": .bool(gc)])
    }

    /// Runs one editing command (the pycrdt bridge's op names and fields) on `doc`.
    public func edit(_ fields: [String: JSONValue], doc: String = "a") async throws -> Emitted {
        var f = fields
        f["doc"] = .string(doc)
        let r = try await request(.object(f))
        return Emitted(v1: try Self.hexList(r, "updates"), v2: try Self.hexList(r, "updatesV2"))
    }

    /// `applyUpdate` / `applyUpdateV2`; the events it caused.
    @discardableResult
    public func apply(_ update: [UInt8], v2: Bool, doc: String = "a") async throws -> Emitted {
        try await edit(["op": "apply", "update": .string(Hex.encode(update)), "v2": .bool(v2)], doc: doc)
    }

    /// `encodeStateAsUpdate(V2)`, optionally against an encoded state vector.
    public func state(v2: Bool, sinceEncoded sv: [UInt8]? = nil, doc: String = "a") async throws -> [UInt8] {
        var req: [String: JSONValue] = ["op": "state", "doc": .string(doc), "v2": .bool(v2)]
        if let sv { req["sv"] = .string(Hex.encode(sv)) }
        return try Self.hex(try await request(.object(req)), "update")
    }

    /// `encodeStateVector`.
    public func stateVector(doc: String = "a") async throws -> [UInt8] {
        try Self.hex(try await request(["op": "state_vector", "doc": .string(doc)]), "sv")
    }

    /// `toJSON` of the named roots (bytes as `{"$bytes": hex}`).
    public func content(roots: [String: SharedKind], doc: String = "a") async throws -> JSONValue {
        let r = try await request(["op": "content", "doc": .string(doc), "roots": .object(roots.mapValues { .string($0.rawValue) })])
        guard let c = r["content"] else { throw ProcessFailure("yjs oracle: content without content") }
        return c
    }

    // MARK: doc-less

    /// `mergeUpdates(V2)`.
    public func merge(_ updates: [[UInt8]], v2: Bool) async throws -> [UInt8] {
        try Self.hex(try await request(["op": "merge", "v2": .bool(v2), "updates": .array(updates.map { .string(Hex.encode($0)) })]), "update")
    }

    /// `diffUpdate(V2)` against an encoded state vector.
    public func diff(_ update: [UInt8], sinceEncoded sv: [UInt8], v2: Bool) async throws -> [UInt8] {
        try Self.hex(try await request(["op": "diff", "v2": .bool(v2), "update": .string(Hex.encode(update)), "sv": .string(Hex.encode(sv))]), "update")
    }

    /// `encodeStateVectorFromUpdate(V2)`.
    public func stateVector(fromUpdate update: [UInt8], v2: Bool) async throws -> [UInt8] {
        try Self.hex(try await request(["op": "sv_from_update", "v2": .bool(v2), "update": .string(Hex.encode(update))]), "sv")
    }

    /// `convertUpdateFormatV1ToV2` (`toV2`) or `convertUpdateFormatV2ToV1`.
    public func convert(_ update: [UInt8], toV2: Bool) async throws -> [UInt8] {
        try Self.hex(try await request(["op": "convert", "to": .string(toV2 ? "v2" : "v1"), "update": .string(Hex.encode(update))]), "update")
    }
}
