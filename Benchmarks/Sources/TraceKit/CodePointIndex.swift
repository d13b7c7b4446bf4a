/// Follows a text being edited with code-point positions and converts those positions to UTF-16
/// offsets (what `YText` takes) without looking at the text itself.
///
/// It keeps only the sorted code-point positions of the astral (non-BMP) scalars currently in the
/// text: a position's UTF-16 offset is the position plus the number of astral scalars before it,
/// found by binary search. With no astral scalar in the text (the usual case) a conversion is
/// O(1); a splice costs O(inserted text) plus a shift of the astral positions after it.
public struct CodePointIndex: Sendable, Equatable {
    /// Sorted code-point positions of the astral scalars in the text.
    public private(set) var astralPositions: [Int] = []
    /// Length of the text in code points.
    public private(set) var count: Int = 0

    /// Length of the text in UTF-16 code units.
    public var utf16Count: Int { count + astralPositions.count }

    public init() {}

    /// An index for a text that starts as `text`.
    public init(_ text: String) {
        _ = splice(at: 0, deleting: 0, inserting: text)
    }

    /// How many astral scalars lie before code-point position `p`.
    @inline(__always)
    func astralCount(before p: Int) -> Int {
        guard let last = astralPositions.last else { return 0 }
        if last < p { return astralPositions.count }  // typing at the end, or no astral scalar after p
        var lo = 0, hi = astralPositions.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if astralPositions[mid] < p { lo = mid &+ 1 } else { hi = mid }
        }
        return lo
    }

    /// The UTF-16 offset of code-point position `p` (0...count).
    @inline(__always)
    public func utf16Offset(ofCodePoint p: Int) -> Int {
        p + astralCount(before: p)
    }

    /// Records the splice "delete `deleteCount` code points at `position`, then insert `text`
    /// there" and returns where that is in UTF-16 units, or nil (and changes nothing) when the
    /// range does not fit the text.
    public mutating func splice(at position: Int, deleting deleteCount: Int, inserting text: String)
        -> (utf16Position: Int, utf16DeleteCount: Int)?
    {
        guard position >= 0, deleteCount >= 0, position <= count, deleteCount <= count - position else {
            return nil
        }
        // Code points of the insert, and where its astral scalars go. In UTF-8 a scalar starts at
        // every byte that is not a continuation byte (10xxxxxx); astral ones start with 11110xxx.
        var inserted = 0
        var newAstral: [Int] = []
        for byte in text.utf8 {
            if byte & 0xC0 != 0x80 {
                if byte >= 0xF0 { newAstral.append(position + inserted) }
                inserted &+= 1
            }
        }

        if astralPositions.isEmpty && newAstral.isEmpty {
            count += inserted - deleteCount
            return (position, deleteCount)
        }

        let lo = astralCount(before: position)
        let hi = deleteCount == 0 ? lo : astralCount(before: position + deleteCount)
        let result = (utf16Position: position + lo, utf16DeleteCount: deleteCount + (hi - lo))

        let delta = inserted - deleteCount
        if lo != hi || !newAstral.isEmpty {
            astralPositions.replaceSubrange(lo..<hi, with: newAstral)
        }
        if delta != 0 {
            var i = lo + newAstral.count
            let n = astralPositions.count
            while i < n {
                astralPositions[i] &+= delta
                i &+= 1
            }
        }
        count += delta
        return result
    }
}
