import CRDT
@testable import Journal
import TestSupport
import Testing

@Suite(.ownThread) struct RoundTripTests {
    /// Random local edits and remote updates, reopened several times: the reloaded document
    /// equals the one that was edited (content and state vector), and keeps its client id.
    @Test(arguments: TestEnvironment.seeds(base: 6, salt: 100))
    func randomSessionsSurviveReopen(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let dir = TempDir()
        var options = manualOptions()
        options.durability = rng.chance(0.5) ? .full : .normal
        var expected: DocSummary?
        var clientID: ClientID = 0
        for session in 0..<4 {
            let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: session == 0, clientID: session == 0 ? 1234 : nil, options: options)
            #expect(jd.loadReport.isComplete, "seed \(seed)")
            if let expected { #expect(DocSummary(jd.doc) == expected, "seed \(seed) session \(session)") }
            if session == 0 { clientID = jd.clientID }
            #expect(jd.clientID == clientID, "seed \(seed): the client id survives reopening")
            let remote = try remoteUpdates(&rng, client: 900 + ClientID(session), count: 5)
            for _ in 0..<rng.int(20...60) {
                if rng.chance(0.15), let u = remote.randomElement(using: &rng) {
                    try jd.apply(u)
                } else {
                    let seq = try jd.edit { doc in try randomEdit(doc, &rng) }
                    if let seq { #expect(seq == jd.journal.lastSeq) }
                }
            }
            expected = DocSummary(jd.doc)
            jd.close()
        }
        let j = try Journal.open(path: dir.file("store.ysync"))
        let doc = YDoc()
        let report = try j.load(into: doc)
        #expect(report.quarantined.isEmpty && report.snapshotSeq == nil)
        #expect(DocSummary(doc) == expected, "seed \(seed)")
        #expect(try j.check().isHealthy)
    }

    @Test func editReturnsNilWhenNothingChanged() throws {
        let dir = TempDir()
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, clientID: 77)
        #expect(try jd.edit { _ in } == nil)
        #expect(try jd.edit { try $0.getText("t").insert(at: 0, "a") } == 1)
        #expect(try jd.apply(jd.doc.encodeStateAsUpdate()) == nil)  // nothing new
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try jd.edit { doc in
                try doc.getText("t").insert(at: 1, "b")
                throw Stop()
            }
        }
        // The change made before the error is journaled all the same.
        jd.close()
        let again = try JournaledDocument.open(path: dir.file("store.ysync"))
        #expect(again.doc.getText("t").string == "ab")
        #expect(again.clientID == 77)
        again.close()  // one writer at a time
        #expect(throws: JournalError.clientIDMismatch(stored: 77, requested: 78)) {
            try JournaledDocument.open(path: dir.file("store.ysync"), clientID: 78)
        }
    }

    /// A remote update with structs of our own client id (another replica using it): the
    /// document picks a new id, as Yjs does, and the store remembers it.
    @Test func clientIDCollisionIsRemembered() throws {
        let dir = TempDir()
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, clientID: 99)
        try jd.edit { try $0.getText("t").insert(at: 0, "mine") }
        let impostor = YDoc(clientID: 99)
        // Inside a local transaction, so that the impostor keeps id 99 (a remote one would not).
        try impostor.transact { try impostor.applyUpdate(jd.doc.encodeStateAsUpdate()) }
        #expect(impostor.clientID == 99)
        var u: [UInt8] = []
        impostor.observeUpdate { u = $0.update }
        try impostor.getText("t").insert(at: 4, "!")
        #expect(try jd.apply(u) != nil)
        #expect(jd.clientID != 99)
        let newID = jd.clientID
        jd.close()
        let again = try JournaledDocument.open(path: dir.file("store.ysync"))
        #expect(again.clientID == newID)
        #expect(again.doc.getText("t").string == "mine!")
    }

    @Test func directEditsAreFlushed() throws {
        let dir = TempDir()
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true)
        try jd.doc.getText("t").insert(at: 0, "direct")
        #expect(try jd.flush() == [1])
        try jd.doc.getText("t").insert(at: 0, ">")
        #expect(try jd.edit { try $0.getText("t").insert(at: 0, "!") } == 3)
        jd.close()
        #expect(try JournaledDocument.open(path: dir.file("store.ysync")).doc.getText("t").string == "!>direct")
    }

    /// Two updates of client 500: "abc", then "def" after it (the second waits for the first).
    static func abcThenDef() throws -> [[UInt8]] {
        let other = YDoc(clientID: 500)
        var updates: [[UInt8]] = []
        other.observeUpdate { updates.append($0.update) }
        try other.getText("t").insert(at: 0, "abc")
        try other.getText("t").insert(at: 3, "def")
        return updates
    }

    @Test func pendingUpdatesAreKept() throws {
        let dir = TempDir()
        let updates = try Self.abcThenDef()
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true)
        // The second update first: it waits for the first.
        #expect(try jd.apply(updates[1]) != nil)
        #expect(jd.doc.hasPending)
        jd.close()
        let jd2 = try JournaledDocument.open(path: dir.file("store.ysync"))
        #expect(jd2.loadReport.hasPending)
        try jd2.apply(updates[0])
        #expect(jd2.doc.getText("t").string == "abcdef")
        jd2.close()
        let jd3 = try JournaledDocument.open(path: dir.file("store.ysync"))
        #expect(jd3.doc.getText("t").string == "abcdef" && !jd3.doc.hasPending)
        #expect(throws: JournalError.self) { try jd3.apply([9, 9, 9]) }
    }

    /// Found by RoomFuzz: with a part parked, every update (even one that brings nothing, as a
    /// step 2 carrying the peer's copy of the parked part) was journaled and counted as a change,
    /// so a durable-ack server and a Yjs client answered each other for ever.
    @Test func anUpdateThatChangesNothingWhileAPartWaitsIsNotAChange() throws {
        let dir = TempDir()
        let updates = try Self.abcThenDef()
        let jd = try JournaledDocument.open(path: dir.file("store.ysync"), create: true)
        let parked = try #require(try jd.apply(updates[1]))
        let pending = jd.doc.pendingUpdate
        #expect(pending != nil)
        // Again, and as the peer's step 2 would carry it (its state with the parked part merged).
        #expect(try jd.apply(updates[1]) == nil)
        #expect(try jd.apply(try #require(pending)) == nil)
        #expect(try jd.apply(YDoc(clientID: 7).encodeStateAsUpdate()) == nil)
        #expect(jd.doc.pendingUpdate == pending)
        // What fills the gap is still a change, and the parked part then integrates.
        let filled = try #require(try jd.apply(updates[0]))
        #expect(filled > parked && jd.doc.getText("t").string == "abcdef" && jd.doc.pendingUpdate == nil)
        jd.close()
    }
}
