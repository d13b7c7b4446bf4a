import CRDT
import TestSupport
@testable import Sync

/// A document with one session, driven synchronously. Every update the document emits (local
/// edits and applied remote updates alike) goes through `session.localUpdate`, so the session
/// alone must keep redundant updates off the wire.
final class SimPeer {
    let doc: YDoc
    var session: SyncSession
    var outbox: [[UInt8]] = []
    /// Update messages this peer received that it already held entirely: with structs, and
    /// delete-only ones.
    var redundantWithStructs = 0, redundantDeletesOnly = 0
    var updatesReceived = 0

    init(clientID: ClientID, options: SyncSession.Options = .init()) {
        doc = YDoc(clientID: clientID)
        session = SyncSession(options: options)
        doc.observeUpdate { [unowned self] e in
            self.outbox += self.session.localUpdate(e.update)
        }
    }

    func start(now: Double) { outbox += session.start(doc, now: now) }
    func tick(now: Double) { outbox += session.tick(doc, now: now) }

    func takeOutbox() -> [[UInt8]] {
        defer { outbox.removeAll() }
        return outbox
    }

    /// Everything this document holds: struct ranges and delete set.
    var held: UpdateCoverage { try! UpdateCoverage(update: doc.encodeStateAsUpdate()) }

    func receive(_ frame: [UInt8], now: Double) throws {
        if case let .update(u) = try SyncMessage.decode(frame) {
            updatesReceived += 1
            let cov = try UpdateCoverage(update: u)
            if PeerKnowledge(stateVector: doc.stateVector, deletes: held.deletes).covers(cov) {
                if cov.structs.isEmpty { redundantDeletesOnly += 1 } else { redundantWithStructs += 1 }
            }
        }
        let out = try session.receive(frame, doc, now: now)
        for u in out.apply { try doc.applyUpdate(u, origin: "remote") }
        outbox += out.send
    }

    var text: String { doc.getText("t").string }

    /// A random edit of the text "t" and the map "m".
    func randomEdit(_ rng: inout SeededRandom) throws {
        let t = doc.getText("t")
        switch rng.int(0...9) {
        case 0...5:
            try t.insert(at: rng.int(0...t.length), String(repeating: rng.pick(["a", "b", "ü", "🙂"]), count: rng.int(1...3)))
        case 6...7 where t.length > 0:
            let at = rng.int(0..<t.length)
            var n = rng.int(1...min(3, t.length - at))
            // Never split a surrogate pair.
            let u = Array(t.string.utf16)
            if at > 0, UTF16.isTrailSurrogate(u[at]) { return }
            if at + n < u.count, UTF16.isTrailSurrogate(u[at + n]) { n += 1 }
            try t.delete(at: at, count: n)
        default:
            doc.getMap("m").set(rng.pick(["x", "y", "z"]), .string("\(rng.int(0...99))"))
        }
    }
}
