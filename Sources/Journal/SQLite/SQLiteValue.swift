/// A value bound to, or read from, a statement.
enum SQLiteValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    var int64: Int64? {
        switch self {
        case let .integer(i): return i
        case let .real(d): return Int64(exactly: d)
        case let .text(t): return Int64(t)
        default: return nil
        }
    }

    var double: Double? {
        switch self {
        case let .integer(i): return Double(i)
        case let .real(d): return d
        default: return nil
        }
    }

    var string: String? {
        switch self {
        case let .text(t): return t
        case let .integer(i): return String(i)
        default: return nil
        }
    }
}

extension SQLiteValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    init(integerLiteral value: Int64) { self = .integer(value) }
    init(stringLiteral value: String) { self = .text(value) }
}
