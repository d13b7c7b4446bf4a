import Testing
import TestSupport
@testable import CRDT

/// Nesting as deep as a hostile peer likes: deleting and collecting it must not overflow the
/// stack (an update of ~75,000 nested maps crashed the server before; these run 100,000 deep on
/// the test runner's pool threads, whose stacks are as small as the server's).
@Suite(.ownThread) struct DeepNestingTests {
    static let depth = 100_000

    /// A document whose root map holds `depth` maps (or arrays) nested in each other, as an update.
    private func deepUpdate(arrays: Bool) throws -> [UInt8] {
        let doc = YDoc(clientID: 1)
        try doc.transact {
            if arrays {
                var a = doc.getMap("root").setArray("deep")
                for _ in 0..<Self.depth { a = try a.insertArray(at: 0) }
                a.push([.string("bottom")])
            } else {
                var m = doc.getMap("root").setMap("deep")
                for _ in 0..<Self.depth { m = m.setMap("next") }
                m.set("bottom", .string("bottom"))
            }
        }
        return doc.encodeStateAsUpdate()
    }

    @Test("100,000 nested maps or arrays: apply, delete the outermost, collect, encode, reload", arguments: [false, true])
    func deleteAndCollect(arrays: Bool) throws {
        let update = try deepUpdate(arrays: arrays)
        let doc = YDoc(clientID: 2)  // gc on
        try doc.applyUpdate(update)
        // Rendering stops at its depth limit with a typed error instead of overflowing the stack.
        #expect(throws: YValue.RenderError.tooDeep(limit: YValue.maxRenderDepth)) { try doc.getMap("root").toAny() }
        #expect(doc.stateVector[1] == Clock(Self.depth + 2))
        doc.getMap("root").delete("deep")
        #expect(doc.getMap("root").get("deep") == nil)
        let after = doc.encodeStateAsUpdate()
        #expect(after.count < update.count)  // the nested content became GC ranges
        let reloaded = YDoc(clientID: 3)
        try reloaded.applyUpdate(after)
        #expect(reloaded.stateVector == doc.stateVector)
        #expect(reloaded.getMap("root").get("deep") == nil)
        #expect(!reloaded.hasPending)

        // The same delete arriving from a peer (a remote delete set) on a gc-off document.
        let remote = YDoc(clientID: 4, gc: false)
        try remote.applyUpdate(update)
        try remote.applyUpdate(after)
        #expect(remote.getMap("root").get("deep") == nil)
        #expect(remote.stateVector == doc.stateVector)
    }
}
