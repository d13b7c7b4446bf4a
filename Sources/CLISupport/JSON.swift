import CRDT

/// JSON values are lib0 `any` values: the product has one JSON model (`YAny`, objects in key
/// order), one reader (`YAny.parseJSON`: exact numbers, bounded nesting) and one writer
/// (`YAny.jsonText`, what `JSON.stringify` writes). The CLI adds only a pretty layout for people.
package typealias JSON = YAny

extension YAny {
    /// An integer value.
    package static func int(_ n: Int) -> YAny { .integer(Int64(n)) }
    /// An integer value.
    package static func int(_ n: Int64) -> YAny { .integer(n) }
    /// An unsigned integer (beyond `Int64.max` only as a float, as JavaScript would hold it).
    package static func uint(_ n: UInt64) -> YAny { n <= UInt64(Int64.max) ? .integer(Int64(n)) : .float64(Double(n)) }
    /// A number (non-finite values are written as `null`, as `JSON.stringify` does).
    package static func double(_ d: Double) -> YAny { .float64(d) }

    /// Compact JSON (`jsonText`), or indented by two spaces down to `prettyDepth` levels of
    /// nesting (deeper values stay on one line).
    package func rendered(pretty: Bool = false, prettyDepth: Int = .max) -> String {
        guard pretty, prettyDepth > 0 else { return jsonText }
        var out = ""
        writePretty(to: &out, indent: 0, depthLeft: prettyDepth)
        return out
    }

    private func writePretty(to out: inout String, indent: Int, depthLeft: Int) {
        let pad = String(repeating: "  ", count: indent + 1)
        switch self {
        case let .array(items) where depthLeft > 0 && !items.isEmpty:
            out += "["
            for (i, item) in items.enumerated() {
                out += (i > 0 ? ",\n" : "\n") + pad
                item.writePretty(to: &out, indent: indent + 1, depthLeft: depthLeft - 1)
            }
            out += "\n" + String(repeating: "  ", count: indent) + "]"
        case let .object(fields) where depthLeft > 0 && fields.contains(where: { $0.1 != .undefined }):
            out += "{"
            var first = true
            for (key, value) in fields where value != .undefined {
                out += (first ? "\n" : ",\n") + pad + YAny.string(key).jsonText + ":"
                first = false
                value.writePretty(to: &out, indent: indent + 1, depthLeft: depthLeft - 1)
            }
            out += "\n" + String(repeating: "  ", count: indent) + "}"
        default:
            out += jsonText
        }
    }
}
