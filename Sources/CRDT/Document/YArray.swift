/// An array type: a list of values and nested types.
public struct YArray {
    let doc: YDoc
    let type: Int32

    /// Number of elements (deleted ones not counted).
    public var count: Int { doc.store.types[Int(type)].length }

    /// Inserts JSON-like values; consecutive values share one item, as in Yjs.
    public func insert(at index: Int, _ values: [YAny]) throws(YDocError) {
        guard !values.isEmpty else { return }
        try doc.mutate { (s: inout DocStore) throws(YDocError) in try s.listInsert(type, at: index, contents: [.any(values)], skipDeleted: false) }
    }

    /// Appends JSON-like values at the end.
    public func push(_ values: [YAny]) {
        try? insert(at: count, values)
    }

    /// Inserts binary content (Yjs `Uint8Array`) at `index`; throws `.indexOutOfRange` past `count`.
    public func insertBinary(at index: Int, _ bytes: [UInt8]) throws(YDocError) {
        try doc.mutate { (s: inout DocStore) throws(YDocError) in try s.listInsert(type, at: index, contents: [.binary(bytes)], skipDeleted: false) }
    }

    /// Inserts a new empty nested text at `index` and returns it; throws `.indexOutOfRange` past `count`.
    @discardableResult public func insertText(at index: Int) throws(YDocError) -> YText {
        YText(doc: doc, type: try nested(index, .text))
    }

    /// Inserts a new empty nested map at `index` and returns it; throws `.indexOutOfRange` past `count`.
    @discardableResult public func insertMap(at index: Int) throws(YDocError) -> YMap {
        YMap(doc: doc, type: try nested(index, .map))
    }

    /// Inserts a new empty nested array at `index` and returns it; throws `.indexOutOfRange` past `count`.
    @discardableResult public func insertArray(at index: Int) throws(YDocError) -> YArray {
        YArray(doc: doc, type: try nested(index, .array))
    }

    private func nested(_ index: Int, _ ref: YTypeRef) throws(YDocError) -> Int32 {
        let before = doc.store.types.count
        try doc.mutate { (s: inout DocStore) throws(YDocError) in try s.listInsert(type, at: index, contents: [.type(ref)], skipDeleted: false) }
        return Int32(before)
    }

    /// Deletes `count` elements from `index`; throws `.indexOutOfRange` when the range passes the end.
    public func delete(at index: Int, count: Int) throws(YDocError) {
        try doc.mutate { (s: inout DocStore) throws(YDocError) in try s.listDelete(type, at: index, count: count) }
    }

    /// The element at `index`, nil when out of range.
    public func get(_ index: Int) -> YValue? {
        guard index >= 0, index < count else { return nil }
        let (ref, start) = doc.store.findVisible(type, unit: index)
        return doc.store.value(of: ref, at: index - start, doc: doc)
    }

    /// Every element, in order.
    public func toArray() -> [YValue] {
        var out: [YValue] = []
        for ref in doc.store.listItems(type) {
            for k in 0..<Int(doc.store.items[Int(ref)].length) { out.append(doc.store.value(of: ref, at: k, doc: doc)) }
        }
        return out
    }

    /// The array as a plain array, nested types rendered (see `YValue.toAny()`).
    public func toAny() throws(YValue.RenderError) -> YAny { try toAny(depth: 0) }

    func toAny(depth: Int) throws(YValue.RenderError) -> YAny {
        guard depth <= YValue.maxRenderDepth else { throw .tooDeep(limit: YValue.maxRenderDepth) }
        var items: [YAny] = []
        for value in toArray() { items.append(try value.toAny(depth: depth)) }
        return .array(items)
    }
}
