import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a ycli run produced.
struct RunResult: CustomStringConvertible {
    var status: Int32
    var stdout: [UInt8]
    var stderr: [UInt8]

    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }
    var ok: Bool { status == 0 }

    /// Standard output parsed as JSON.
    func json() throws -> JSONValue { try JSONValue.parse(stdout) }

    var description: String { "exit \(status)\n--- stdout\n\(out)\n--- stderr\n\(err)" }
}

enum YcliError: Error, CustomStringConvertible {
    case binaryMissing(String)
    case failed(String)
    var description: String {
        switch self {
        case let .binaryMissing(m), let .failed(m): return m
        }
    }
}

/// An executable of this package built next to the test bundle (the same build products
/// directory: `swift build --build-tests` builds them all), run as a real child process.
struct BuiltExecutable: Sendable {
    /// The product name (`ycli`, `ysync-bench`).
    let name: String
    /// `$<overrideVariable>`, else `name` in the directory of the running test binary (or, for a
    /// macOS .xctest bundle, the directory holding the bundle), else `<repo>/.build/debug/<name>`.
    let binary: String?

    init(_ name: String, overrideVariable: String) {
        self.name = name
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
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(repo.appendingPathComponent(".build/debug/\(name)"))
        binary = candidates.first { fm.isExecutableFile(atPath: $0.path) }?.path
    }

    /// A given program (e.g. `/bin/bash` for the project's scripts).
    init(_ name: String, binary: String) {
        self.name = name
        self.binary = binary
    }

    /// Runs `NAME args...` in `cwd` with `stdin` as standard input.
    func run(_ args: [String], cwd: String? = nil, stdin: [UInt8] = [], env: [String: String] = [:]) throws -> RunResult {
        guard let binary else {
            throw YcliError.binaryMissing(
                "the \(name) executable was not found next to the test binary (\(CommandLine.arguments[0])): "
                    + "build it with 'swift build --build-tests' before 'swift test --skip-build'")
        }
        let tmp = FileManager.default.temporaryDirectory
        let id = UUID().uuidString
        let outURL = tmp.appendingPathComponent("ycli-out-\(id)")
        let errURL = tmp.appendingPathComponent("ycli-err-\(id)")
        let inURL = tmp.appendingPathComponent("ycli-in-\(id)")
        defer {
            for u in [outURL, errURL, inURL] { try? FileManager.default.removeItem(at: u) }
        }
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inURL.path, contents: Data(stdin))

        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        var environment = ProcessInfo.processInfo.environment
        environment["EDITOR"] = nil
        environment["VISUAL"] = nil
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let inHandle = try FileHandle(forReadingFrom: inURL)
        p.standardOutput = outHandle
        p.standardError = errHandle
        p.standardInput = inHandle
        try p.run()
        p.waitUntilExit()
        try? outHandle.close()
        try? errHandle.close()
        try? inHandle.close()
        return RunResult(status: p.terminationStatus,
                         stdout: Array(try Data(contentsOf: outURL)),
                         stderr: Array(try Data(contentsOf: errURL)))
    }

    /// Runs and requires success.
    @discardableResult
    func ok(_ args: [String], cwd: String? = nil, stdin: [UInt8] = [], env: [String: String] = [:]) throws -> RunResult {
        let r = try run(args, cwd: cwd, stdin: stdin, env: env)
        if r.status != 0 { throw YcliError.failed("\(name) \(args.joined(separator: " ")) failed: \(r)") }
        return r
    }
}

/// The `ycli` under test (`$YCLI_BINARY` overrides).
let Ycli = BuiltExecutable("ycli", overrideVariable: "YCLI_BINARY")
/// The `ysync-bench` under test (`$YSYNC_BENCH_BINARY` overrides).
let YsyncBench = BuiltExecutable("ysync-bench", overrideVariable: "YSYNC_BENCH_BINARY")

/// A temporary directory, removed by `remove()`.
final class TempDir {
    let path: String

    init(_ label: String = "ycli") throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/\(label)-XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw YcliError.failed("mkdtemp failed")
        }
        path = String(cString: p)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: file(name)))) }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The bytes of a store and its WAL side files, to show that a failed command wrote nothing.
struct StoreFiles: Equatable, CustomStringConvertible {
    var main: [UInt8]?
    var wal: [UInt8]?
    var shm: Bool

    init(_ path: String) {
        let fm = FileManager.default
        main = fm.contents(atPath: path).map { Array($0) }
        wal = fm.contents(atPath: path + "-wal").map { Array($0) }
        shm = fm.fileExists(atPath: path + "-shm")
    }

    var description: String { "main \(main?.count ?? -1) bytes, wal \(wal?.count ?? -1) bytes, shm \(shm)" }
}

/// Code-point operations on a String, the model the tests compare with.
extension String {
    func insertingScalars(_ s: String, at p: Int) -> String {
        var a = Array(unicodeScalars)
        a.insert(contentsOf: s.unicodeScalars, at: p)
        var v = String.UnicodeScalarView()
        v.append(contentsOf: a)
        return String(v)
    }

    func deletingScalars(at p: Int, count: Int) -> String {
        var a = Array(unicodeScalars)
        a.removeSubrange(p..<p + count)
        var v = String.UnicodeScalarView()
        v.append(contentsOf: a)
        return String(v)
    }

    var scalarCount: Int { unicodeScalars.count }
}
