import Foundation
import Testing
import CRDT
import TestSupport

/// `ycli update convert`, and v1/v2 detection in `update inspect` and `import` (issue 14).
@Suite("ycli update v2")
struct UpdateFormatCommandTests {
    @Test("convert v1 -> v2 -> v1 gives Yjs' conversion bytes back; inspect names the format")
    func convertAndInspect() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = dir.file("a.ystore")
        try await Ycli.ok(["init", a, "--client-id", "5"])
        try await Ycli.ok(["insert", a, "0", "héllo 😀 wörld"])
        try await Ycli.ok(["delete", a, "2", "3"])
        try await Ycli.ok(["export", a, "-o", dir.file("a.v1")])
        let v1 = try dir.read("a.v1")

        let report = try await Ycli.ok(["update", "convert", "--to", "v2", dir.file("a.v1"), "-o", dir.file("a.v2"), "--json"]).json()
        let v2 = try dir.read("a.v2")
        #expect(report == ["output": .string(dir.file("a.v2")), "bytes": .number(Double(v2.count)), "from": "v1", "to": "v2"], "\(report)")
        #expect(v2 == (try Updates.convertV1ToV2(v1)))
        try await Ycli.ok(["update", "convert", "--to", "v1", dir.file("a.v2"), "-o", dir.file("back.v1")])
        #expect(try dir.read("back.v1") == (try Updates.convertV2ToV1(v2)))
        // Already in the target format: unchanged.
        try await Ycli.ok(["update", "convert", "--to", "v2", dir.file("a.v2"), "-o", dir.file("same.v2")])
        #expect(try dir.read("same.v2") == v2)

        #expect(try await Ycli.ok(["update", "inspect", dir.file("a.v2")]).out.hasPrefix("format: v2\n"))
        #expect(try await Ycli.ok(["update", "inspect", dir.file("a.v1")]).out.hasPrefix("format: v1\n"))
        let inspected = try await Ycli.ok(["update", "inspect", "--json", dir.file("a.v2")]).json()
        #expect(inspected["format"]?.stringValue == "v2" && inspected["bytes"]?.intValue == v2.count, "\(inspected)")

        let bad = try await Ycli.run(["update", "convert", "--to", "v3", dir.file("a.v1"), "-o", dir.file("x")])
        #expect(bad.status == 64, "\(bad)")
    }

    @Test("import reads a v2 file; bytes left over after a v1 update are an error, nothing written")
    func importDetects() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let a = dir.file("a.ystore"), b = dir.file("b.ystore")
        try await Ycli.ok(["init", a, "--client-id", "1"])
        try await Ycli.ok(["init", b, "--client-id", "2"])
        try await Ycli.ok(["insert", a, "0", "from a"])
        try await Ycli.ok(["export", a, "-o", dir.file("a.v1")])
        try await Ycli.ok(["update", "convert", "--to", "v2", dir.file("a.v1"), "-o", dir.file("a.v2")])

        let imported = try await Ycli.ok(["import", b, dir.file("a.v2"), "--json"]).json()
        #expect(imported["files"]?.arrayValue?.first?["applied"]?.boolValue == true, "\(imported)")
        #expect(try await Ycli.ok(["cat", b]).out == "from a")

        // A v1 update followed by junk: refused (it used to be read as the v1 part alone).
        let junk = try dir.write("junk.bin", try dir.read("a.v1") + [0x07, 0x07])
        let c = dir.file("c.ystore")
        try await Ycli.ok(["init", c, "--client-id", "3"])
        let refused = try await Ycli.run(["import", c, junk])
        #expect(refused.status == 1 && refused.err.contains("trailing bytes"), "\(refused)")
        #expect(try await Ycli.ok(["cat", c]).out == "")
    }
}
