/// A value bound to, or read from, a statement.
package enum SQLiteValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// SQLite's name for the storage class ("INTEGER", "TEXT", ...), for messages.
    package var typeName: String {
        switch self {
        case .null: "NULL"
        case .integer: "INTEGER"
        case .real: "REAL"
        case .text: "TEXT"
        case .blob: "BLOB"
        }
    }

    package var int64: Int64? {
        switch self {
        case let .integer(i): return i
        case let .real(d): return Int64(exactly: d)
        case let .text(t): return Int64(t)
        default: return nil
        }
    }

    package var double: Double? {
        switch self {
        case let .integer(i): return Double(i)
        case let .real(d): return d
        default: return nil
        }
    }

    package var string: String? {
        switch self {
        case let .text(t): return t
        case let .integer(i): return String(i)
        default: return nil
        }
    }
}

extension SQLiteValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    package init(integerLiteral value: Int64) { self = .integer(value) }
    package init(stringLiteral value: String) { self = .text(value) }
}
