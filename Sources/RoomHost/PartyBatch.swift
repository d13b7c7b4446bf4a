import CRDT
import Foundation

/// One chunked client message of the y-partykit provider (spec §7.5): text frame
/// `y-pk-batch#{"id", "type": "start", "size", "count"}`, `count` binary frames holding `size`
/// bytes in all, text frame `y-pk-batch#{"id", "type": "end", ...}`. Validated on every step.
struct PartyBatch: Sendable {
    static let prefix = "y-pk-batch#"

    enum Failure: Error, CustomStringConvertible {
        case badControl(String)
        case tooManyParts(Int)
        case tooManyBytes(Int)
        case mismatch(String)

        var description: String {
            switch self {
            case let .badControl(reason): "bad control frame: \(reason)"
            case let .tooManyParts(n): "more than the announced \(n) parts"
            case let .tooManyBytes(n): "more than the announced \(n) bytes"
            case let .mismatch(reason): reason
            }
        }
    }

    struct Control {
        let id: String
        let type: String
        let size: Int
        let count: Int

        init(parsing text: String) throws(Failure) {
            guard case let .object(fields)? = try? YAny.parseJSON(String(text.dropFirst(PartyBatch.prefix.count))) else {
                throw .badControl("not a JSON object")
            }
            func field(_ key: String) -> YAny? { fields.last { $0.0 == key }?.1 }
            guard case let .string(type)? = field("type") else { throw .badControl("no type") }
            let id: String
            switch field("id") {
            case let .string(s)?: id = s
            case let value?: id = value.jsonText
            case nil: throw .badControl("no id")
            }
            let size = Self.integer(field("size")) ?? -1
            let count = Self.integer(field("count")) ?? -1
            if type == "start", size < 0 || count < 0 { throw .badControl("start without size and count") }
            self.id = id
            self.type = type
            self.size = size
            self.count = count
        }

        /// A JSON number that is a whole number (lib0's mapping keeps large ones as floats).
        private static func integer(_ value: YAny?) -> Int? {
            switch value {
            case let .integer(n)?: return Int(exactly: n)
            case let .float64(d)?: return Int(exactly: d)
            default: return nil
            }
        }
    }

    let id: String
    let size: Int
    let count: Int
    private(set) var bytes: [UInt8] = []
    private(set) var parts = 0

    init(_ start: Control) {
        id = start.id
        size = start.size
        count = start.count
        bytes.reserveCapacity(min(start.size, 1 << 24))
    }

    mutating func append(_ part: [UInt8]) throws(Failure) {
        guard parts < count else { throw .tooManyParts(count) }
        guard bytes.count + part.count <= size else { throw .tooManyBytes(size) }
        parts += 1
        bytes += part
    }

    /// Checks the end frame against what arrived.
    func finish(_ end: Control) throws(Failure) {
        guard end.id == id else { throw .mismatch("end of batch \(end.id) inside batch \(id)") }
        guard parts == count, bytes.count == size else {
            throw .mismatch("batch \(id) announced \(count) parts and \(size) bytes, got \(parts) and \(bytes.count)")
        }
    }
}
