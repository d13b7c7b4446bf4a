import CRDT
import Foundation
@testable import Journal
import Testing
import TestSupport

/// The single-writer rule: a writing open holds `STORE.lock` until close; a second writer (in
/// this process or another) fails at once with `.locked` naming the holder.
@Suite(.serialized, .ownThread) struct StoreLockTests {
    @Test func sentenceNamesTheHolder() {
        let e = JournalError.locked(path: "notes.ystore", holder: StoreLockHolder(pid: 1234, command: "ycli sync --watch"))
        #expect(e.description == "store notes.ystore is in use by process 1234 (ycli sync --watch); close it or wait")
        let unknown = JournalError.locked(path: "s", holder: StoreLockHolder(pid: nil, command: ""))
        #expect(unknown.description == "store s is in use by another process; close it or wait")
    }

    /// The holder a `.locked` error names, or nil for any other outcome.
    func lockHolder(_ body: () throws -> Void) -> StoreLockHolder? {
        do {
            try body()
            return nil
        } catch let JournalError.locked(_, holder) {
            return holder
        } catch {
            return nil
        }
    }

    @Test func secondOpenInTheSameProcessFails() throws {
        let dir = TempDir()
        let first = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, options: manualOptions())
        let holder = lockHolder { _ = try Journal.open(path: dir.file("store.ysync")) }
        #expect(holder?.pid == getpid())
        #expect(holder.map { "\($0)".contains("another open in this process") } == true)
        #expect(lockHolder { _ = try JournaledDocument.open(path: dir.file("store.ysync")) }?.pid == getpid())
        // The failed opens left the holder working.
        try first.edit { try $0.getText("t").insert(at: 0, "one") }
        first.close()
        let second = try JournaledDocument.open(path: dir.file("store.ysync"))
        #expect(second.doc.getText("t").string == "one")
        second.close()
    }

    @Test func deinitReleases() throws {
        let dir = TempDir()
        do {
            let j = try Journal.open(path: dir.file("store.ysync"), create: true)
            try j.setMeta("k", "v")
        }
        let again = try Journal.open(path: dir.file("store.ysync"))
        #expect(try again.meta("k") == "v")
    }

    @Test func readersWorkWhileAWriterHoldsTheStore() throws {
        let dir = TempDir()
        let writer = try JournaledDocument.open(path: dir.file("store.ysync"), create: true, options: manualOptions())
        try writer.edit { try $0.getText("t").insert(at: 0, "hello") }
        let reader = try JournaledDocument.open(path: dir.file("store.ysync"), access: .read)
        #expect(reader.doc.getText("t").string == "hello")
        #expect(reader.clientID == writer.clientID)
        #expect(throws: JournalError.readOnly(path: dir.file("store.ysync"))) {
            try reader.edit { try $0.getText("t").insert(at: 0, "x") }
        }
        #expect(throws: JournalError.readOnly(path: dir.file("store.ysync"))) { try reader.journal.setMeta("k", "v") }
        #expect(try reader.journal.check().isHealthy)
        // The writer goes on; a new reader sees it.
        try writer.edit { try $0.getText("t").insert(at: 5, " world") }
        let later = try Journal.open(path: dir.file("store.ysync"), access: .read)
        let doc = YDoc()
        _ = try later.load(into: doc)
        #expect(doc.getText("t").string == "hello world")
        #expect(throws: JournalError.invalidArgument("a store cannot be created for reading only")) {
            try Journal.open(path: dir.file("new"), create: true, access: .read)
        }
        reader.close()
        later.close()
        writer.close()
    }

    /// A worker that made `edits` edits and now holds the store (until its input closes).
    func startHolder(_ store: String, edits: Int) async throws -> ChildProcess {
        let holder = try JournalCrashWorker.start([store, "--max", String(edits), "--hold"], label: "holder")
        while try await holder.nextLine() != "holding" {}
        return holder
    }

    @Test func anotherProcessHoldsTheStoreUntilItIsKilled() async throws {
        let dir = TempDir()
        let store = dir.file("store.ysync")
        let holder = try await startHolder(store, edits: 3)
        defer { holder.stop() }
        #expect(holder.isRunning)
        let named = lockHolder { _ = try JournaledDocument.open(path: store) }
        #expect(named?.pid == holder.pid)
        #expect(named?.command.contains("JournalCrashWorker") == true)
        #expect(named?.command.contains("--hold") == true)

        // A second writer process fails at once, naming the holder, and writes nothing.
        let second = try await JournalCrashWorker.run([store, "--max", "3"])
        #expect(second.status == 2)
        #expect(second.err.contains("is in use by process \(holder.pid) (JournalCrashWorker"), "\(second.err)")

        // A reader still works while the holder lives.
        let reading = try Journal.open(path: store, access: .read)
        #expect(reading.lastSeq == 3)
        reading.close()

        kill(holder.pid, SIGKILL)
        #expect(try await holder.waitForExit().signalled)
        // The lock file is still there; the kernel dropped the lock with the process.
        #expect(FileManager.default.fileExists(atPath: store + ".lock"))
        let after = try JournaledDocument.open(path: store)
        #expect(after.loadReport.lastSeq == 3)
        #expect(after.loadReport.isComplete)
        #expect(after.doc.getText("t").string.components(separatedBy: "<").count - 1 == 3)
        after.close()
    }

    @Test func aHolderThatClosesReleases() async throws {
        let dir = TempDir()
        let store = dir.file("store.ysync")
        let holder = try await startHolder(store, edits: 2)
        defer { holder.stop() }
        #expect(lockHolder { _ = try Journal.open(path: store) }?.pid == holder.pid)
        holder.closeInput()
        #expect(try await holder.waitForExit().status == 0)
        let j = try Journal.open(path: store)
        #expect(j.lastSeq == 2)
        j.close()
    }
}
