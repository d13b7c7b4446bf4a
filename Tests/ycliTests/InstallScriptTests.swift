import Foundation
import Testing
import TestSupport

/// `scripts/install.sh`: puts a working ycli, its completions and its man page under a prefix.
@Suite("scripts/install.sh")
struct InstallScriptTests {
    @Test("installs a working ycli, bash/zsh/fish completions and a man page under a temp prefix")
    func installsUnderPrefix() async throws {
        let ycli = try #require(Ycli.binary, "ycli not built")
        let prefix = TempDir("ycli-install")
        defer { prefix.remove() }
        let repo = RepoData.root.path
        let bash = BuiltExecutable("bash", binary: "/bin/bash")
        // The manual generator is built by scripts/test.sh beside ycli (no swift build inside a test).
        let mangen = URL(fileURLWithPath: ycli).deletingLastPathComponent().appendingPathComponent("generate-manual").path
        let r = try await bash.ok([repo + "/scripts/install.sh", "--prefix", prefix.path, "--binary", ycli],
                            cwd: repo, env: ["YSYNC_MANGEN": mangen])
        #expect(r.out.contains(prefix.path + "/bin/ycli"))

        let installed = BuiltExecutable("ycli", binary: prefix.file("bin/ycli"))
        #expect(try await installed.ok(["--help"]).out.contains("USAGE: ycli"))
        for (file, marker) in [("share/bash-completion/completions/ycli", "_ycli"),
                               ("share/zsh/site-functions/_ycli", "#compdef ycli"),
                               ("share/fish/vendor_completions.d/ycli.fish", "complete -c 'ycli'")] {
            let text = String(decoding: try prefix.read(file), as: UTF8.self)
            #expect(text.contains(marker), "\(file)")
        }
        let man = String(decoding: try prefix.read("share/man/man1/ycli.1"), as: UTF8.self)
        #expect(man.contains(".Dt YCLI 1"))
        #expect(man.contains("sync"))
    }

    @Test("a wrong argument or a missing binary fails with a clear message")
    func badArguments() async throws {
        let repo = RepoData.root.path
        let bash = BuiltExecutable("bash", binary: "/bin/bash")
        let unknown = try await bash.run([repo + "/scripts/install.sh", "--nonsense"], cwd: repo)
        #expect(unknown.status == 2)
        #expect(unknown.err.contains("unknown argument --nonsense"))
        let missing = try await bash.run([repo + "/scripts/install.sh", "--prefix", "/tmp/never-used", "--binary", "/nonexistent/ycli"], cwd: repo)
        #expect(missing.status == 1)
        #expect(missing.err.contains("no executable ycli at /nonexistent/ycli"))
    }
}
