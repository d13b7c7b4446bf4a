/// A text type: a list of UTF-16 code units (plus embeds and formatting markers from Yjs peers).
public struct YText {
    let doc: YDoc
    let type: Int32

    /// Length in UTF-16 code units.
    public var length: Int { doc.store.types[Int(type)].length }

    /// The visible string (embeds and formatting markers are not part of it, as in Yjs).
    public var string: String {
        var units: [UInt16] = []
        units.reserveCapacity(length)
        var r = doc.store.types[Int(type)].start
        while r != noItem {
            let rec = doc.store.items[Int(r)]
            if !rec.isDeleted && rec.kind == .string {
                let s = Int(rec.content)
                units.append(contentsOf: doc.store.textUnits[s..<s + Int(rec.length)])
            }
            r = rec.right
        }
        return String(decoding: units, as: UTF16.self)
    }

    /// Inserts `text` at UTF-16 offset `index`.
    public func insert(at index: Int, _ text: String) throws(YDocError) {
        let units = Array(text.utf16)
        guard !units.isEmpty else { return }
        try doc.mutate { (s: inout DocStore) throws(YDocError) in try s.listInsert(type, at: index, contents: [.string(units)], skipDeleted: true) }
    }

    /// Deletes `count` UTF-16 code units starting at `index`.
    public func delete(at index: Int, count: Int) throws(YDocError) {
        try doc.mutate { (s: inout DocStore) throws(YDocError) in try s.listDelete(type, at: index, count: count) }
    }

    /// Converts an offset in Unicode scalars (code points) to UTF-16 units. O(n).
    public func utf16Offset(ofCharacterOffset n: Int) -> Int {
        var units = 0
        var scalars = 0
        for s in string.unicodeScalars {
            if scalars == n { break }
            units += s.utf16.count
            scalars += 1
        }
        return units
    }
}
