/// A map type: per key a chain of items whose rightmost one holds the value.
public struct YMap {
    let doc: YDoc
    let type: Int32

    private func liveEntries() -> [(String, ItemRef)] {
        doc.store.types[Int(type)].map.compactMap { k, ref in
            doc.store.items[Int(ref)].isDeleted ? nil : (doc.store.keys[Int(k)], ref)
        }
    }

    public var count: Int { liveEntries().count }
    public var keys: [String] { liveEntries().map(\.0).sorted() }

    public func get(_ key: String) -> YValue? {
        guard let k = doc.store.keyIndex[key], let ref = doc.store.types[Int(type)].map[k], !doc.store.items[Int(ref)].isDeleted else {
            return nil
        }
        return doc.store.value(of: ref, at: Int(doc.store.items[Int(ref)].length) - 1, doc: doc)
    }

    public func set(_ key: String, _ value: YAny) {
        _ = doc.mutate { $0.mapSet(type, key: key, content: .any([value])) }
    }

    public func setBinary(_ key: String, _ bytes: [UInt8]) {
        _ = doc.mutate { $0.mapSet(type, key: key, content: .binary(bytes)) }
    }

    @discardableResult public func setText(_ key: String) -> YText {
        YText(doc: doc, type: nested(key, .text))
    }

    @discardableResult public func setMap(_ key: String) -> YMap {
        YMap(doc: doc, type: nested(key, .map))
    }

    @discardableResult public func setArray(_ key: String) -> YArray {
        YArray(doc: doc, type: nested(key, .array))
    }

    private func nested(_ key: String, _ ref: YTypeRef) -> Int32 {
        let item = doc.mutate { $0.mapSet(type, key: key, content: .type(ref)) }
        return doc.store.items[Int(item)].content
    }

    public func delete(_ key: String) {
        doc.mutate { $0.mapDelete(type, key: key) }
    }

    public func toAny() -> YAny {
        .object(liveEntries().sorted { $0.0 < $1.0 }.map { key, ref in
            (key, doc.store.value(of: ref, at: Int(doc.store.items[Int(ref)].length) - 1, doc: doc).toAny())
        })
    }
}
