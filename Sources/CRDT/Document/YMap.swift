/// A map type: per key a chain of items whose rightmost one holds the value.
public struct YMap {
    let doc: YDoc
    let type: Int32

    private func liveEntries() -> [(String, ItemRef)] {
        doc.store.types[Int(type)].map.compactMap { k, ref in
            doc.store.items[Int(ref)].isDeleted ? nil : (doc.store.keys[Int(k)], ref)
        }
    }

    /// Keys with a (not deleted) value.
    public var count: Int { liveEntries().count }
    /// Keys with a value, sorted.
    public var keys: [String] { liveEntries().map(\.0).sorted() }

    /// The value at `key`, nil when absent or deleted.
    public func get(_ key: String) -> YValue? {
        guard let k = doc.store.keyIndex[key], let ref = doc.store.types[Int(type)].map[k], !doc.store.items[Int(ref)].isDeleted else {
            return nil
        }
        return doc.store.value(of: ref, at: Int(doc.store.items[Int(ref)].length) - 1, doc: doc)
    }

    /// Sets `key` to a JSON-like value, in the open transaction or in one of its own.
    public func set(_ key: String, _ value: YAny) {
        _ = doc.mutate { $0.mapSet(type, key: key, content: .any([value])) }
    }

    /// Sets `key` to binary content (Yjs `Uint8Array`).
    public func setBinary(_ key: String, _ bytes: [UInt8]) {
        _ = doc.mutate { $0.mapSet(type, key: key, content: .binary(bytes)) }
    }

    /// Sets `key` to a new empty nested text and returns it.
    @discardableResult public func setText(_ key: String) -> YText {
        YText(doc: doc, type: nested(key, .text))
    }

    /// Sets `key` to a new empty nested map and returns it.
    @discardableResult public func setMap(_ key: String) -> YMap {
        YMap(doc: doc, type: nested(key, .map))
    }

    /// Sets `key` to a new empty nested array and returns it.
    @discardableResult public func setArray(_ key: String) -> YArray {
        YArray(doc: doc, type: nested(key, .array))
    }

    private func nested(_ key: String, _ ref: YTypeRef) -> Int32 {
        let item = doc.mutate { $0.mapSet(type, key: key, content: .type(ref)) }
        return doc.store.items[Int(item)].content
    }

    /// Deletes the value at `key`; nothing happens when there is none.
    public func delete(_ key: String) {
        doc.mutate { $0.mapDelete(type, key: key) }
    }

    /// The map as a plain object, keys sorted, nested types rendered (see `YValue.toAny()`).
    public func toAny() throws(YValue.RenderError) -> YAny { try toAny(depth: 0) }

    func toAny(depth: Int) throws(YValue.RenderError) -> YAny {
        guard depth <= YValue.maxRenderDepth else { throw .tooDeep(limit: YValue.maxRenderDepth) }
        var fields: [(String, YAny)] = []
        for (key, ref) in liveEntries().sorted(by: { $0.0 < $1.0 }) {
            let value = doc.store.value(of: ref, at: Int(doc.store.items[Int(ref)].length) - 1, doc: doc)
            fields.append((key, try value.toAny(depth: depth)))
        }
        return .object(fields)
    }
}
