import CRDT
import Foundation
import Testing
import TestSupport
@testable import Sync

@Suite struct FileHandoverTests {
    func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("ysync-handover-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// Two replicas edit apart and sync by carrying a folder both ways.
    @Test func twoReplicasSyncThroughAFolder() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = YDoc(clientID: 1), b = YDoc(clientID: 2)
        try a.getText("t").insert(at: 0, "alpha ")
        try b.getText("t").insert(at: 0, "beta")
        // b leaves its state vector; a writes what b lacks.
        try FileHandover.writeStateVector(b.stateVector, clientID: 2, to: dir)
        let written = try FileHandover.writeDiffs(of: a, clientID: 1, to: dir)
        #expect(written.count == 1 && written[0].lastPathComponent.hasPrefix("1-"))
        // Same content, same name: writing again changes nothing.
        #expect(try FileHandover.writeDiffs(of: a, clientID: 1, to: dir) == written)
        let rb = try FileHandover.importAll(from: dir, into: b)
        #expect(rb.failures.isEmpty && rb.updates.count == 1)
        // a reads b's answer the same way.
        try FileHandover.writeStateVector(a.stateVector, clientID: 1, to: dir)
        try FileHandover.writeDiffs(of: b, clientID: 2, to: dir)
        let ra = try FileHandover.importAll(from: dir, into: a)
        #expect(ra.failures.isEmpty)
        #expect(a.getText("t").string == b.getText("t").string)
        #expect(a.stateVector == b.stateVector)
        // Nothing left to carry: b lacks nothing of a.
        try FileHandover.writeStateVector(b.stateVector, clientID: 2, to: dir)
        #expect(try FileHandover.writeDiff(of: a, clientID: 1, forPeer: b.stateVector, to: dir) == nil)
    }

    @Test func badFilesAreListedOthersApply() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = YDoc(clientID: 1)
        try a.getText("t").insert(at: 0, "ok")
        let good = try #require(try FileHandover.writeUpdate(a.encodeStateAsUpdate(), clientID: 1, to: dir))
        // Damaged content (hash mismatch), garbage with a matching hash, a bad name, a bad sv.
        var damaged = [UInt8](try Data(contentsOf: good))
        damaged[damaged.count - 2] ^= 0xff
        let dname = dir.appendingPathComponent("1-0000000000000000.yupdate")
        try Data(damaged).write(to: dname)
        let garbage: [UInt8] = [0x05, 0xff]
        try Data(garbage).write(to: dir.appendingPathComponent(FileHandover.fileName(clientID: 3, update: garbage)))
        try Data([0, 0]).write(to: dir.appendingPathComponent("notes.yupdate"))
        try Data([0x05]).write(to: dir.appendingPathComponent("9.ysv"))
        try Data("ignored".utf8).write(to: dir.appendingPathComponent("README.txt"))
        let b = YDoc(clientID: 2)
        let r = try FileHandover.importAll(from: dir, into: b)
        #expect(r.updates.map(\.url) == [good])
        #expect(r.failures.count == 4)
        #expect(r.failures.allSatisfy { if case .badHandoverFile = $0.error { true } else { false } })
        #expect(b.getText("t").string == "ok")
        // A missing folder is an I/O error.
        #expect(throws: SyncError.self) { try FileHandover.read(from: dir.appendingPathComponent("nope")) }
    }
}
