import Foundation
import Testing
import TestSupport
@testable import CRDT

/// The recorded Yjs documents, applied to a real document (not just decoded).
@Suite(.ownThread) struct DocumentFixtureTests {
    struct FuzzEntry: Decodable {
        let v1: String
        let v1_gc: String
        let text: String
        let sv: String
    }

    static func entries() throws -> [FuzzEntry] {
        let url = CodecTestData.fixturesDir.appendingPathComponent("fuzz_yjs.json")
        return try JSONDecoder().decode([FuzzEntry].self, from: RepoData.read(url))
    }

    @Test func randomYjsSessionsGiveRecordedTextAndStateVector() throws {
        let entries = try Self.entries()
        #expect(entries.count == 60)
        for (i, e) in entries.enumerated() {
            for hex in [e.v1, e.v1_gc] {
                let doc = YDoc(clientID: 424242)
                try doc.applyUpdate(CodecTestData.bytes(hex))
                #expect(!doc.hasPending, "entry \(i)")
                #expect(doc.getText("t").string == e.text, "entry \(i)")
                #expect(doc.stateVector == (try StateVector(decoding: CodecTestData.bytes(e.sv))), "entry \(i)")
                // Re-encoding a GC-enabled document gives exactly Yjs' garbage-collected state.
                #expect(doc.encodeStateAsUpdate() == CodecTestData.bytes(e.v1_gc), "entry \(i)")
            }
        }
    }

    /// The fast path (`applyUpdate(bytes)`) and the model path (`apply(DecodedUpdate)`) agree,
    /// and both refuse exactly the inputs the decoder refuses, leaving the document untouched.
    @Test func bytePathAndModelPathAgreeOnEveryPrefix() throws {
        let entries = try Self.entries()
        for e in entries.prefix(12) {
            let full = CodecTestData.bytes(e.v1)
            for cut in stride(from: 0, through: full.count, by: max(1, full.count / 40)) {
                let part = Array(full[..<cut])
                let a = YDoc(clientID: 7), b = YDoc(clientID: 7)
                try a.getText("t").insert(at: 0, "x")
                try b.getText("t").insert(at: 0, "x")
                let before = a.encodeStateAsUpdate()
                let decoded = try? UpdateDecoderV1.decode(part)
                do {
                    try a.applyUpdate(part)
                    #expect(decoded != nil, "fast path accepted bytes the decoder refuses")
                } catch {
                    #expect(decoded == nil, "fast path refused bytes the decoder accepts")
                    #expect(a.encodeStateAsUpdate() == before)
                }
                if let decoded { try b.apply(decoded) }
                #expect(a.encodeStateAsUpdate() == b.encodeStateAsUpdate())
            }
        }
    }

    @Test func yjsFeatureFixturesIntegrateAndReencode() throws {
        for (name, bytes) in try CodecTestData.yjsFixtures where !name.hasPrefix("F8") {
            let doc = YDoc(clientID: 999)
            try doc.applyUpdate(bytes)
            #expect(!doc.hasPending, "\(name)")
            #expect(doc.encodeStateAsUpdate() == bytes, "\(name) does not re-encode to Yjs' bytes")
        }
        // F8: out of order, then complete.
        let f = try CodecTestData.yjsFixtures
        let doc = YDoc(clientID: 999)
        try doc.applyUpdate(f["F8b"]!)
        try doc.applyUpdate(f["F8c"]!)
        #expect(doc.hasPending)
        try doc.applyUpdate(f["F8a"]!)
        #expect(!doc.hasPending)
        #expect(doc.getText("t").string == "b")
    }
}
