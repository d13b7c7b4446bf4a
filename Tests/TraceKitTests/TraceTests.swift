import CLISupport
import CRDT
import Foundation
import Testing
import TestSupport
@testable import TraceKit

/// A trace with astral characters, a combining mark and multi-patch transactions.
let astralTraceJSON = #"""
{"startContent": "", "endContent": "ab😀\u0301c →𝄞!",
 "txns": [
   {"patches": [[0, 0, "abc"]]},
   {"patches": [[2, 0, "😀😀"], [4, 0, "\u0301"]]},
   {"patches": [[3, 1, ""]]},
   {"patches": [[5, 0, " →x"], [7, 1, "𝄞!"]]}
 ]}
"""#

@Suite(.ownThread) struct TraceParsingTests {
    @Test func parsesPatchesAndCounts() throws {
        let trace = try Trace.parse(json: Array(astralTraceJSON.utf8))
        #expect(trace.transactionCount == 4)
        #expect(trace.patches.count == 6)
        #expect(trace.patches[1] == TracePatch(position: 2, deleteCount: 0, insert: "😀😀"))
        #expect(trace.endContent.unicodeScalars.count == 9)
    }

    @Test func plainReplayMatchesEndContent() throws {
        let trace = try Trace.parse(json: Array(astralTraceJSON.utf8))
        let units = try TraceReplay.replayPlain(trace)
        #expect(units == Array(trace.endContent.utf16))
    }

    @Test func rejectsMalformedTraces() {
        let bad = [
            "", "nul", "[]", #"{"endContent": 1, "txns": []}"#, #"{"endContent": "", "txns": {}}"#,
            #"{"endContent": "", "txns": [{"patches": [[0, 0]]}]}"#,
            #"{"endContent": "", "txns": [{"patches": [[0, -1, ""]]}]}"#,
            #"{"endContent": "", "txns": [{"patches": [["0", 0, ""]]}]}"#,
            #"{"endContent": "", "txns": [{"patches": [[0.5, 0, ""]]}]}"#,
            #"{"kind": "concurrent", "endContent": "", "txns": []}"#,
        ]
        for text in bad {
            #expect(throws: TraceError.self, "\(text)") { try Trace.parse(json: Array(text.utf8)) }
        }
    }

    @Test func outOfRangePatchIsReported() throws {
        let trace = try Trace.parse(json: Array(#"{"endContent": "", "txns": [{"patches": [[0, 0, "ab"], [3, 0, "x"]]}]}"#.utf8))
        #expect(throws: TraceError.patchOutOfRange(patch: 1, position: 3, deleteCount: 0, length: 2)) {
            try TraceReplay.replayPlain(trace)
        }
    }

    @Test func checkTextComparesScalarsNotCanonicalEquivalence() throws {
        // "é" precomposed and decomposed are == as Swift Strings, but not the same text.
        #expect("\u{e9}" == "e\u{301}")
        #expect(throws: TraceError.self) { try TraceReplay.checkText("\u{e9}", equals: "e\u{301}", what: "t") }
        try TraceReplay.checkText("a😀", equals: "a😀", what: "t")
    }
}

@Suite(.ownThread) struct GzipTests {
    @Test func roundTripAndDetection() throws {
        let text = Array(String(repeating: "hello gzip → 😀 ", count: 5000).utf8)
        let gz = try Gzip.compress(text)
        #expect(Gzip.isGzip(gz))
        #expect(!Gzip.isGzip(text))
        #expect(gz.count < text.count / 10)
        #expect(try Gzip.decompress(gz) == text)
    }

    @Test func concatenatedMembers() throws {
        let a = try Gzip.compress(Array("first ".utf8)), b = try Gzip.compress(Array("second".utf8))
        #expect(try Gzip.decompress(a + b) == Array("first second".utf8))
    }

    @Test func emptyPayload() throws {
        #expect(try Gzip.decompress(Gzip.compress([])) == [])
    }

    @Test func corruptOrTruncatedInputThrows() throws {
        let gz = try Gzip.compress(Array(String(repeating: "abcdefgh", count: 1000).utf8))
        #expect(throws: TraceError.self) { try Gzip.decompress(Array(gz.prefix(gz.count / 2))) }
        var flipped = gz
        flipped[gz.count / 2] ^= 0xFF
        flipped[gz.count / 2 + 1] ^= 0x55
        #expect(throws: TraceError.self) { try Gzip.decompress(flipped) }
        #expect(throws: TraceError.self) { try Gzip.decompress([0x1F, 0x8B]) }
        #expect(throws: TraceError.self) { try Gzip.decompress([]) }
        #expect(throws: TraceError.self) { try Gzip.decompress(gz + [1, 2, 3]) }
    }

    @Test func loadReadsGzipAndPlainFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tracekit-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = dir.appendingPathComponent("t.json").path
        let gz = dir.appendingPathComponent("t.json.gz").path
        try FileBytes.write(Array(astralTraceJSON.utf8), to: plain)
        try FileBytes.write(Gzip.compress(Array(astralTraceJSON.utf8)), to: gz)
        #expect(try Trace.load(path: plain).patches.count == 6)
        #expect(try Trace.load(path: gz).patches.count == 6)
        #expect(throws: TraceError.self) { try Trace.load(path: dir.appendingPathComponent("missing.json.gz").path) }
        #expect(throws: TraceError.self) { try Trace.load(path: dir.path) }  // a directory
    }
}

@Suite(.ownThread) struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func streamingEqualsOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var h = SHA256()
        h.update(data[0..<1])
        h.update(data[1..<64])
        h.update(data[64..<65])
        h.update(data[65...])
        #expect(h.hexDigest() == SHA256.hex(data))
        #expect(h.byteCount == 1000)
    }
}

@Suite(.ownThread) struct CRDTReplayTests {
    @Test func replayIntoYDocWithAstralCharacters() throws {
        let trace = try Trace.parse(json: Array(astralTraceJSON.utf8))
        let doc = YDoc(clientID: 1)
        var updates = 0
        doc.observeUpdate { _ in updates += 1 }
        try TraceReplay.replay(trace, into: doc, textName: "text")
        try TraceReplay.checkText(doc.getText("text").string, equals: trace.endContent, what: "replayed")
        #expect(updates == trace.patches.count)

        // The full state loads back into a fresh document.
        let fresh = YDoc(clientID: 2)
        try fresh.applyUpdate(doc.encodeStateAsUpdate())
        try TraceReplay.checkText(fresh.getText("text").string, equals: trace.endContent, what: "loaded")
    }

    /// A real trace from `Benchmarks/traces` (in the repository: a missing file fails the test).
    @Test func replayRealTrace() throws {
        let path = RepoData.tracesDirectory.appendingPathComponent("sequential/friendsforever_flat.json.gz").path
        let trace = try Trace.load(path: path)
        #expect(trace.patches.count == 26_078)
        let plain = try TraceReplay.replayPlain(trace)
        #expect(plain == Array(trace.endContent.utf16))
        let doc = YDoc(clientID: 1)
        try TraceReplay.replay(trace, into: doc, textName: "text")
        try TraceReplay.checkText(doc.getText("text").string, equals: trace.endContent, what: "replayed")
    }
}
