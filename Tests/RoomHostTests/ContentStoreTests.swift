import CRDT
import CSQLite
import Foundation
import RoomHost
import Sync
import Testing
import TestSupport

/// Raw SQL on the test database, for rows the store's API would never write.
private func sql(_ path: String, _ statement: String) {
    var db: OpaquePointer?
    precondition(sqlite3_open(path, &db) == SQLITE_OK)
    defer { sqlite3_close(db) }
    var err: UnsafeMutablePointer<CChar>?
    let rc = sqlite3_exec(db, statement, nil, nil, &err)
    precondition(rc == SQLITE_OK, err.map { String(cString: $0) } ?? "sqlite error \(rc)")
}

private func fieldsText(_ path: String, id: String) -> String? {
    var db: OpaquePointer?
    precondition(sqlite3_open(path, &db) == SQLITE_OK)
    defer { sqlite3_close(db) }
    var stmt: OpaquePointer?
    precondition(sqlite3_prepare_v2(db, "SELECT fields FROM contentResource WHERE id = '\(id)'", -1, &stmt, nil) == SQLITE_OK)
    defer { sqlite3_finalize(stmt) }
    guard sqlite3_step(stmt) == SQLITE_ROW, let p = sqlite3_column_text(stmt, 0) else { return nil }
    return String(cString: p)
}

/// An update v1 that puts `text` into root text "codemirror".
private func textUpdate(_ text: String) -> [UInt8] {
    let doc = YDoc(clientID: 11)
    try! doc.getText("codemirror").insert(at: 0, text)
    return doc.encodeStateAsUpdate()
}

private func text(of update: [UInt8]) throws -> String {
    let doc = YDoc(clientID: 12)
    try doc.applyUpdate(update)
    return doc.getText("codemirror").string
}

@Suite struct ContentStoreTests {
    // MARK: load chain with real files

