import CRDT
import Foundation
@testable import Journal
import TestSupport

/// Options that never compact on their own.
func manualOptions(retainHistory: Bool = true, durability: Durability = .normal) -> JournalOptions {
    var o = JournalOptions()
    o.durability = durability
    o.retainHistory = retainHistory
    o.compactAfterRows = .max
    o.compactWhenTailBytesExceedSnapshot = false
    o.compactAfterSeconds = .infinity
    return o
}

/// What two documents are compared on: the root text, map and array, and the state vector.
struct DocSummary: Equatable, CustomStringConvertible {
    var text: String
    var map: YAny
    var array: YAny
    var stateVector: StateVector

    init(_ doc: YDoc) {
        text = doc.getText("t").string
        map = try! doc.getMap("m").toAny()
        array = try! doc.getArray("a").toAny()
        stateVector = doc.stateVector
    }

    var description: String { "text \(text.debugDescription) map \(map) array \(array) sv \(stateVector.clocks)" }
}

/// One random edit on the document's root types "t", "m", "a" (inside the caller's transaction).
func randomEdit(_ doc: YDoc, _ rng: inout SeededRandom) throws {
    let text = doc.getText("t")
    switch rng.weighted([6, 3, 2, 1, 1]) {
    case 0:
        let s = String((0..<rng.int(1...12)).map { _ in rng.pick(Array("abcdefghij é€😀\n")) })
        try text.insert(at: text.utf16Offset(ofCharacterOffset: rng.int(0...text.string.unicodeScalars.count)), s)
    case 1:
        let n = text.string.unicodeScalars.count
        guard n > 0 else { return }
        let at = rng.int(0..<n)
        let count = rng.int(1...min(8, n - at))
        let from = text.utf16Offset(ofCharacterOffset: at)
        let to = text.utf16Offset(ofCharacterOffset: at + count)
        try text.delete(at: from, count: to - from)
    case 2:
        doc.getMap("m").set("k\(rng.int(0..<6))", .integer(Int64(rng.int(0..<1000))))
    case 3:
        doc.getArray("a").push([.string("v\(rng.int(0..<100))")])
    default:
        let a = doc.getArray("a")
        if a.count > 0 { try a.delete(at: rng.int(0..<a.count), count: 1) }
    }
}

/// A few encoded updates from another client, to feed `apply`.
func remoteUpdates(_ rng: inout SeededRandom, client: ClientID, count: Int) throws -> [[UInt8]] {
    let other = YDoc(clientID: client)
    var out: [[UInt8]] = []
    other.observeUpdate { out.append($0.update) }
    for _ in 0..<count { try other.transact { try randomEdit(other, &rng) } }
    return out
}

func fileBytes(_ path: String) -> [UInt8] {
    (FileManager.default.contents(atPath: path)).map { [UInt8]($0) } ?? []
}

/// Direct SQL on a store, for tampering (the journal must be closed or checkpointed first).
func tamper(_ path: String, _ body: (SQLiteConnection) throws -> Void) throws {
    let db = try SQLiteConnection(path: path, mode: .readWrite)
    defer { db.close() }
    try body(db)
}

/// A tiny update (one insert by client 7).
func sampleUpdate(_ text: String = "hello") -> [UInt8] {
    let d = YDoc(clientID: 7)
    var u: [UInt8] = []
    d.observeUpdate { u = $0.update }
    try! d.getText("t").insert(at: 0, text)
    return u
}
