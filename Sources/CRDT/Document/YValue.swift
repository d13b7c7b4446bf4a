/// A value read from a map or array.
public enum YValue {
    /// A JSON-like value.
    case any(YAny)
    /// Binary content (Yjs `Uint8Array`).
    case binary([UInt8])
    /// A nested text.
    case text(YText)
    /// A nested map.
    case map(YMap)
    /// A nested array.
    case array(YArray)
    /// XML and other shared types we host but do not give an API to.
    case other(YTypeRef)
    /// A sub-document, by its guid (kept, not loaded).
    case doc(guid: String)
    /// An embed (content ref 5), as JSON text.
    case embed(String)

    /// How deep `toAny()` renders nested types; a peer can nest them without limit (100,000
    /// levels is a 1 MB update), and a `YAny` that deep could not even be freed without
    /// overflowing the stack.
    public static let maxRenderDepth = 1_000

    /// Why `toAny()` gave up.
    public enum RenderError: Error, Equatable, Sendable, CustomStringConvertible {
        /// Nested types go deeper than `YValue.maxRenderDepth`.
        case tooDeep(limit: Int)
        /// One line for a person.
        public var description: String {
            switch self {
            case let .tooDeep(limit): "nested types go deeper than \(limit) levels; render a part of the document"
            }
        }
    }

    /// A plain rendering: text as its string, maps as objects (keys sorted), arrays as arrays;
    /// throws `.tooDeep` past `maxRenderDepth` levels of nested types.
    public func toAny() throws(RenderError) -> YAny {
        try toAny(depth: 0)
    }

    func toAny(depth: Int) throws(RenderError) -> YAny {
        switch self {
        case let .any(a): return a
        case let .binary(b): return .bytes(b)
        case let .text(t): return .string(t.string)
        case let .map(m): return try m.toAny(depth: depth + 1)
        case let .array(a): return try a.toAny(depth: depth + 1)
        case let .other(ref): return .string("<\(ref)>")
        case let .doc(guid): return .object([("guid", .string(guid))])
        case let .embed(json): return .string(json)
        }
    }
}

extension DocStore {
    /// The value of the `offset`-th element of an item's content.
    func value(of ref: ItemRef, at offset: Int, doc: YDoc) -> YValue {
        let r = items[Int(ref)]
        switch r.kind {
        case .type:
            let t = r.content
            switch types[Int(t)].ref {
            case .text?, .xmlText?: return .text(YText(doc: doc, type: t))
            case .map?: return .map(YMap(doc: doc, type: t))
            case .array?: return .array(YArray(doc: doc, type: t))
            case let other?: return .other(other)
            case nil: return .other(.map)
            }
        case .string:
            return .any(.string(String(decoding: [textUnits[Int(r.content) + offset]], as: UTF16.self)))
        default:
            switch contents[Int(r.content)] {
            case let .any(values): return .any(values[offset])
            case let .json(texts): return .any((try? YAny.parseJSON(texts[offset])) ?? .undefined)
            case let .binary(b): return .binary(b)
            case let .doc(guid, _): return .doc(guid: guid)
            case let .embed(json): return .embed(json)
            default: return .any(.undefined)
            }
        }
    }
}
