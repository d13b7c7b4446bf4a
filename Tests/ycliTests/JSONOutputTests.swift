import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--json` on every reporting command, JSON errors and the documented exit codes
/// (README "ycli: --json and exit codes").
@Suite("ycli --json and exit codes")
struct JSONOutputTests {
    // MARK: reports

    @Test("init, insert, delete, write, edit, compact, restore and version report one JSON object")
    func editingCommands() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("a.ystore")
        let created = try await Ycli.ok(["init", store, "--client-id", "7", "--json"]).json()
        #expect(created == ["store": .string(store), "clientID": 7, "rootText": "codemirror"], "\(created)")

        let inserted = try await Ycli.ok(["insert", store, "0", "héllo 😀", "--json"]).json()
        var seq = try await lastSeq(store)
        #expect(inserted == ["inserted": 7, "position": 0, "seq": .number(Double(seq))], "\(inserted)")
        let nothing = try await Ycli.ok(["insert", store, "3", "", "--json"]).json()
        #expect(nothing == ["inserted": 0, "position": 3, "seq": JSONValue.null], "\(nothing)")
        // After '--', "--json" is the text to insert: the report is the human one.
        let literal = try await Ycli.ok(["insert", store, "7", "--", "--json"])
        #expect(literal.out.hasPrefix("inserted 6 characters at 7"), "\(literal)")

        let deleted = try await Ycli.ok(["delete", store, "6", "7", "--json"]).json()
        seq = try await lastSeq(store)
        #expect(deleted == ["deleted": 7, "position": 6, "seq": .number(Double(seq))], "\(deleted)")
        #expect(try await Ycli.ok(["cat", store]).out == "héllo ")

        let written = try await Ycli.ok(["write", store, "--json"], stdin: Array("hello world\n".utf8)).json()
        seq = try await lastSeq(store)
        #expect(written["seq"]?.intValue == seq, "\(written)")
        #expect((written["changes"]?.intValue ?? 0) >= 1, "\(written)")
        let delta = (written["inserted"]?.intValue ?? 0) - (written["deleted"]?.intValue ?? 0)
        #expect(delta == "hello world\n".unicodeScalars.count - "héllo ".unicodeScalars.count, "\(written)")
        let same = try await Ycli.ok(["write", store, "--json"], stdin: Array("hello world\n".utf8)).json()
        #expect(same == ["changes": 0, "deleted": 0, "inserted": 0, "seq": JSONValue.null], "\(same)")

        let script = try dir.write("ed.sh", "#!/bin/sh\nprintf 'hello there world\\n' > \"$1\"\n")
        chmod(script, 0o755)
        let edited = try await Ycli.ok(["edit", store, "--json"], env: ["EDITOR": script]).json()
        #expect(edited["merged"]?.boolValue == false && edited["inserted"]?.intValue == 6, "\(edited)")
        seq = try await lastSeq(store)
        #expect(edited["seq"]?.intValue == seq, "\(edited)")
        let unchanged = try await Ycli.ok(["edit", store, "--json"], env: ["VISUAL": "true"]).json()
        #expect(unchanged == ["changes": 0, "deleted": 0, "inserted": 0, "merged": false, "seq": JSONValue.null], "\(unchanged)")

        let version = try await Ycli.ok(["version", store, "v1", "--json"]).json()
        #expect(version["name"]?.stringValue == "v1" && version["seq"]?.intValue == seq, "\(version)")

        let compacted = try await Ycli.ok(["compact", store, "--json"]).json()
        #expect(compacted == ["compacted": true, "snapshotSeq": .number(Double(seq))], "\(compacted)")
        let again = try await Ycli.ok(["compact", store, "--json"]).json()
        #expect(again == ["compacted": false, "snapshotSeq": JSONValue.null], "\(again)")

        let restored = try await Ycli.ok(["restore", store, "--at", "1", "--json"]).json()
        #expect(restored["at"]?.stringValue == "1" && restored["atSeq"]?.intValue == 1, "\(restored)")
        seq = try await lastSeq(store)
        #expect(restored["seq"]?.intValue == seq, "\(restored)")
        #expect(try await Ycli.ok(["cat", store]).out == "héllo 😀")
        let already = try await Ycli.ok(["restore", store, "--at", "1", "--json"]).json()
        #expect(already["changes"]?.intValue == 0 && already["seq"] == JSONValue.null, "\(already)")
    }

    @Test("export, import, update merge and update diff report the file and its size; with -o - stdout is the bytes alone")
    func fileCommands() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = dir.file("a.ystore"), b = dir.file("b.ystore")
        try await Ycli.ok(["init", a, "--client-id", "1"])
        try await Ycli.ok(["init", b, "--client-id", "2"])
        try await Ycli.ok(["insert", a, "0", "from a"])
        try await Ycli.ok(["insert", b, "0", "from b"])

        let export = try await Ycli.run(["export", a, "-o", dir.file("a.bin"), "--json"])
        #expect(export.ok && export.err.isEmpty, "\(export)")
        let exported = try export.json()
        let aBytes = try dir.read("a.bin")
        #expect(exported == ["output": .string(dir.file("a.bin")), "bytes": .number(Double(aBytes.count)), "kind": "update"],
                "\(exported)")
        let sv = try await Ycli.ok(["export", b, "--state-vector", "-o", dir.file("b.sv"), "--json"]).json()
        let svCount = try dir.read("b.sv").count
        #expect(sv["kind"]?.stringValue == "stateVector" && sv["bytes"]?.intValue == svCount, "\(sv)")
        let piped = try await Ycli.ok(["export", a, "-o", "-", "--json"])
        #expect(piped.stdout == aBytes && piped.err.isEmpty, "\(piped)")

        let imported = try await Ycli.ok(["import", b, dir.file("a.bin"), "--json"]).json()
        let files = imported["files"]?.arrayValue ?? []
        #expect(files.count == 1 && files.first?["file"]?.stringValue == dir.file("a.bin"), "\(imported)")
        let bSeq = try await lastSeq(b)
        #expect(files.first?["applied"]?.boolValue == true && files.first?["seq"]?.intValue == bSeq, "\(imported)")
        #expect(imported["pending"]?.boolValue == false, "\(imported)")
        let known = try await Ycli.ok(["import", b, dir.file("a.bin"), "--json"]).json()
        let expected: JSONValue = ["file": .string(dir.file("a.bin")), "applied": false, "seq": .null]
        #expect(known["files"]?.arrayValue?.first == expected, "\(known)")

        try await Ycli.ok(["export", b, "-o", dir.file("b.bin")])
        let merged = try await Ycli.ok(["update", "merge", "-o", dir.file("m.bin"), dir.file("a.bin"), dir.file("b.bin"), "--json"]).json()
        let mBytes = try dir.read("m.bin")
        #expect(merged == ["output": .string(dir.file("m.bin")), "bytes": .number(Double(mBytes.count)), "inputs": 2], "\(merged)")
        let mergedOut = try await Ycli.ok(["update", "merge", "-o", "-", dir.file("a.bin"), dir.file("b.bin"), "--json"])
        #expect(mergedOut.stdout == mBytes && mergedOut.err.isEmpty, "\(mergedOut)")

        try await Ycli.ok(["export", a, "--state-vector", "-o", dir.file("a.sv")])
        let diff = try await Ycli.ok(["update", "diff", "--state-vector", dir.file("a.sv"), "-o", dir.file("d.bin"), dir.file("m.bin"), "--json"]).json()
        let dCount = try dir.read("d.bin").count
        #expect(diff == ["output": .string(dir.file("d.bin")), "bytes": .number(Double(dCount))], "\(diff)")
        #expect((diff["bytes"]?.intValue ?? 0) > 0)
    }

    @Test("token --json prints the token and its claims")
    func token() async throws {
        guard try await hasServer() else { return }
        let secret = String(repeating: "s3cret-", count: 6)
        let r = try await Ycli.ok(["token", "--secret", secret, "--room", "notes", "--scope", "read", "--subject", "ada", "--json"])
        let token = try r.json()
        #expect(token["token"]?.stringValue?.split(separator: ".").count == 3, "\(r)")
        #expect(token["rooms"] == JSONValue.array(["notes"]) && token["scope"]?.stringValue == "read", "\(r)")
        #expect(token["subject"]?.stringValue == "ada", "\(r)")
        #expect(token["expires"]?.stringValue?.hasSuffix("Z") == true, "\(r)")
    }

    // MARK: errors

    @Test("a failure with --json: one JSON line on stderr whose code is the exit status; without --json 'Error: ...' as before")
    func failures() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let missing = dir.file("missing.ystore")
        for args in [["cat", missing], ["insert", missing, "0", "x"], ["export", missing, "-o", dir.file("x.bin")], ["compact", missing]] {
            let r = try await Ycli.run(args + ["--json"])
            let error = try expectJSONError(r, code: 1, args)
            #expect(error.contains("no store at \(missing)"), "\(args): \(r)")
            #expect(r.out.isEmpty, "\(args): \(r)")
        }
        let plain = try await Ycli.run(["insert", missing, "0", "x"])
        #expect(plain.status == 1 && plain.err.hasPrefix("Error: no store at \(missing)"), "\(plain)")

        // Usage errors: parsing, validate(), an unknown command, a ValidationError thrown by run().
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store])
        for args in [["insert", store, "--json"], ["insert", store, "-1", "x", "--json"], ["nosuchcommand", "--json"],
                     ["export", store, "--json"], ["update", "merge", "--json", "-o", dir.file("m.bin")],
                     ["update", "state-vector", "-o", "-", "--json", dir.file("u.bin")]] {
            let r = try await Ycli.run(args)
            let error = try expectJSONError(r, code: 64, args)
            #expect(!error.isEmpty && !error.contains("Usage"), "\(args): \(r)")
        }
        let usage = try await Ycli.run(["insert", store, "-1", "x"])
        #expect(usage.status == 64 && usage.err.hasPrefix("Error: ") && usage.err.contains("Usage:"), "\(usage)")
        if try await hasServer() {
            let r = try await Ycli.run(["token", "--room", "r", "--json"], env: ["YSYNC_JWT_SECRET": ""])
            _ = try expectJSONError(r, code: 64, ["token"])
        }

        // A failed operation on an existing store; help is still help.
        let past = try await Ycli.run(["insert", store, "9", "x", "--json"])
        #expect(try expectJSONError(past, code: 1, ["insert past the end"]).contains("past the end"))
        let help = try await Ycli.run(["insert", "--help", "--json"])
        #expect(help.ok && help.out.contains("USAGE"), "\(help)")
        let top = try await Ycli.ok(["--help"]).out
        #expect(top.contains("EXIT CODES") && top.contains("75") && top.contains("\"code\""), "\(top)")
    }

    @Test("a store locked by 'sync --watch': exit 75, as JSON with --json")
    func lockedStore() async throws {
        guard try await hasServer() else { return }
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store])
        // A watcher whose server never answers (port 1): it holds the store and keeps redialling.
        let watch = try Ycli.start(["sync", store, "ws://127.0.0.1:1/parties/main/r", "--watch"], input: .none)
        defer { watch.stop() }
        var line = ""
        while !line.contains("\"watching\"") { line = try await watch.nextLine() }

        let r = try await Ycli.run(["insert", store, "0", "x", "--json"])
        #expect(try expectJSONError(r, code: 75, ["insert"]).contains("in use by process \(watch.pid)"))
        let plain = try await Ycli.run(["version", store, "v1"])
        #expect(plain.status == 75 && plain.err.hasPrefix("Error: store \(store) is in use"), "\(plain)")
        #expect(try await watch.signal(SIGKILL) == SIGKILL)
        #expect(try await Ycli.ok(["insert", store, "0", "x", "--json"]).json()["inserted"] == 1)
    }

    @Test("sync: unreachable server exits 69, refused by the server 77, a bad URL 64")
    func syncFailures() async throws {
        guard try await hasServer() else { return }
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store])
        try await Ycli.ok(["insert", store, "0", "offline"])

        let closed = try await Ycli.run(["sync", store, "ws://127.0.0.1:1/parties/main/r", "--timeout", "20", "--json"], timeout: 60)
        #expect(try expectJSONError(closed, code: 69, ["sync closed port"]).contains("cannot connect"))
        let bad = try await Ycli.run(["sync", store, "http://127.0.0.1:1/x", "--json"])
        #expect(try expectJSONError(bad, code: 64, ["sync http URL"]).contains("not a WebSocket URL"))

        let secret = String(repeating: "k3y-", count: 10)
        let server = try Ycli.start(["serve", "--host", "127.0.0.1", "--port", "0", "--data", dir.file("data"),
                                     "--jwt-secret", secret, "--log-level", "error"], label: "ycli serve")
        defer { server.stop() }
        let port = try #require(try await server.nextJSON()["port"] as? Int)
        let url = "ws://127.0.0.1:\(port)/parties/main/r"
        let noToken = try await Ycli.run(["sync", store, url, "--timeout", "30", "--json"], env: ["YSYNC_TOKEN": ""], timeout: 60)
        #expect(try expectJSONError(noToken, code: 77, ["sync without a token"]).contains("refused"))
        let reader = try await Ycli.ok(["token", "--secret", secret, "--room", "r", "--scope", "read"]).out
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let readOnly = try await Ycli.run(["sync", store, url, "--token", reader, "--timeout", "30", "--json"], timeout: 60)
        #expect(try expectJSONError(readOnly, code: 77, ["sync with a read-only token"]).contains("refused"))
        // Without --json the same code, and the sentence as before.
        let plain = try await Ycli.run(["sync", store, url, "--timeout", "30"], env: ["YSYNC_TOKEN": ""], timeout: 60)
        #expect(plain.status == 77 && plain.err.hasPrefix("Error: cannot connect"), "\(plain)")
    }
}

// MARK: helpers

/// The last journal seq of `store` (its `status --json`).
private func lastSeq(_ store: String) async throws -> Int {
    try #require(try await Ycli.ok(["status", store, "--json"]).json()["lastSeq"]?.intValue)
}

/// Whether this ycli was built with the server (not YSYNC_CORE_ONLY=1): sync URL, serve, token.
private func hasServer() async throws -> Bool {
    try await Ycli.run(["token", "--help"]).ok
}

/// Checks that `r` failed with exit status `code` and that stderr is exactly one line, the JSON
/// object {"error": String, "code": code}; returns the message.
@discardableResult
private func expectJSONError(_ r: ProcessResult, code: Int, _ what: [String],
                             sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    #expect(r.status == Int32(code) && !r.signalled, "\(what): \(r)", sourceLocation: sourceLocation)
    #expect(r.err.hasSuffix("\n") && r.err.dropLast().split(separator: "\n", omittingEmptySubsequences: false).count == 1,
            "\(what): stderr is not one line: \(r)", sourceLocation: sourceLocation)
    let object = try JSONValue.parse(r.stderr)
    #expect(object.objectValue.map { Set($0.keys) } == ["error", "code"], "\(what): \(r)", sourceLocation: sourceLocation)
    #expect(object["code"]?.intValue == code, "\(what): \(r)", sourceLocation: sourceLocation)
    return object["error"]?.stringValue ?? ""
}
