import CRDT

/// The content of a shared type with the kind of every nested shared type kept, so that a nested
/// `Y.Text` is not confused with a string value. Compare replicas with `==`; use `plain` for a
/// JSON-like rendering (text -> string, map -> object, array -> list) and `firstDifference` for
/// failure messages. Numbers are doubles: pycrdt writes integers as floats, Yjs as var-ints.
public indirect enum ContentNode: Equatable, Sendable, CustomStringConvertible {
    case text(String)
    case map([String: ContentNode])
    case array([ContentNode])
    /// A plain (`any`) value; binary content is `{"$bytes": hex}`.
    case value(JSONValue)

    /// Reads the bridge's typed rendering (`{"$text": s}`, `{"$map": {…}}`, `{"$array": […]}`).
    public init(typedJSON v: JSONValue) throws {
        if case let .object(o) = v, o.count == 1 {
            if let s = o["$text"] {
                guard let str = s.stringValue else { throw JSONValue.ParseError(message: "$text not a string", offset: 0) }
                self = .text(str)
                return
            }
            if let m = o["$map"] {
                guard let mo = m.objectValue else { throw JSONValue.ParseError(message: "$map not an object", offset: 0) }
                self = .map(try mo.mapValues { try ContentNode(typedJSON: $0) })
                return
            }
            if let a = o["$array"] {
                guard let aa = a.arrayValue else { throw JSONValue.ParseError(message: "$array not a list", offset: 0) }
                self = .array(try aa.map { try ContentNode(typedJSON: $0) })
                return
            }
        }
        self = .value(v)
    }

    public var kind: SharedKind? {
        switch self {
        case .text: return .text
        case .map: return .map
        case .array: return .array
        case .value: return nil
        }
    }

    /// JSON-like rendering: text -> string, map -> object, array -> list.
    public var plain: JSONValue {
        switch self {
        case let .text(s): return .string(s)
        case let .map(m): return .object(m.mapValues(\.plain))
        case let .array(a): return .array(a.map(\.plain))
        case let .value(v): return v
        }
    }

    /// Typed JSON rendering (the bridge's format), for messages.
    public var typedJSON: JSONValue {
        switch self {
        case let .text(s): return ["$text": .string(s)]
        case let .map(m): return ["$map": .object(m.mapValues(\.typedJSON))]
        case let .array(a): return ["$array": .array(a.map(\.typedJSON))]
        case let .value(v): return v
        }
    }

    public var description: String { typedJSON.description }

    /// Where `self` (expected) and `other` (actual) first differ, or nil when equal.
    public func firstDifference(from other: ContentNode, path: String = "$") -> String? {
        if self == other { return nil }
        if kind != other.kind {
            return "\(path): expected a \(kind?.rawValue ?? "value"), actual a \(other.kind?.rawValue ?? "value"): expected \(self), actual \(other)"
        }
        switch (self, other) {
        case let (.map(a), .map(b)):
            let ka = Set(a.keys), kb = Set(b.keys)
            if ka != kb {
                return "\(path): keys differ: only expected \(ka.subtracting(kb).sorted()), only actual \(kb.subtracting(ka).sorted())"
            }
            for k in ka.sorted() {
                if let d = a[k]!.firstDifference(from: b[k]!, path: "\(path).\(k)") { return d }
            }
            return nil
        case let (.array(a), .array(b)):
            for (i, (x, y)) in zip(a, b).enumerated() {
                if let d = x.firstDifference(from: y, path: "\(path)[\(i)]") { return d }
            }
            return "\(path): array length expected \(a.count), actual \(b.count)"
        default:
            return typedJSON.firstDifference(from: other.typedJSON, path: path)
        }
    }
}

/// Compares two root -> content maps; nil when equal, else a description of the first difference.
public func describeContentDifference(expected: [String: ContentNode], actual: [String: ContentNode]) -> String? {
    ContentNode.map(expected).firstDifference(from: .map(actual))
}

// MARK: - our documents

extension ContentNode {
    /// Renders the given roots of one of our documents.
    public static func render(_ doc: YDoc, roots: [String: SharedKind]) -> [String: ContentNode] {
        var out: [String: ContentNode] = [:]
        for (name, kind) in roots {
            out[name] = render(rootValue(doc, name, kind))
        }
        return out
    }

