import CRDT
import Foundation
import Testing
import TestSupport

/// Export/import interop between a ycli store and pycrdt (yrs), through the bridge in
/// Tests/TestSupport (it fails, never skips, when the Python venv is missing).
@Suite("ycli store interop with pycrdt", .serialized, .ownThread)
struct StoreInteropTests {
    static let root = SharedTarget.text("codemirror")

    private func pycrdtText(_ peer: PycrdtPeer) async throws -> String? {
        try peer.content(roots: ["codemirror": .text])["codemirror"]?.stringValue
    }

    @Test("a store's export applies in pycrdt to the same text, full and --since pycrdt's state vector")
    func exportToPycrdt() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store, "--client-id", "321"])
        try await Ycli.ok(["write", store, "-"], stdin: Array("Grüße aus 東京 😀\nsecond line\n".utf8))
        try await Ycli.ok(["insert", store, "14", " 🎉"])
        try await Ycli.ok(["delete", store, "0", "2"])
        let text = try await Ycli.ok(["cat", store]).out
        #expect(text == "üße aus 東京 😀 🎉\nsecond line\n")

        try await Ycli.ok(["export", store, "-o", dir.file("full.bin")])
        let peer = try PycrdtPeer(clientID: 999)
        defer { peer.close() }
        try peer.applyUpdate(try dir.read("full.bin"))
        #expect(try await pycrdtText(peer) == text)
        #expect(try peer.stateVector() == [321: UInt32(try await Ycli.ok(["status", store, "--json"]).json()["stateVector"]?["321"]?.intValue ?? -1)])

        // More edits; pycrdt says what it has, the store sends only the rest.
        _ = try dir.write("peer.sv", try peer.encodeStateVector())
        try await Ycli.ok(["write", store, "-"], stdin: Array("üße aus 東京 😀 🎉\nsecond line, edited\nthird\n".utf8))
        try await Ycli.ok(["export", store, "--since", dir.file("peer.sv"), "-o", dir.file("diff.bin")])
        let diff = try dir.read("diff.bin")
        #expect(diff.count < (try dir.read("full.bin")).count)
        try peer.applyUpdate(diff)
        #expect(try await pycrdtText(peer) == (try await Ycli.ok(["cat", store]).out))
    }

    @Test("a pycrdt update imports into a store, also on top of concurrent local edits")
    func importFromPycrdt() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store, "--client-id", "7"])

        // A document made entirely in pycrdt.
        let peer = try PycrdtPeer(clientID: 4242)
        defer { peer.close() }
        try peer.textInsert(Self.root, at: 0, "from pycrdt: naïve café 😀")
        try peer.textInsert(Self.root, at: 13, "[x]")
        try peer.textDelete(Self.root, at: 0, count: 5)
        let update = try dir.write("py.bin", try peer.encodeStateAsUpdate())
        let r = try await Ycli.ok(["import", store, update])
        #expect(r.out.contains("applied"))
        let expected = try #require(try await pycrdtText(peer))
        #expect(try await Ycli.ok(["cat", store]).out == expected)

        // Both sides edit concurrently, then exchange differences.
        _ = try dir.write("peer.sv", try peer.encodeStateVector())
        try await Ycli.ok(["export", store, "--state-vector", "-o", dir.file("store.sv")])
        try await Ycli.ok(["insert", store, "0", "[store] "])
        let end = try peer.textLength(Self.root)
        try peer.textInsert(Self.root, at: end, " [pycrdt]")
        let fromPeer = try dir.write("py2.bin", try peer.encodeStateAsUpdate(sinceEncoded: try dir.read("store.sv")))
        try await Ycli.ok(["export", store, "--since", dir.file("peer.sv"), "-o", dir.file("store2.bin")])
        try await Ycli.ok(["import", store, fromPeer])
        try peer.applyUpdate(try dir.read("store2.bin"))
        let merged = try await Ycli.ok(["cat", store]).out
        #expect(merged == (try await pycrdtText(peer)))
        #expect(merged == "[store] " + expected + " [pycrdt]")
        let sv = try await Ycli.ok(["status", store, "--json"]).json()["stateVector"]
        let peerSV = try peer.stateVector()
        #expect(sv == .object(Dictionary(uniqueKeysWithValues: peerSV.map { (String($0.key), JSONValue(Int($0.value))) })))
    }
}
