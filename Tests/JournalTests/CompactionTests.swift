import CRDT
@testable import Journal
import TestSupport
import Testing

@Suite(.ownThread) struct CompactionTests {
    @Test(arguments: [true, false])
    func compactionPreservesContentExactly(retain: Bool) throws {
        var rng = SeededRandom(seed: 42)
        let dir = TempDir()
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, options: manualOptions(retainHistory: retain))
        for _ in 0..<300 { try jd.edit { try randomEdit($0, &rng) } }
        let before = DocSummary(jd.doc)
        let state = jd.doc.encodeStateAsUpdate()
        let last = jd.journal.lastSeq
        #expect(last > 250)  // some random edits change nothing
        #expect(try jd.journal.compact(document: jd.doc) == last)
        #expect(try jd.journal.compact(document: jd.doc) == nil)  // nothing new
        let stats = try jd.journal.stats()
        #expect(stats.snapshots == 1 && stats.lastSnapshotSeq == last && stats.tailRows == 0)
        #expect(stats.rows == (retain ? Int(last) : 0))
        jd.close()

        let j = try Journal.open(path: dir.file("store.ysync"))
        let doc = YDoc()
        let report = try j.load(into: doc)
        #expect(report.snapshotSeq == last && report.rowsApplied == 0 && report.quarantined.isEmpty)
        #expect(DocSummary(doc) == before)
        #expect(doc.encodeStateAsUpdate() == state)
    }

    @Test func documentLessCompaction() throws {
        var rng = SeededRandom(seed: 43)
        let dir = TempDir()
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, options: manualOptions(retainHistory: false))
        for _ in 0..<120 { try jd.edit { try randomEdit($0, &rng) } }
        let before = DocSummary(jd.doc)
        let last = jd.journal.lastSeq
        jd.close()
        let j = try Journal.open(path: dir.file("store.ysync"), options: manualOptions(retainHistory: false))
        #expect(try j.compact() == last)
        #expect(try j.compact() == nil)
        let doc = YDoc()
        _ = try j.load(into: doc)
        #expect(DocSummary(doc) == before)
        #expect(try j.stats().rows == 0)
    }

    /// Compaction interleaved with appends, thresholds small, retention on and off, reopened
    /// at random points: nothing is lost and the journal stays healthy.
    @Test(arguments: TestEnvironment.seeds(base: 4, salt: 200))
    func compactionInterleavedWithAppends(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let dir = TempDir()
        var options = JournalOptions()
        options.durability = .normal
        options.compactAfterRows = rng.int(3...20)
        options.retainHistory = rng.chance(0.5)
        var jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, options: options)
        var compactions = 0
        for step in 0..<400 {
            try jd.edit { try randomEdit($0, &rng) }
            if rng.chance(0.3) {
                let before = try jd.journal.stats().snapshots
                try jd.compactIfNeeded()
                if try jd.journal.stats().snapshots != before || !options.retainHistory { compactions += 1 }
            }
            if rng.chance(0.02) {
                let summary = DocSummary(jd.doc)
                jd.close()
                jd = try JournaledDocument.open(path: dir.file("store.ysync"), options: options)
                #expect(DocSummary(jd.doc) == summary, "seed \(seed) step \(step)")
                #expect(jd.loadReport.isComplete, "seed \(seed) step \(step)")
            }
        }
        #expect(compactions > 0)
        let summary = DocSummary(jd.doc)
        #expect(try jd.journal.check().isHealthy, "seed \(seed)")
        jd.close()
        let again = try JournaledDocument.open(path: dir.file("store.ysync"), options: options)
        #expect(DocSummary(again.doc) == summary, "seed \(seed)")
        if !options.retainHistory { #expect(try again.journal.stats().snapshots <= 1) }
    }

    @Test func thresholds() throws {
        let dir = TempDir()
        var options = manualOptions()
        options.compactAfterRows = 5
        var clock = 1000.0
        let j = try Journal.open(path: dir.file("store.ysync"), create: true, options: options)
        j.now = { clock }
        #expect(!j.needsCompaction)
        for i in 0..<4 { try j.append(sampleUpdate("\(i)")) }
        #expect(!j.needsCompaction)
        try j.append(sampleUpdate("x"))
        #expect(j.needsCompaction)
        #expect(try j.compact() == 5)
        #expect(!j.needsCompaction)

        // Age: the oldest tail row is older than compactAfterSeconds.
        var aged = manualOptions()
        aged.compactAfterSeconds = 60
        let k = try Journal.open(path: dir.file("aged"), create: true, options: aged)
        k.now = { clock }
        try k.append(sampleUpdate())
        #expect(!k.needsCompaction)
        clock += 61
        #expect(k.needsCompaction)

        // Bytes: the tail's raw bytes reach the snapshot's.
        var bytes = manualOptions()
        bytes.compactWhenTailBytesExceedSnapshot = true
        let b = try Journal.open(path: dir.file("bytes"), create: true, options: bytes)
        try b.append(sampleUpdate("a"))
        #expect(!b.needsCompaction)  // no snapshot yet: rows and age decide
        #expect(try b.compact() == 1)
        let snapshotBytes = try #require(try b.stats().lastSnapshotRawBytes)
        var tailBytes = 0
        while tailBytes < snapshotBytes {
            #expect(!b.needsCompaction)
            let u = sampleUpdate("more")
            try b.append(u)
            tailBytes += u.count
        }
        #expect(b.needsCompaction)
    }
}
