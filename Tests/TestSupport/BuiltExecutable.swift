import Foundation

/// An executable of this package built next to the test binary (the same build products
/// directory: `swift build --build-tests` builds them all), run as a real child process through
/// `ChildProcess` (so waiting for it never blocks a thread of the cooperative pool).
public struct BuiltExecutable: Sendable {
    /// The product name (`ycli`, `ysync-bench`, `JournalCrashWorker`).
    public let name: String
    /// `$<overrideVariable>`, else `name` in the directory of the running test binary (or, for a
    /// macOS .xctest bundle, the directory holding the bundle), else `<repo>/.build/debug/<name>`.
    public let binary: String?
    private let overrideVariable: String?

    /// Looks `name` up as described at `binary`.
    public init(_ name: String, overrideVariable: String) {
        self.name = name
        self.overrideVariable = overrideVariable
        let fm = FileManager.default
        if let p = TestEnvironment.environment(overrideVariable), !p.isEmpty {
            binary = p
            return
        }
        var candidates: [URL] = []
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent(name))
            dir = dir.deletingLastPathComponent()
        }
        for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") {
            candidates.append(URL(fileURLWithPath: b.bundlePath).deletingLastPathComponent().appendingPathComponent(name))
        }
        candidates.append(RepoData.root.appendingPathComponent(".build/debug/\(name)"))
        binary = candidates.first { fm.isExecutableFile(atPath: $0.path) }?.path
    }

    /// A given program (e.g. `/bin/bash` for the project's scripts).
    public init(_ name: String, binary: String) {
        self.name = name
        self.binary = binary
        overrideVariable = nil
    }

    /// The binary's path, or an error saying how to build it.
    public func path() throws -> String {
        guard let binary else {
            throw ProcessFailure(
                "the \(name) executable was not found next to the test binary (\(CommandLine.arguments[0])): "
                    + "build it with 'swift build --build-tests' before 'swift test --skip-build'"
                    + (overrideVariable.map { ", or set \($0)" } ?? ""))
        }
        return binary
    }

    /// Runs `NAME args...` in `cwd` with `stdin` as standard input (killed after `timeout` s).
    public func run(_ args: [String], cwd: String? = nil, stdin: [UInt8] = [], env: [String: String] = [:],
                    timeout: Double = 120) async throws -> ProcessResult {
        // No editor may open from a test (ycli edit) unless `env` names one.
        try await ChildProcess.run(try path(), args, cwd: cwd, stdin: stdin, environment: env, unset: ["EDITOR", "VISUAL"],
                                   timeout: timeout, label: name)
    }

    /// Runs and requires exit status 0.
    @discardableResult
    public func ok(_ args: [String], cwd: String? = nil, stdin: [UInt8] = [], env: [String: String] = [:],
                   timeout: Double = 120) async throws -> ProcessResult {
        let r = try await run(args, cwd: cwd, stdin: stdin, env: env, timeout: timeout)
        if !r.ok { throw ProcessFailure("\(name) \(args.joined(separator: " ")) failed: \(r)") }
        return r
    }

    /// Starts `NAME args...` as a long-lived child (lines on stdin/stdout).
    public func start(_ args: [String], env: [String: String] = [:], cwd: String? = nil, input: ChildProcess.Input = .pipe,
                      label: String? = nil) throws -> ChildProcess {
        try ChildProcess(executable: try path(), arguments: args, environment: env, cwd: cwd, input: input,
                         label: label ?? "\(name) \(args.first ?? "")")
    }
}

/// The `ycli` under test (`$YCLI_BINARY` overrides).
public let Ycli = BuiltExecutable("ycli", overrideVariable: "YCLI_BINARY")
/// The `ysync-bench` under test (`$YSYNC_BENCH_BINARY` overrides).
public let YsyncBench = BuiltExecutable("ysync-bench", overrideVariable: "YSYNC_BENCH_BINARY")
/// The crash tests' child process (`$YSYNC_CRASH_WORKER` overrides).
public let JournalCrashWorker = BuiltExecutable("JournalCrashWorker", overrideVariable: "YSYNC_CRASH_WORKER")
