import CMallocInfo
import CRDT

/// Replays a sequential trace into a `YDoc`: one transaction per patch (delete, then insert),
/// code-point positions converted to UTF-16 with a `CodePointIndex` as the replay goes.
public enum TraceReplay {
    /// Applies `trace` to the root text `textName` of `doc` (which should be empty), starting
    /// with `startContent` as a transaction of its own when the trace has one. Returns the index,
    /// which describes the final text.
    @discardableResult
    public static func replay(_ trace: Trace, into doc: YDoc, textName: String) throws -> CodePointIndex {
        let text = doc.getText(textName)
        var index = CodePointIndex()
        if !trace.startContent.isEmpty {
            _ = index.splice(at: 0, deleting: 0, inserting: trace.startContent)
            try doc.transact { try text.insert(at: 0, trace.startContent) }
        }
        for i in trace.patches.indices {
            let patch = trace.patches[i]
            guard let r = index.splice(at: patch.position, deleting: patch.deleteCount, inserting: patch.insert) else {
                throw TraceError.patchOutOfRange(patch: i, position: patch.position,
                                                 deleteCount: patch.deleteCount, length: index.count)
            }
            try doc.transact {
                if r.utf16DeleteCount > 0 { try text.delete(at: r.utf16Position, count: r.utf16DeleteCount) }
                if !patch.insert.isEmpty { try text.insert(at: r.utf16Position, patch.insert) }
            }
        }
        return index
    }

    /// The same replay on a plain UTF-16 buffer: the reference the CRDT replay is checked against.
    public static func replayPlain(_ trace: Trace) throws(TraceError) -> [UInt16] {
        var units = Array(trace.startContent.utf16)
        var index = CodePointIndex(trace.startContent)
        for i in trace.patches.indices {
            let patch = trace.patches[i]
            guard let r = index.splice(at: patch.position, deleting: patch.deleteCount, inserting: patch.insert) else {
                throw .patchOutOfRange(patch: i, position: patch.position, deleteCount: patch.deleteCount, length: index.count)
            }
            units.replaceSubrange(r.utf16Position..<(r.utf16Position + r.utf16DeleteCount), with: patch.insert.utf16)
        }
        return units
    }

    /// Throws a `TraceError.mismatch` naming the first difference unless `actual` equals `expected`
    /// scalar for scalar (no Unicode normalisation, unlike `String ==`).
    public static func checkText(_ actual: String, equals expected: String, what: String) throws(TraceError) {
        if actual.utf8.elementsEqual(expected.utf8) { return }
        let a = Array(actual.unicodeScalars), e = Array(expected.unicodeScalars)
        var i = 0
        while i < a.count && i < e.count && a[i] == e[i] { i += 1 }
        func around(_ s: [Unicode.Scalar]) -> String {
            let lo = max(0, i - 20), hi = min(s.count, i + 20)
            var v = String.UnicodeScalarView()
            v.append(contentsOf: s[lo..<hi])
            return String(v).debugDescription
        }
        throw .mismatch("\(what) differs from endContent at code point \(i) (lengths \(a.count) vs \(e.count)): "
            + "got …\(around(a))…, expected …\(around(e))…")
    }
}

/// Heap figures from glibc's allocator (which Swift uses on Linux).
public enum Heap {
    /// Bytes of heap in use (mallinfo2 uordblks + hblkhd); 0 where unavailable.
    public static func bytesInUse() -> Int { Int(ysync_heap_bytes_in_use()) }
}
