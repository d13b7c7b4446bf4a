/// Code-point positions and whole-content replacement for `YText`.
///
/// A text is seen here as a sequence of symbols: one per Unicode scalar (code point) of its
/// string content, plus one opaque symbol per element of content that is not text (an embed or a
/// nested type from a Yjs peer) and per unpaired surrogate. Code-point positions count symbols;
/// `YText`'s own positions count UTF-16 units. Opaque symbols never equal a scalar, so a diff
/// against a plain string always deletes them.
extension YText {
    /// The symbol standing for one unit of non-text content or an unpaired surrogate.
    static let opaqueSymbol: UInt32 = 0x11_0000

    /// UTF-16 units taken by a symbol.
    @inline(__always) static func utf16Width(_ symbol: UInt32) -> Int {
        symbol >= 0x1_0000 && symbol < opaqueSymbol ? 2 : 1
    }

    /// The visible content as symbols (see above), in order.
    func symbols() -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(length)
        var high: UInt16 = 0  // a high surrogate waiting for its low half (0: none)
        var r = doc.store.types[Int(type)].start
        while r != noItem {
            let rec = doc.store.items[Int(r)]
            if rec.visibleLength > 0 {
                if rec.kind == .string {
                    let start = Int(rec.content)
                    for unit in doc.store.textUnits[start..<start + Int(rec.length)] {
                        if high != 0 {
                            if unit & 0xFC00 == 0xDC00 {
                                out.append(0x1_0000 + ((UInt32(high) - 0xD800) << 10) + (UInt32(unit) - 0xDC00))
                                high = 0
                                continue
                            }
                            out.append(Self.opaqueSymbol)
                            high = 0
                        }
                        switch unit & 0xFC00 {
                        case 0xD800: high = unit
                        case 0xDC00: out.append(Self.opaqueSymbol)
                        default: out.append(UInt32(unit))
                        }
                    }
                } else {
                    if high != 0 {
                        out.append(Self.opaqueSymbol)
                        high = 0
                    }
                    out.append(contentsOf: repeatElement(Self.opaqueSymbol, count: Int(rec.length)))
                }
            }
            r = rec.right
        }
        if high != 0 { out.append(Self.opaqueSymbol) }
        return out
    }

    /// Length in code points (an embed, a nested type or an unpaired surrogate counts as one). O(n).
    public var codePointCount: Int { symbols().count }

    /// The UTF-16 offset of code-point position `n` (0...codePointCount), or nil when `n` is
    /// outside the text. O(n).
    public func utf16Offset(ofCodePoint n: Int) -> Int? {
        guard n >= 0 else { return nil }
        let s = symbols()
        guard n <= s.count else { return nil }
        var units = 0
        for i in 0..<n { units += Self.utf16Width(s[i]) }
        return units
    }

    /// Inserts `text` at code-point position `position`. Throws `indexOutOfRange` (in code points)
    /// and changes nothing when the position is past the end.
    public func insert(atCodePoint position: Int, _ text: String) throws(YDocError) {
        let s = symbols()
        guard position >= 0, position <= s.count else {
            throw .indexOutOfRange(index: position, length: s.count)
        }
        var at = 0
        for i in 0..<position { at += Self.utf16Width(s[i]) }
        try insert(at: at, text)
    }

    /// Deletes `count` code points from `position`. Throws `indexOutOfRange` (in code points) and
    /// changes nothing when the range does not fit the text.
    public func delete(atCodePoint position: Int, count: Int) throws(YDocError) {
        let s = symbols()
        guard position >= 0, count >= 0, position <= s.count, count <= s.count - position else {
            throw .indexOutOfRange(index: max(position, 0) + max(count, 0), length: s.count)
        }
        var at = 0
        for i in 0..<position { at += Self.utf16Width(s[i]) }
        var units = 0
        for i in position..<position + count { units += Self.utf16Width(s[i]) }
        try delete(at: at, count: units)
    }

    /// Makes the content equal to `newText` with a minimal set of deletions and insertions (a
    /// code-point diff, see `TextDiff`), all in one transaction (joining an open one). Text that
    /// the change leaves alone keeps its identity, so concurrent edits there survive a merge.
    ///
    /// Returns the hunks applied, in code points of the old and new content (empty: no change).
    @discardableResult
    public func replace(with newText: String, budget: Int = TextDiff.defaultBudget) -> [TextDiff.Hunk] {
        let old = symbols()
        let new = TextDiff.scalars(newText)
        let hunks = TextDiff.hunks(from: old, to: new, budget: budget)
        if hunks.isEmpty { return [] }
        let t = type
        doc.transact {
            var oldPos = 0  // symbols of the old content consumed
            var old16 = 0   // UTF-16 offset of oldPos in the old content
            var shift = 0   // UTF-16 length change applied so far (left of the current hunk)
            var units: [UInt16] = []
            for h in hunks {
                while oldPos < h.oldRange.lowerBound {
                    old16 += Self.utf16Width(old[oldPos])
                    oldPos += 1
                }
                var deleted = 0
                while oldPos < h.oldRange.upperBound {
                    deleted += Self.utf16Width(old[oldPos])
                    oldPos += 1
                }
                units.removeAll(keepingCapacity: true)
                for v in new[h.newRange] {
                    // `new` holds the scalars of a String: always valid.
                    for u in Unicode.Scalar(v)!.utf16 { units.append(u) }
                }
                let at = old16 + shift
                do {
                    if deleted > 0 {
                        try doc.mutate { (s: inout DocStore) throws(YDocError) in try s.listDelete(t, at: at, count: deleted) }
                    }
                    if !units.isEmpty {
                        let contents: [YContent] = [.string(units)]
                        try doc.mutate { (s: inout DocStore) throws(YDocError) in try s.listInsert(t, at: at, contents: contents, skipDeleted: true) }
                    }
                } catch {
                    // Offsets come from the content itself: they are always in range.
                    preconditionFailure("YText.replace: \(error)")
                }
                old16 += deleted
                shift += units.count - deleted
            }
        }
        return hunks
    }
}
