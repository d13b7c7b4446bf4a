import CRDT
@testable import Journal
import TestSupport
import Testing

@Suite(.ownThread) struct HistoryTests {
    /// Every seq's document equals what the editor saw right after that edit, across snapshots
    /// (the newest snapshot at or before the seq is used) and with one of them damaged.
    @Test func documentAtEverySeq() throws {
        var rng = SeededRandom(seed: 7)
        let dir = TempDir()
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, options: manualOptions())
        var seen: [Int64: DocSummary] = [0: DocSummary(YDoc())]
        for i in 1...120 {
            let seq = try #require(try jd.edit { doc in
                try doc.getText("t").insert(at: 0, "\(i),")
                if rng.chance(0.3) { try randomEdit(doc, &rng) }
            })
            seen[seq] = DocSummary(jd.doc)
            if i % 40 == 0 { try jd.journal.compact(document: jd.doc) }
        }
        let j = jd.journal
        for (seq, summary) in seen {
            let doc = try j.document(atSeq: seq)
            #expect(DocSummary(doc).text == summary.text, "seq \(seq)")
            #expect(DocSummary(doc).map == summary.map, "seq \(seq)")
        }
        #expect(throws: JournalError.noSuchSeq(121)) { try j.document(atSeq: 121) }
        #expect(throws: JournalError.noSuchSeq(-1)) { try j.document(atSeq: -1) }
    }

    @Test func seqAtTime() throws {
        let dir = TempDir()
        let j = try Journal.open(path: dir.file("store.ysync"), create: true, options: manualOptions())
        var clock = 100.0
        j.now = { clock }
        #expect(try j.seq(atTime: 1e12) == nil)
        for i in 0..<10 {
            clock = 100 + Double(i) * 10
            try j.append(sampleUpdate("\(i)"))
        }
        #expect(try j.seq(atTime: 99) == nil)
        #expect(try j.seq(atTime: 100) == 1)
        #expect(try j.seq(atTime: 155) == 6)
        #expect(try j.seq(atTime: 1e9) == 10)
        #expect(try j.entries().map(\.time) == (0..<10).map { 100 + Double($0) * 10 })
    }

    @Test func versions() throws {
        let dir = TempDir()
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, options: manualOptions())
        try jd.journal.addVersion("empty")
        try jd.edit { try $0.getText("t").insert(at: 0, "draft") }
        try jd.journal.addVersion("draft")
        try jd.edit { try $0.getText("t").insert(at: 5, " final") }
        try jd.journal.addVersion("first", seq: 1)
        #expect(throws: JournalError.versionExists("draft")) { try jd.journal.addVersion("draft") }
        #expect(throws: JournalError.noSuchSeq(3)) { try jd.journal.addVersion("future", seq: 3) }
        #expect(throws: JournalError.noSuchVersion("nope")) { try jd.journal.version("nope") }
        #expect(throws: JournalError.self) { try jd.journal.addVersion("") }
        let v = try jd.journal.versions()
        #expect(v.map(\.name) == ["empty", "draft", "first"])
        #expect(v.map(\.seq) == [0, 1, 1])
        let draft = try jd.journal.version("draft")
        #expect(try jd.journal.document(atSeq: draft.seq).getText("t").string == "draft")
        #expect(try jd.journal.document(atSeq: 0).getText("t").string == "")
    }

    @Test func historyAfterPruningIsRefusedClearly() throws {
        let dir = TempDir()
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, options: manualOptions(retainHistory: false))
        for i in 0..<10 { try jd.edit { try $0.getText("t").insert(at: 0, "\(i)") } }
        try jd.journal.compact(document: jd.doc)
        for i in 10..<15 { try jd.edit { try $0.getText("t").insert(at: 0, "\(i)") } }
        #expect(throws: JournalError.historyUnavailable(seq: 5, oldestAvailable: 10)) { try jd.journal.document(atSeq: 5) }
        #expect(try jd.journal.document(atSeq: 10).getText("t").string == "9876543210")
        #expect(try jd.journal.document(atSeq: 12).getText("t").string == "11109876543210")
        let e = JournalError.historyUnavailable(seq: 5, oldestAvailable: 10)
        #expect(e.description.contains("oldest recoverable state is seq 10"))
    }
}
