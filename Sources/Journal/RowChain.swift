/// Follows the `prev_seq` links of a document's rows: each row names the seq of the row written
/// before it, so a row deleted from the middle or the end of the journal is noticed even though
/// seqs are shared by all documents of a store.
struct RowChain {
    /// Seqs in quarantine: a link may point at one of them.
    let quarantined: Set<Int64>
    /// Rows up to this seq are covered by the snapshot the walk starts from.
    let base: Int64
    private(set) var lastSeen: Int64?
    private(set) var problems: [QuarantinedEntry] = []

    init(quarantined: Set<Int64>, base: Int64) {
        self.quarantined = quarantined
        self.base = base
    }

    mutating func visit(seq: Int64, prev: Int64) {
        defer { lastSeen = seq }
        if quarantined.contains(prev) { return }
        if let last = lastSeen {
            if prev == last { return }
            if prev > last && prev < seq {
                problems.append(QuarantinedEntry(kind: "missing", seq: prev,
                    reason: "row \(seq) follows row \(prev), which is not in the journal (rows after \(last) are missing)"))
            } else {
                problems.append(QuarantinedEntry(kind: "missing", seq: prev,
                    reason: "row \(seq) names row \(prev) as its predecessor, but row \(last) precedes it (the journal was altered)"))
            }
        } else if prev > base {
            problems.append(QuarantinedEntry(kind: "missing", seq: prev,
                reason: "row \(seq) follows row \(prev), which is not in the journal (rows after \(base) are missing)"))
        }
    }

    /// `expectedLast`: the seq the document's last row (within the walked range) should have.
    mutating func finish(expectedLast: Int64?) {
        guard let expected = expectedLast else { return }
        let reached = lastSeen ?? base
        if expected > reached && !quarantined.contains(expected) {
            problems.append(QuarantinedEntry(kind: "missing", seq: expected,
                reason: "the document's rows run to seq \(expected), but the last one present is \(reached) (rows after \(reached) are missing)"))
        }
    }
}
