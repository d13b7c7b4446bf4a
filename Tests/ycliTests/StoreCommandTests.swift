import CRDT
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The local-replica commands of ycli, run as real processes on temporary stores.
@Suite("ycli store commands")
struct StoreCommandTests {
    // MARK: editing

    @Test("init / insert / delete / cat: positions count code points (accents, CJK, emoji)", arguments: TestEnvironment.seeds(base: 3, salt: 9_100))
    func insertDeleteRoundTrip(seed: UInt64) async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store, "--client-id", "5"])
        var rng = SeededRandom(seed: seed)
        let pieces = ["é", "😀", "文字", "a", "👩‍👩‍👧", "\n", "xyz", "Ω̈", "🇫🇷"]
        var model = ""
        for step in 0..<24 {
            if model.isEmpty || rng.chance(0.65) {
                let p = rng.int(0...model.scalarCount)
                let s = (0..<rng.int(1...3)).map { _ in rng.pick(pieces) }.joined()
                try await Ycli.ok(["insert", store, String(p), s])
                model = model.insertingScalars(s, at: p)
            } else {
                let p = rng.int(0..<model.scalarCount)
                let n = rng.int(1...min(4, model.scalarCount - p))
                try await Ycli.ok(["delete", store, String(p), String(n)])
                model = model.deletingScalars(at: p, count: n)
            }
            if step % 6 == 5 {
                #expect(try await Ycli.ok(["cat", store]).out == model, "seed \(seed) step \(step)")
            }
        }
        #expect(try await Ycli.ok(["cat", store]).out == model, "seed \(seed)")
        let cat = try await Ycli.ok(["cat", store, "--json"]).json()
        #expect(cat["text"]?.stringValue == model)
        #expect(cat["characters"]?.intValue == model.scalarCount)
        #expect(cat["utf16Length"]?.intValue == model.utf16.count)
        let status = try await Ycli.ok(["status", store, "--json"]).json()
        #expect(status["clientID"]?.intValue == 5)
        #expect(status["characters"]?.intValue == model.scalarCount)
        #expect(status["rows"]?.intValue == 24)
    }

    @Test("insert and delete at emoji boundaries, then a text that starts with '-'")
    func emojiBoundaries() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store])
        try await Ycli.ok(["insert", store, "0", "a😀b😀c"])
        try await Ycli.ok(["insert", store, "2", "é"])     // after the first emoji
        try await Ycli.ok(["delete", store, "4", "1"])     // the second emoji... is at 4
        #expect(try await Ycli.ok(["cat", store]).out == "a😀ébc")
        try await Ycli.ok(["insert", store, "5", "--", "-dash"])
        #expect(try await Ycli.ok(["cat", store]).out == "a😀ébc-dash")
        // Nothing to do is not an error and writes nothing.
        let rows = try await Ycli.ok(["status", store, "--json"]).json()["rows"]?.intValue
        try await Ycli.ok(["delete", store, "0", "0"])
        #expect(try await Ycli.ok(["status", store, "--json"]).json()["rows"]?.intValue == rows)
    }

    @Test("--text works on another root text; init remembers it")
    func otherRootText() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store, "--text", "notes"])
        try await Ycli.ok(["insert", store, "0", "in notes"])
        try await Ycli.ok(["insert", store, "0", "in codemirror", "--text", "codemirror"])
        #expect(try await Ycli.ok(["cat", store]).out == "in notes")
        #expect(try await Ycli.ok(["cat", store, "--text", "codemirror"]).out == "in codemirror")
        let export = dir.file("full.bin")
        try await Ycli.ok(["export", store, "-o", export])
        let doc = YDoc()
        try doc.applyUpdate(try dir.read("full.bin"))
        #expect(doc.getText("notes").string == "in notes")
        #expect(doc.getText("codemirror").string == "in codemirror")
    }

    @Test("write replaces the content by a minimal diff (file and standard input)")
    func writeMinimalDiff() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store, "--client-id", "11"])
        let lines = (0..<80).map { "line \($0): the quick brown fox jumps over the lazy dog ✓\n" }
        let v1 = lines.joined()
        let f1 = try dir.write("v1.txt", v1)
        try await Ycli.ok(["write", store, f1])
        #expect(try await Ycli.ok(["cat", store]).out == v1)
        let sv1 = try await Ycli.ok(["status", store, "--json"]).json()["stateVector"]?["11"]?.intValue ?? -1
        #expect(sv1 == v1.utf16.count)

        var changed = lines
        changed[40] = "line 40: the quick RED fox jumps over the lazy dog ✓\n"
        let v2 = changed.joined()
        let r = try await Ycli.ok(["write", store, "-"], stdin: Array(v2.utf8))
        #expect(r.out.contains("1 change: 5 characters deleted, 3 inserted"), "\(r)")
        #expect(try await Ycli.ok(["cat", store]).out == v2)
        // Only "RED" became new items: the client's clock advanced by 3 UTF-16 units.
        let status = try await Ycli.ok(["status", store, "--json"]).json()
        #expect(status["stateVector"]?["11"]?.intValue == sv1 + 3)
        // The journal row of the second write is small (the first one holds the whole text).
        let log = try await Ycli.ok(["log", store, "--json"]).json().arrayValue ?? []
        #expect(log.count == 2)
        #expect((log.last?["rawBytes"]?.intValue ?? .max) < 64, "\(log)")
        #expect(log.last?["origin"]?.stringValue == "write")

        // Writing the same content again changes nothing.
        try await Ycli.ok(["write", store, "-"], stdin: Array(v2.utf8))
        #expect(try await Ycli.ok(["log", store, "--json"]).json().arrayValue?.count == 2)
        // An empty input empties the text.
        try await Ycli.ok(["write", store], stdin: [])
        #expect(try await Ycli.ok(["cat", store]).out == "")
    }

    @Test("write keeps a concurrent edit made elsewhere (two stores exchanging exports)")
    func writeKeepsConcurrentEdit() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = dir.file("a.ystore"), b = dir.file("b.ystore")
        try await Ycli.ok(["init", a])
        try await Ycli.ok(["init", b])
        let base = "Title\n\nFirst paragraph, about apples.\n\nSecond paragraph, about pears.\n"
        try await Ycli.ok(["write", a, "-"], stdin: Array(base.utf8))
        try await Ycli.ok(["export", a, "-o", dir.file("a0.bin")])
        try await Ycli.ok(["import", b, dir.file("a0.bin")])
        try await Ycli.ok(["export", a, "--state-vector", "-o", dir.file("a0.sv")])
        try await Ycli.ok(["export", b, "--state-vector", "-o", dir.file("b0.sv")])

        // A rewrites the title and the first paragraph; B edits the second paragraph meanwhile.
        let aText = "A better title\n\nFirst paragraph, about green apples.\n\nSecond paragraph, about pears.\n"
        try await Ycli.ok(["write", a, "-"], stdin: Array(aText.utf8))
        let pos = base.scalarCount - "pears.\n".scalarCount
        try await Ycli.ok(["insert", b, String(pos), "ripe "])

        try await Ycli.ok(["export", a, "--since", dir.file("b0.sv"), "-o", dir.file("a1.bin")])
        try await Ycli.ok(["export", b, "--since", dir.file("a0.sv"), "-o", dir.file("b1.bin")])
        try await Ycli.ok(["import", a, dir.file("b1.bin")])
        try await Ycli.ok(["import", b, dir.file("a1.bin")])
        let expected = "A better title\n\nFirst paragraph, about green apples.\n\nSecond paragraph, about ripe pears.\n"
        #expect(try await Ycli.ok(["cat", a]).out == expected)
        #expect(try await Ycli.ok(["cat", b]).out == expected)
    }

    @Test("edit runs $EDITOR on the text and writes the result; a failing editor writes nothing")
    func editWithEditor() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store])
        try await Ycli.ok(["write", store, "-"], stdin: Array("one two three\n".utf8))
        // An "editor" that rewrites the file it is given (its path is the last argument).
        let script = try dir.write("ed.sh", "#!/bin/sh\nprintf 'one 2 three 😀\\n' > \"$1\"\n")
        chmod(script, 0o755)
        let r = try await Ycli.ok(["edit", store], env: ["EDITOR": script])
        #expect(r.out.contains("deleted"), "\(r)")
        #expect(try await Ycli.ok(["cat", store]).out == "one 2 three 😀\n")

        let before = StoreFiles(store)
        let failed = try await Ycli.run(["edit", store], env: ["EDITOR": "false"])
        #expect(failed.status != 0)
        #expect(failed.err.contains("editor"), "\(failed)")
        #expect(StoreFiles(store) == before)
        // An editor that changes nothing writes nothing.
        let same = try await Ycli.ok(["edit", store], env: ["VISUAL": "true"])
        #expect(same.out.contains("no change"))
        #expect(StoreFiles(store) == before)
    }

    @Test("edit merges when the store changed while the editor was open")
    func editMergesConcurrentChange() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store])
        try await Ycli.ok(["write", store, "-"], stdin: Array("top line\nmiddle\nbottom line\n".utf8))
        // The "editor" first changes the store through another ycli, then edits its file.
        let binary = try #require(Ycli.binary)
        let script = try dir.write("ed.sh", """
            #!/bin/sh
            "$YCLI" insert "$STORE" 0 "NEW " >/dev/null || exit 3
            printf 'top line\nmiddle\nbottom LINE\n' > "$1"
            """)
        chmod(script, 0o755)
        let r = try await Ycli.ok(["edit", store], env: ["EDITOR": script, "YCLI": binary, "STORE": store])
        #expect(r.out.contains("merged"), "\(r)")
        #expect(try await Ycli.ok(["cat", store]).out == "NEW top line\nmiddle\nbottom LINE\n")
        #expect(try await Ycli.ok(["log", store, "--json"]).json().arrayValue?.last?["origin"]?.stringValue == "edit (merged)")
    }

    // MARK: inspection

    @Test("status --json and log --json parse and agree with the journal")
    func statusAndLogJSON() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        let created = try await Ycli.ok(["init", store, "--client-id", "424242"])
        #expect(created.out.contains("424242"))
        try await Ycli.ok(["insert", store, "0", "hello"])
        try await Ycli.ok(["insert", store, "5", " world"])
        try await Ycli.ok(["delete", store, "0", "1"])
        let s = try await Ycli.ok(["status", store, "--json"]).json()
        #expect(s["clientID"]?.intValue == 424242)
        #expect(s["stateVector"] == .object(["424242": 11]))
        #expect(s["rows"]?.intValue == 3)
        #expect(s["lastSeq"]?.intValue == 3)
        #expect(s["characters"]?.intValue == 10)
        #expect((s["rawBytes"]?.intValue ?? 0) > 0)
        #expect((s["storedBytes"]?.intValue ?? 0) > 0)
        #expect((s["fileBytes"]?.intValue ?? 0) > 0)
        #expect(s["lastSnapshot"] == .null)
        #expect(s["quarantined"]?.intValue == 0)
        #expect(s["rootText"]?.stringValue == "codemirror")
        #expect(s["pending"]?.boolValue == false)

        let log = try await Ycli.ok(["log", store, "--json"]).json().arrayValue ?? []
        #expect(log.map { $0["seq"]?.intValue } == [1, 2, 3])
        #expect(log.map { $0["origin"]?.stringValue } == ["insert", "insert", "delete"])
        for e in log {
            #expect(e["time"]?.stringValue.flatMap(isoSeconds) != nil, "\(e)")
            #expect(e["compressed"]?.boolValue != nil)
        }
        #expect(try await Ycli.ok(["log", store, "--json", "--after", "1", "--limit", "1"]).json().arrayValue?.count == 1)
        // The plain forms work too and show no progress line (standard error is not a terminal).
        let plain = try await Ycli.ok(["status", store])
        #expect(plain.out.contains("client id") && plain.out.contains("424242"))
        #expect(plain.stderr.isEmpty)
        #expect(try await Ycli.ok(["log", store]).out.contains("delete"))
    }

    @Test("compact keeps content and state vector; the store reopens the same")
    func compactKeepsContent() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store])
        var model = ""
        for i in 0..<12 {
            let s = "edit \(i) ✓ "
            try await Ycli.ok(["insert", store, String(model.scalarCount / 2), s])
            model = model.insertingScalars(s, at: model.scalarCount / 2)
        }
        try await Ycli.ok(["delete", store, "3", "7"])
        model = model.deletingScalars(at: 3, count: 7)
        let before = try await Ycli.ok(["status", store, "--json"]).json()
        let r = try await Ycli.ok(["compact", store])
        #expect(r.out.contains("snapshot up to seq 13"), "\(r)")
        let after = try await Ycli.ok(["status", store, "--json"]).json()
        #expect(try await Ycli.ok(["cat", store]).out == model)
        #expect(after["stateVector"] == before["stateVector"])
        #expect(after["snapshots"]?.intValue == 1)
        #expect(after["lastSnapshot"]?["seq"]?.intValue == 13)
        #expect(after["tailRows"]?.intValue == 0)
        // Compacting again has nothing to do; edits continue on top of the snapshot.
        #expect(try await Ycli.ok(["compact", store]).out.contains("nothing to compact"))
        try await Ycli.ok(["insert", store, "0", "after "])
        #expect(try await Ycli.ok(["cat", store]).out == "after " + model)
        #expect(try await Ycli.ok(["journal", "check", store]).out.contains("no problems"))
    }

    // MARK: history

    /// The `unixTime` of the store's last journal row.
    private func lastRowTime(_ store: String) async throws -> Double {
        let log = try await Ycli.ok(["log", store, "--json"]).json().arrayValue ?? []
        return try #require(log.last?["unixTime"]?.doubleValue)
    }

    /// Waits until the wall clock is 10 ms past `time` (the next row then gets a later time).
    private func waitForClock(after time: Double) async throws {
        try await eventually("the clock passes \(time) + 10 ms") { Date().timeIntervalSince1970 > time + 0.01 }
    }

    @Test("history lists rows and versions; --at a seq, a version or a time prints the old text")
    func historyAtSeqVersionTime() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store])
        try await Ycli.ok(["write", store, "-"], stdin: Array("first draft\n".utf8))
        try await Ycli.ok(["version", store, "draft-1"])
        try await waitForClock(after: lastRowTime(store))
        try await Ycli.ok(["write", store, "-"], stdin: Array("second draft, longer\n".utf8))
        // Row 3 comes measurably after row 2, so a time between them exists (checked below).
        try await waitForClock(after: lastRowTime(store))
        try await Ycli.ok(["write", store, "-"], stdin: Array("final text ✓\n".utf8))

        #expect(try await Ycli.ok(["history", store, "--at", "1"]).out == "first draft\n")
        #expect(try await Ycli.ok(["history", store, "--at", "2"]).out == "second draft, longer\n")
        #expect(try await Ycli.ok(["history", store, "--at", "0"]).out == "")
        #expect(try await Ycli.ok(["history", store, "--at", "draft-1"]).out == "first draft\n")
        let j = try await Ycli.ok(["history", store, "--at", "draft-1", "--json"]).json()
        #expect(j["seq"]?.intValue == 1)
        #expect(j["text"]?.stringValue == "first draft\n")

        // By time: a time after row 2 and before row 3 gives the state after row 2.
        let log = try await Ycli.ok(["log", store, "--json"]).json().arrayValue ?? []
        let unix2 = try #require(log[1]["unixTime"]?.doubleValue)
        let unix3 = try #require(log[2]["unixTime"]?.doubleValue)
        try #require(unix3 - unix2 > 0.004, "rows 2 and 3 are too close in time")
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let between = iso.string(from: Date(timeIntervalSince1970: (unix2 + unix3) / 2))
        #expect(try await Ycli.ok(["history", store, "--at", between]).out == "second draft, longer\n")
        #expect(try await Ycli.ok(["history", store, "--at", "@\(unix2)"]).out == "second draft, longer\n")
        #expect(try await Ycli.ok(["history", store, "--at", "1999-01-01T00:00:00Z"]).out == "")
        #expect(try await Ycli.ok(["history", store, "--at", "2999-01-01"]).out == "final text ✓\n")

        let list = try await Ycli.ok(["history", store]).out
        #expect(list.contains("draft-1"))
        let lj = try await Ycli.ok(["history", store, "--json"]).json()
        #expect(lj["versions"]?.arrayValue?.first?["name"]?.stringValue == "draft-1")
        #expect(lj["entries"]?.arrayValue?.count == 3)

        // Errors: unknown name, seq past the end, a reused version name.
        let bad = try await Ycli.run(["history", store, "--at", "nope"])
        #expect(bad.status != 0 && bad.err.contains("nope"))
        let past = try await Ycli.run(["history", store, "--at", "99"])
        #expect(past.status != 0 && past.err.contains("99"))
        let dup = try await Ycli.run(["version", store, "draft-1"])
        #expect(dup.status != 0 && dup.err.contains("draft-1"))
        let digits = try await Ycli.run(["version", store, "42"])
        #expect(digits.status != 0)
    }

    @Test("restore writes the old text as a new edit on top; history is not rewritten")
    func restoreOnTop() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store])
        try await Ycli.ok(["write", store, "-"], stdin: Array("alpha beta gamma\n".utf8))
        try await Ycli.ok(["version", store, "v1"])
        try await Ycli.ok(["write", store, "-"], stdin: Array("alpha BETA gamma delta\n".utf8))
        try await Ycli.ok(["insert", store, "0", "> "])
        let r = try await Ycli.ok(["restore", store, "--at", "v1"])
        #expect(r.out.contains("restored"), "\(r)")
        #expect(try await Ycli.ok(["cat", store]).out == "alpha beta gamma\n")
        let log = try await Ycli.ok(["log", store, "--json"]).json().arrayValue ?? []
        #expect(log.count == 4)
        #expect(log.last?["origin"]?.stringValue?.hasPrefix("restore") == true)
        // The states in between are still there.
        #expect(try await Ycli.ok(["history", store, "--at", "3"]).out == "> alpha BETA gamma delta\n")
        // Restoring a seq by number works too, and restoring the current state writes nothing.
        try await Ycli.ok(["restore", store, "--at", "2"])
        #expect(try await Ycli.ok(["cat", store]).out == "alpha BETA gamma delta\n")
        let again = try await Ycli.ok(["restore", store, "--at", "2"])
        #expect(again.out.contains("nothing written"))
        #expect(try await Ycli.ok(["log", store, "--json"]).json().arrayValue?.count == 5)
    }

    // MARK: export / import

    @Test("export then import into another store gives the same text; --since exports only the difference")
    func exportImport() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = dir.file("a.ystore"), b = dir.file("b.ystore")
        try await Ycli.ok(["init", a, "--client-id", "1"])
        try await Ycli.ok(["init", b, "--client-id", "2"])
        let big = (0..<50).map { "paragraph \($0) — ünïcödé 文字 😀\n" }.joined()
        try await Ycli.ok(["write", a, "-"], stdin: Array(big.utf8))
        try await Ycli.ok(["export", a, "-o", dir.file("full.bin")])
        let imported = try await Ycli.ok(["import", b, dir.file("full.bin")])
        #expect(imported.out.contains("applied"))
        #expect(try await Ycli.ok(["cat", b]).out == big)
        // Importing it again brings nothing new and writes no row.
        #expect(try await Ycli.ok(["import", b, dir.file("full.bin")]).out.contains("nothing new"))
        #expect(try await Ycli.ok(["log", b, "--json"]).json().arrayValue?.count == 1)

        // A edits a little; B asks only for what it lacks.
        try await Ycli.ok(["export", b, "--state-vector", "-o", dir.file("b.sv")])
        try await Ycli.ok(["insert", a, "3", "[new]"])
        try await Ycli.ok(["delete", a, "100", "5"])
        try await Ycli.ok(["export", a, "--since", dir.file("b.sv"), "-o", dir.file("diff.bin")])
        let full = try dir.read("full.bin"), diff = try dir.read("diff.bin")
        #expect(diff.count < 60, "diff is \(diff.count) bytes, the full state \(full.count)")
        // The difference holds only client 1's structs from B's clock on, and the deletion.
        let decoded = try UpdateDecoderV1.decode(diff)
        let bClock = UInt32(big.utf16.count)
        for g in decoded.groups {
            #expect(g.client == 1)
            for s in g.structs { #expect(s.id.clock >= bClock) }
        }
        try await Ycli.ok(["import", b, dir.file("diff.bin")])
        #expect(try await Ycli.ok(["cat", b]).out == (try await Ycli.ok(["cat", a]).out))
        #expect(try await Ycli.ok(["status", b, "--json"]).json()["stateVector"] == (try await Ycli.ok(["status", a, "--json"]).json()["stateVector"]))
        // Export to standard output is the same bytes as to a file.
        let stdoutExport = try await Ycli.ok(["export", a, "-o", "-"]).stdout
        try await Ycli.ok(["export", a, "-o", dir.file("full2.bin")])
        #expect(stdoutExport == (try dir.read("full2.bin")))
    }

    @Test("import of several files, including one whose dependencies come later")
    func importSeveral() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = dir.file("a.ystore"), b = dir.file("b.ystore")
        try await Ycli.ok(["init", a])
        try await Ycli.ok(["init", b])
        try await Ycli.ok(["insert", a, "0", "one "])
        try await Ycli.ok(["export", a, "-o", dir.file("1.bin")])
        try await Ycli.ok(["export", a, "--state-vector", "-o", dir.file("1.sv")])
        try await Ycli.ok(["insert", a, "4", "two"])
        try await Ycli.ok(["export", a, "--since", dir.file("1.sv"), "-o", dir.file("2.bin")])
        // The second first: it waits for the first (a warning), then both apply.
        let r = try await Ycli.ok(["import", b, dir.file("2.bin")])
        #expect(r.err.contains("wait"), "\(r)")
        try await Ycli.ok(["import", b, dir.file("1.bin")])
        #expect(try await Ycli.ok(["cat", b]).out == "one two")
        let c = dir.file("c.ystore")
        try await Ycli.ok(["init", c])
        try await Ycli.ok(["import", c, dir.file("1.bin"), dir.file("2.bin")])
        #expect(try await Ycli.ok(["cat", c]).out == "one two")
    }

    // MARK: bad input

    /// Runs a command that must fail; checks the exit code, a message naming the problem, and
    /// that the store's files are byte for byte what they were.
    private func expectRefused(_ args: [String], store: String, mentions: String, stdin: [UInt8] = [],
                               sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let before = StoreFiles(store)
        let r = try await Ycli.run(args, stdin: stdin)
        #expect(r.status != 0, "ycli \(args) should fail: \(r)", sourceLocation: sourceLocation)
        #expect(r.err.lowercased().contains(mentions.lowercased()), "message of ycli \(args): \(r)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, "\(r)", sourceLocation: sourceLocation)
        #expect(StoreFiles(store) == before, "ycli \(args) changed \(store)", sourceLocation: sourceLocation)
    }

    @Test("bad input: a clear message, a non-zero exit, nothing written")
    func badInput() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store])
        try await Ycli.ok(["insert", store, "0", "héllo 😀"])
        let rowsBefore = try await Ycli.ok(["log", store, "--json"]).json()

        // Positions past the end (7 characters).
        try await expectRefused(["insert", store, "8", "x"], store: store, mentions: "past the end")
        try await expectRefused(["delete", store, "5", "3"], store: store, mentions: "past the end")
        try await expectRefused(["delete", store, "8", "1"], store: store, mentions: "past the end")
        try await expectRefused(["insert", store, "-1", "x"], store: store, mentions: "POS")

        // Unreadable or invalid input files.
        try await expectRefused(["write", store, dir.file("missing.txt")], store: store, mentions: "no such file")
        try FileManager.default.createDirectory(atPath: dir.file("adir"), withIntermediateDirectories: false)
        try await expectRefused(["write", store, dir.file("adir")], store: store, mentions: "directory")
        try await expectRefused(["write", store, try dir.write("latin1.txt", [0x63, 0x61, 0x66, 0xE9])], store: store, mentions: "UTF-8")
        try await expectRefused(["write", store, dir.file("latin1.txt") + "/inside"], store: store, mentions: "not a directory")
        if geteuid() != 0 {  // root reads anything
            let locked = try dir.write("locked.txt", "secret")
            chmod(locked, 0)
            try await expectRefused(["write", store, locked], store: store, mentions: "permission")
        }

        // Garbage updates, a truncated one, a missing one; a bad state vector.
        var rng = SeededRandom(seed: 5)
        let garbage = try dir.write("garbage.bin", (0..<200).map { _ in UInt8(rng.int(0...255)) })
        try await expectRefused(["import", store, garbage], store: store, mentions: "garbage.bin")
        let other = dir.file("o.ystore")
        try await Ycli.ok(["init", other])
        try await Ycli.ok(["insert", other, "0", "some text to export"])
        try await Ycli.ok(["export", other, "-o", dir.file("good.bin")])
        let good = try dir.read("good.bin")
        let truncated = try dir.write("truncated.bin", Array(good.prefix(good.count - 5)))
        try await expectRefused(["import", store, truncated], store: store, mentions: "truncated.bin")
        // A good file followed by a bad one: neither is imported.
        try await expectRefused(["import", store, dir.file("good.bin"), garbage], store: store, mentions: "garbage.bin")
        try await expectRefused(["import", store, dir.file("nothing.bin")], store: store, mentions: "no such file")
        try await expectRefused(["export", store, "--since", garbage, "-o", dir.file("x.bin")], store: store, mentions: "state vector")
        #expect(!dir.exists("x.bin"))

        #expect(try await Ycli.ok(["log", store, "--json"]).json() == rowsBefore)
        #expect(try await Ycli.ok(["cat", store]).out == "héllo 😀")

        // A store that already exists is not overwritten.
        try await expectRefused(["init", store], store: store, mentions: "already exists")
    }

    @Test("missing store, not a store, a directory: refused, nothing created or changed")
    func notAStore() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let missing = dir.file("missing.ystore")
        for args in [["cat", missing], ["insert", missing, "0", "x"], ["status", missing], ["log", missing],
                     ["export", missing, "-o", dir.file("out.bin")], ["journal", "check", missing], ["compact", missing]] {
            let r = try await Ycli.run(args)
            #expect(r.status != 0, "\(args): \(r)")
            #expect(r.err.contains("no store"), "\(args): \(r)")
            #expect(!dir.exists("missing.ystore") && !dir.exists("missing.ystore-wal"), "\(args) created the store")
        }
        #expect(!dir.exists("out.bin"))
        let nowhere = try await Ycli.run(["init", dir.file("no/such/dir/s.ystore")])
        #expect(nowhere.status != 0 && nowhere.err.contains("no directory"), "\(nowhere)")

        // A random file and a text file: not stores, left untouched.
        var rng = SeededRandom(seed: 77)
        let junk = try dir.write("junk.ystore", (0..<8192).map { _ in UInt8(rng.int(0...255)) })
        let text = try dir.write("notes.txt", String(repeating: "just a text file\n", count: 100))
        try await Ycli.ok(["init", dir.file("real.ystore")])
        try await Ycli.ok(["insert", dir.file("real.ystore"), "0", "x"])
        try await Ycli.ok(["export", dir.file("real.ystore"), "-o", dir.file("u.bin")])
        for path in [junk, text] {
            for args in [["cat", path], ["insert", path, "0", "x"], ["write", path, "-"], ["status", path, "--json"],
                         ["import", path, dir.file("u.bin")], ["journal", "check", path], ["journal", "repair", path],
                         ["compact", path], ["version", path, "v1"], ["history", path]] {
                try await expectRefused(args, store: path, mentions: "not a ysync store")
            }
        }
        try await expectRefused(["cat", dir.path], store: dir.path, mentions: "directory")
        let empty = try dir.write("empty.ystore", [])
        try await expectRefused(["insert", empty, "0", "x"], store: empty, mentions: "not a ysync store")
    }

    // MARK: journal check / repair

    @Test("journal check reports a damaged row (exit 1), repair quarantines it, the rest loads")
    func journalCheckRepair() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let store = dir.file("s.ystore")
        try await Ycli.ok(["init", store])
        try await Ycli.ok(["insert", store, "0", "first "])
        // A row whose payload is random letters (LZ4 cannot shrink it: stored as is), so that it
        // can be found in the file.
        var rng = SeededRandom(seed: 3)
        let marker = String((0..<300).map { _ in Character(UnicodeScalar(UInt8(0x41 + rng.int(0..<26)))) })
        try await Ycli.ok(["export", store, "-o", dir.file("first.bin")])
        try await Ycli.ok(["insert", store, "6", marker])
        // Row 3 comes from another replica that only knew "first ": it does not build on row 2.
        let other = dir.file("other.ystore")
        try await Ycli.ok(["init", other])
        try await Ycli.ok(["import", other, dir.file("first.bin")])
        try await Ycli.ok(["insert", other, "0", "zero "])
        try await Ycli.ok(["export", other, "-o", dir.file("other.bin")])
        try await Ycli.ok(["import", store, dir.file("other.bin")])
        let healthy = try await Ycli.ok(["journal", "check", store, "--json"]).json()
        #expect(healthy["healthy"]?.boolValue == true)
        #expect(healthy["rowsChecked"]?.intValue == 3)

        // Flip a byte inside the row's payload (the WAL is checkpointed when ycli exits).
        #expect(!dir.exists("s.ystore-wal"))
        var bytes = try dir.read("s.ystore")
        let needle = Array(marker.utf8[marker.utf8.index(marker.utf8.startIndex, offsetBy: 100)...].prefix(24))
        let at = try #require(find(needle, in: bytes), "row payload not found in the database file")
        bytes[at + 3] ^= 0x20
        _ = try dir.write("s.ystore", bytes)

        let check = try await Ycli.run(["journal", "check", store])
        #expect(check.status == 1, "\(check)")
        #expect(check.out.contains("row 2"), "\(check)")
        let checkJSON = try await Ycli.run(["journal", "check", store, "--json"])
        #expect(checkJSON.status == 1)
        let problems = try checkJSON.json()["problems"]?.arrayValue ?? []
        #expect(problems.count == 1 && problems.first?["seq"]?.intValue == 2, "\(checkJSON)")

        // The store still opens; what is readable loads (with a warning).
        let cat = try await Ycli.run(["cat", store])
        #expect(cat.ok, "\(cat)")
        #expect(cat.err.contains("could not be loaded"), "\(cat)")
        #expect(cat.out == "zero first ", "\(cat)")

        let repair = try await Ycli.ok(["journal", "repair", store, "--json"]).json()
        #expect(repair["moved"]?.arrayValue?.count == 1)
        let after = try await Ycli.ok(["journal", "check", store])
        #expect(after.out.contains("no problems"), "\(after)")
        #expect(try await Ycli.ok(["status", store, "--json"]).json()["quarantined"]?.intValue == 1)
    }

    // MARK: help

    @Test("--help works for every command")
    func help() async throws {
        let commands: [[String]] = [["init"], ["insert"], ["delete"], ["write"], ["edit"], ["cat"], ["status"], ["log"],
                                    ["compact"], ["history"], ["restore"], ["version"], ["export"], ["import"],
                                    ["journal"], ["journal", "check"], ["journal", "repair"]]
        for c in commands {
            let r = try await Ycli.run(c + ["--help"])
            #expect(r.ok, "\(c): \(r)")
            #expect(r.out.contains("USAGE"), "\(c): \(r)")
        }
        let top = try await Ycli.ok(["--help"]).out
        for c in ["init", "insert", "write", "history", "restore", "export", "import", "journal"] {
            #expect(top.contains(c))
        }
    }
}

/// Unix seconds of an ISO-8601 UTC time with milliseconds ("2024-05-01T12:00:00.123Z").
func isoSeconds(_ s: String) -> Double? {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.date(from: s)?.timeIntervalSince1970
}

func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard needle.count <= haystack.count else { return nil }
    for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
        if Array(haystack[i..<i + needle.count]) == needle { return i }
    }
    return nil
}
