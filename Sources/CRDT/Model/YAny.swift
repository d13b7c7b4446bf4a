/// A lib0 `any` value. Objects keep their decoded key order so that re-encoding gives Yjs' bytes.
public indirect enum YAny: Sendable, Equatable, Hashable {
    case undefined
    case null
    case bool(Bool)
    /// An integer written as var-int (tag 125). Yjs writes |n| <= 2^31-1 this way.
    case integer(Int64)
    /// A float32 value (tag 124), kept apart so that it re-encodes to the same bytes.
    case float32(Float)
    /// A float64 value (tag 123).
    case float64(Double)
    /// A 64-bit signed bigint (tag 122).
    case bigint(Int64)
    case string(String)
    case bytes([UInt8])
    case array([YAny])
    /// Ordered key/value pairs (tag 118).
    case object([(String, YAny)])

    /// Structural equality; NaN equals NaN, and objects are equal only with the same pairs in the same order.
    public static func == (lhs: YAny, rhs: YAny) -> Bool {
        switch (lhs, rhs) {
        case (.undefined, .undefined), (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case let (.float32(a), .float32(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.float64(a), .float64(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.bigint(a), .bigint(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.bytes(a), .bytes(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Hashes consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .undefined: hasher.combine(0)
        case .null: hasher.combine(1)
        case let .bool(b): hasher.combine(b)
        case let .integer(i): hasher.combine(i)
        case let .float32(f): hasher.combine(f)
        case let .float64(d): hasher.combine(d)
        case let .bigint(i): hasher.combine(i)
        case let .string(s): hasher.combine(s)
        case let .bytes(b): hasher.combine(b)
        case let .array(a): hasher.combine(a)
        case let .object(o):
            for (k, v) in o { hasher.combine(k); hasher.combine(v) }
        }
    }
}