    @Test func yDocPresentLoadsTheUpdate() throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        let update = textUpdate("from yDoc")
        try store.insert(ContentRecord(id: "doc-1", type: "document", slug: "hello", body: "from body",
                                       yDocBase64: Base64.encode(update)))
        let record = try #require(try store.lookup("doc-1"))
        #expect(record == ContentRecord(id: "doc-1", type: "document", slug: "hello", body: "from body",
                                        yDocBase64: Base64.encode(update)))
        let result = ContentStore.initialContent(for: record)
        #expect(result == LoadChainResult(content: .update(update), warning: nil))
        #expect(try text(of: update) == "from yDoc")
    }

    @Test func onlyBodyLoadsText() throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try store.insert(ContentRecord(id: "doc-2", body: "# Title\nline"))
        let result = ContentStore.initialContent(for: try store.lookup("doc-2"))
        #expect(result == LoadChainResult(content: .text("# Title\nline"), warning: nil))
    }

    @Test func neitherLoadsEmpty() throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try store.insert(ContentRecord(id: "doc-3", slug: "s"))
        sql(dir.contentDB, "INSERT INTO contentResource VALUES ('null-yDoc', 'document', '{\"yDoc\": null, \"body\": null}')")
        sql(dir.contentDB, "INSERT INTO contentResource VALUES ('null-fields', 'document', NULL)")
        for id in ["doc-3", "null-yDoc", "null-fields"] {
            let record = try #require(try store.lookup(id))
            #expect(record.yDocBase64 == nil && record.body == nil)
            #expect(ContentStore.initialContent(for: record) == LoadChainResult(content: .empty, warning: nil))
        }
        // No record at all: empty, nothing to warn about.
        #expect(try store.lookup("nope") == nil)
        #expect(ContentStore.initialContent(for: nil) == LoadChainResult(content: .empty, warning: nil))
    }

    @Test func corruptBase64FallsBackToBodyWithWarning() throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try store.insert(ContentRecord(id: "doc-4", slug: "notes", body: "fallback", yDocBase64: "AQID!!not base64"))
        let result = ContentStore.initialContent(for: try store.lookup("doc-4"))
        #expect(result.content == .text("fallback"))
        #expect(result.warning == "content doc-4 (slug notes): yDoc is not valid base64: unexpected '!' at offset 4; loaded body instead")
    }

    @Test func validBase64ButGarbageUpdateFallsBack() throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        // 0xFF... is a huge group count: the decoder refuses it.
        let garbage = Base64.encode([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2, 3])
        try store.insert(ContentRecord(id: "doc-5", body: "fallback", yDocBase64: garbage))
        try store.insert(ContentRecord(id: "doc-6", yDocBase64: garbage))
        let withBody = ContentStore.initialContent(for: try store.lookup("doc-5"))
        #expect(withBody.content == .text("fallback"))
        let warning = try #require(withBody.warning)
        #expect(warning.hasPrefix("content doc-5: yDoc is not a valid update: "))
        #expect(warning.hasSuffix("; loaded body instead"))
        let withoutBody = ContentStore.initialContent(for: try store.lookup("doc-6"))
        #expect(withoutBody.content == .empty)
        #expect(withoutBody.warning?.hasSuffix("; loaded an empty document instead") == true)
        // A truncated real update fails too.
        let update = textUpdate("hello")
        let truncated = ContentRecord(id: "t", body: "b", yDocBase64: Base64.encode(Array(update.prefix(update.count / 2))))
        #expect(ContentStore.initialContent(for: truncated).content == .text("b"))
        #expect(ContentStore.initialContent(for: truncated).warning != nil)
    }

    @Test func yDocOfTheWrongJSONTypeIsReported() throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        sql(dir.contentDB, "INSERT INTO contentResource VALUES ('n', 'document', '{\"yDoc\": 42, \"body\": \"text\", \"slug\": [1]}')")
        let record = try #require(try store.lookup("n"))
        #expect(record.yDocBase64 == nil && record.slug == nil)
        #expect(record.ignoredFields == ["slug is a JSON array", "yDoc is a JSON integer"])
        #expect(ContentStore.initialContent(for: record)
            == LoadChainResult(content: .text("text"), warning: "content n: yDoc is a JSON integer; loaded body instead"))
    }

    @Test func emptyUpdateIsValid() {
        // An empty document's update ([0, 0]) is a valid yDoc, not a reason to load body.
        let record = ContentRecord(id: "e", body: "b", yDocBase64: Base64.encode(YDoc().encodeStateAsUpdate()))
        #expect(ContentStore.initialContent(for: record) == LoadChainResult(content: .update([0, 0]), warning: nil))
    }

    // MARK: lookup

    @Test func lookupBySlug() throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try store.insert(ContentRecord(id: "b-id", slug: "shared", body: "second"))
        try store.insert(ContentRecord(id: "a-id", slug: "shared", body: "first"))
        try store.insert(ContentRecord(id: "c-id", slug: "my-page", body: "page"))
        // A row with broken fields must not break slug lookups of the others.
        sql(dir.contentDB, "INSERT INTO contentResource VALUES ('broken', 'document', 'not json')")
        #expect(try store.lookup("my-page")?.id == "c-id")
        #expect(try store.lookup("my-page")?.body == "page")
        #expect(try store.lookup("shared")?.id == "a-id", "several rows share a slug: smallest id")
        // The id wins over a slug of the same name.
        try store.insert(ContentRecord(id: "my-page", body: "by id"))
        #expect(try store.lookup("my-page")?.body == "by id")
        #expect(try store.lookup("missing") == nil)
    }

    // MARK: write-back

    @Test func writeBackPreservesOtherKeys() throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        sql(dir.contentDB, """
            INSERT INTO contentResource VALUES ('p1', 'page',
              '{"title":"Hello \\"world\\"","slug":"hello","body":"old","yDoc":null,"tags":["a","b"],"n":1.50,"meta":{"x":true}}')
            """)
        let update = textUpdate("new text")
        try store.writeBack(id: "p1", yDocBase64: Base64.encode(update), body: "new text")
        let fields = try #require(fieldsText(dir.contentDB, id: "p1"))
        // Every other key is kept as it was, in order; only yDoc and body changed.
        #expect(fields == #"{"title":"Hello \"world\"","slug":"hello","body":"new text","yDoc":"\#(Base64.encode(update))","tags":["a","b"],"n":1.50,"meta":{"x":true}}"#)
        let record = try #require(try store.lookup("hello"))
        #expect(record.type == "page")
        #expect(ContentStore.initialContent(for: record) == LoadChainResult(content: .update(update), warning: nil))
        // Text needing escapes survives the round trip.
        try store.writeBack(id: "p1", yDocBase64: "", body: "quote \" backslash \\ newline \n tab \t é 😀")
        #expect(try store.lookup("p1")?.body == "quote \" backslash \\ newline \n tab \t é 😀")
    }

    @Test func writeBackInsertsNewIdAndFillsNullFields() throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try store.writeBack(id: "fresh", yDocBase64: "AAA=", body: "")
        #expect(try store.lookup("fresh") == ContentRecord(id: "fresh", type: "document", slug: nil, body: "", yDocBase64: "AAA="))
        sql(dir.contentDB, "INSERT INTO contentResource VALUES ('nullfields', 'document', NULL)")
        try store.writeBack(id: "nullfields", yDocBase64: "AAA=", body: "b")
        #expect(try store.lookup("nullfields")?.body == "b")
    }

    // MARK: errors

    @Test func fieldsNotJSONIsATypedError() throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        sql(dir.contentDB, "INSERT INTO contentResource VALUES ('bad', 'document', '{\"body\": unquoted}')")
        sql(dir.contentDB, "INSERT INTO contentResource VALUES ('arr', 'document', '[1, 2]')")
        #expect(throws: ContentStoreError.badFields(id: "bad", reason: "is not valid JSON")) { try store.lookup("bad") }
        #expect(throws: ContentStoreError.badFields(id: "arr", reason: "is a JSON array, not an object")) { try store.lookup("arr") }
        // Write-back refuses too and leaves the row untouched.
        #expect(throws: ContentStoreError.badFields(id: "bad", reason: "is not valid JSON")) {
            try store.writeBack(id: "bad", yDocBase64: "AAA=", body: "x")
        }
        #expect(fieldsText(dir.contentDB, id: "bad") == "{\"body\": unquoted}")
        // And the store still works afterwards (the failed write-back's transaction was closed).
        try store.writeBack(id: "ok", yDocBase64: "AAA=", body: "x")
        #expect(try store.lookup("ok")?.body == "x")
        #expect("\(ContentStoreError.badFields(id: "bad", reason: "is not valid JSON"))" == "content store: row bad: fields is not valid JSON")
    }

    @Test func openErrors() throws {
        let dir = TempDir()
        #expect(throws: ContentStoreError.self) { try ContentStore(path: dir.contentDB) }  // missing file, no create
        sql(dir.contentDB, "CREATE TABLE other(x)")
        #expect(throws: ContentStoreError.open(path: dir.contentDB, reason: "no table contentResource")) { try ContentStore(path: dir.contentDB) }
        let notADB = dir.path + "/garbage.db"
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: notADB))
        do {
            _ = try ContentStore(path: notADB, create: true)
            Issue.record("opened a file that is not a database")
        } catch {
            guard case let .open(path, reason) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path == notADB)
            #expect(reason.contains("not a database"), "\(reason)")
        }
        #expect(throws: ContentStoreError.self) {
            let store = try ContentStore(path: dir.path + "/dup.db", create: true)
            try store.insert(ContentRecord(id: "x"))
            try store.insert(ContentRecord(id: "x"))
        }
    }

    @Test func concurrentUseIsSerialised() async throws {
        let dir = TempDir()
        let store = try ContentStore(path: dir.contentDB, create: true)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 {
                group.addTask {
                    for j in 0..<25 {
                        try store.writeBack(id: "r\(i)", yDocBase64: "AAA=", body: "\(j)")
                        _ = try store.lookup("r\(i)")
                    }
                }
            }
            try await group.waitForAll()
        }
        for i in 0..<8 { #expect(try store.lookup("r\(i)")?.body == "24") }
    }
}