    public static func render(_ v: YValue) -> ContentNode {
        switch v {
        case let .any(a): return .value(JSONValue(a))
        case let .binary(b): return .value(["$bytes": .string(Hex.encode(b))])
        case let .text(t): return .text(t.string)
        case let .map(m):
            var d: [String: ContentNode] = [:]
            for k in m.keys {
                if let x = m.get(k) { d[k] = render(x) }
            }
            return .map(d)
        case let .array(a): return .array(a.toArray().map { render($0) })
        default: return .value(["$unknown": .string("\(v)")])
        }
    }
}

func rootValue(_ doc: YDoc, _ name: String, _ kind: SharedKind) -> YValue {
    switch kind {
    case .text: return .text(doc.getText(name))
    case .map: return .map(doc.getMap(name))
    case .array: return .array(doc.getArray(name))
    }
}

/// Resolves a target in one of our documents: nil when a step does not exist or has another kind.
public func resolve(_ doc: YDoc, _ target: SharedTarget) -> YValue? {
    var cur = rootValue(doc, target.root, target.rootKind)
    for step in target.path {
        switch (step, cur) {
        case let (.key(k), .map(m)):
            guard let next = m.get(k) else { return nil }
            cur = next
        case let (.index(i), .array(a)):
            guard i >= 0, i < a.count, let next = a.get(i) else { return nil }
            cur = next
        default:
            return nil
        }
    }
    return cur
}

// MARK: - values

extension JSONValue {
    /// A lib0 `any` as a JSON-like value: every number becomes a double, binary `{"$bytes": hex}`,
    /// `undefined` null.
    public init(_ a: YAny) {
        switch a {
        case .undefined, .null: self = .null
        case let .bool(b): self = .bool(b)
        case let .integer(i): self = .number(Double(i))
        case let .float32(f): self = .number(Double(f))
        case let .float64(d): self = .number(d)
        case let .bigint(i): self = .number(Double(i))
        case let .string(s): self = .string(s)
        case let .bytes(b): self = .object(["$bytes": .string(Hex.encode(b))])
        case let .array(xs): self = .array(xs.map { JSONValue($0) })
        case let .object(kv):
            var o: [String: JSONValue] = [:]
            for (k, v) in kv { o[k] = JSONValue(v) }
            self = .object(o)
        }
    }

    /// The `any` Yjs would write for this JSON value: integral numbers within ±(2^31−1) as var-int,
    /// other numbers as float64; object keys sorted; `{"$bytes": hex}` as bytes.
    public var yAny: YAny {
        switch self {
        case .null: return .null
        case let .bool(b): return .bool(b)
        case let .number(d):
            if d == d.rounded(), abs(d) <= 2_147_483_647 { return .integer(Int64(d)) }
            return .float64(d)
        case let .string(s): return .string(s)
        case let .array(xs): return .array(xs.map(\.yAny))
        case let .object(o):
            if o.count == 1, let h = o["$bytes"]?.stringValue, let b = Hex.decode(h) { return .bytes(b) }
            return .object(o.keys.sorted().map { ($0, o[$0]!.yAny) })
        }
    }
}

// MARK: - state vectors

public struct StateVectorDecodingError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "state vector: \(message)" }
}

/// Decodes an encoded state vector (any client order) into a map.
public func decodeStateVector(_ bytes: [UInt8]) throws -> [UInt64: UInt32] {
    var r = Lib0Reader(bytes)
    var out: [UInt64: UInt32] = [:]
    do {
        let n = try r.readVarUInt("count")
        for _ in 0..<n {
            let client = try r.readVarUInt("client")
            let clock = try r.readVarUInt("clock")
            guard clock <= UInt64(UInt32.max) else { throw StateVectorDecodingError(message: "clock \(clock) too large") }
            out[client] = UInt32(clock)
        }
    } catch let e as StateVectorDecodingError {
        throw e
    } catch {
        throw StateVectorDecodingError(message: "\(error)")
    }
    guard r.isAtEnd else { throw StateVectorDecodingError(message: "\(r.remaining) trailing bytes") }
    return out
}
