import Foundation
import TestSupport

/// A child process driven by lines on stdin and answering JSON lines on stdout (the Python
/// peers in `peers/`, or `ycli serve`). Every read has a timeout; `stop()` kills it.
final class LineProcess: @unchecked Sendable {
    let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let lock = NSLock()
    private var buffer: [UInt8] = []
    private var lines: [String] = []
    private var errText: [UInt8] = []
    let label: String

    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `$YSYNC_PYTHON`, else `<repo>/.venv/bin/python` (scripts/setup.sh makes it).
    static var python: String {
        if let p = ProcessInfo.processInfo.environment["YSYNC_PYTHON"], !p.isEmpty { return p }
        return repoRoot.appendingPathComponent(".venv/bin/python").path
    }

    static func peerScript(_ name: String) -> String {
        repoRoot.appendingPathComponent("Tests/ReplicaServerTests/peers/\(name)").path
    }

    /// Starts a Python peer script (fails, never skips, when the venv is missing).
    static func pythonPeer(_ script: String, _ args: [String], label: String) throws -> LineProcess {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure.failed("no Python at \(python): run scripts/setup.sh (it installs pycrdt-websocket into .venv) or set YSYNC_PYTHON")
        }
        return try LineProcess(executable: python, arguments: [peerScript(script)] + args, label: label)
    }

    init(executable: String, arguments: [String], environment: [String: String] = [:], cwd: String? = nil, label: String) throws {
        self.label = label
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        stdoutPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let data = h.availableData
            self?.take(Array(data))
        }
        stderrPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let data = h.availableData
            guard let self else { return }
            self.lock.lock()
            self.errText += data
            self.lock.unlock()
        }
        try process.run()
    }

    private func take(_ bytes: [UInt8]) {
        lock.lock()
        buffer += bytes
        while let nl = buffer.firstIndex(of: 0x0A) {
            lines.append(String(decoding: buffer[..<nl], as: UTF8.self))
            buffer.removeSubrange(...nl)
        }
        lock.unlock()
    }

    var stderr: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: errText, as: UTF8.self)
    }

    private func popLine() -> String? {
        lock.lock()
        defer { lock.unlock() }
        return lines.isEmpty ? nil : lines.removeFirst()
    }

    /// The next stdout line, waiting at most `timeout` seconds.
    func nextLine(timeout: Double = 20) async throws -> String {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while ContinuousClock.now < deadline {
            if let l = popLine() { return l }
            if !process.isRunning {
                try await Task.sleep(for: .milliseconds(50))
                if let l = popLine() { return l }
                throw TestFailure.failed("\(label) exited (\(process.terminationStatus)); stderr:\n\(stderr)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure.timeout("\(label): no output line within \(timeout) s; stderr:\n\(stderr.suffix(2000))")
    }

    /// The next stdout line as a JSON object.
    func nextJSON(timeout: Double = 20) async throws -> [String: Any] {
        let line = try await nextLine(timeout: timeout)
        guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw TestFailure.failed("\(label): not a JSON object: \(line)")
        }
        return o
    }

    /// Sends one command line and returns its JSON answer.
    @discardableResult
    func command(_ line: String, timeout: Double = 20) async throws -> [String: Any] {
        try stdinPipe.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
        return try await nextJSON(timeout: timeout)
    }

    /// Sends a signal and waits (bounded) for the exit status.
    func signal(_ sig: Int32, timeout: Double = 20) async throws -> Int32 {
        kill(process.processIdentifier, sig)
        try await eventually("\(label) exits after signal \(sig)", within: timeout) { !self.process.isRunning }
        return process.terminationStatus
    }

    func stop() {
        if process.isRunning { process.terminate() }
        stdoutPipe.fileHandleForReading.readabilityHandler = nil
        stderrPipe.fileHandleForReading.readabilityHandler = nil
    }

    deinit { stop() }
}

/// JSON string quoting for the peers' line protocols.
func quoted(_ s: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [s], options: [])
    let text = String(decoding: data, as: UTF8.self)
    return String(text.dropFirst().dropLast())
}

/// The ycli executable built next to the test binary (`swift build --build-tests` builds both),
/// or `$YCLI_BINARY`.
enum YcliBinary {
    static var path: String {
        get throws {
            if let p = ProcessInfo.processInfo.environment["YCLI_BINARY"], !p.isEmpty { return p }
            var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            var candidates: [String] = []
            for _ in 0..<4 {
                candidates.append(dir.appendingPathComponent("ycli").path)
                dir = dir.deletingLastPathComponent()
            }
            candidates.append(LineProcess.repoRoot.appendingPathComponent(".build/debug/ycli").path)
            guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                throw TestFailure.failed("ycli not found next to the tests: build with 'swift build --build-tests' first, or set YCLI_BINARY")
            }
            return found
        }
    }

    struct Result {
        var status: Int32
        var out: String
        var err: String
    }

    /// Runs `ycli args...` to completion (bounded by `timeout`).
    static func run(_ args: [String], env: [String: String] = [:], cwd: String? = nil, timeout: Double = 60) async throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try path)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let dir = try makeTempDir("ycli-run")
        let outURL = URL(fileURLWithPath: dir + "/out"), errURL = URL(fileURLWithPath: dir + "/err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        do {
            try await eventually("ycli \(args.joined(separator: " ")) finishes", within: timeout) { !p.isRunning }
        } catch {
            p.terminate()
            throw error
        }
        try? out.close()
        try? err.close()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return Result(status: p.terminationStatus,
                      out: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                      err: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    @discardableResult
    static func ok(_ args: [String], env: [String: String] = [:], cwd: String? = nil) async throws -> Result {
        let r = try await run(args, env: env, cwd: cwd)
        guard r.status == 0 else {
            throw TestFailure.failed("ycli \(args.joined(separator: " ")) exited \(r.status)\n\(r.out)\n\(r.err)")
        }
        return r
    }

    /// `ycli serve --port 0 ...` as a child process; returns it and the port it reported.
    static func serve(_ args: [String], env: [String: String] = [:]) async throws -> (LineProcess, Int) {
        let p = try LineProcess(executable: try path, arguments: ["serve", "--host", "127.0.0.1", "--port", "0"] + args,
                                environment: env, label: "ycli serve")
        let ready = try await p.nextJSON(timeout: 30)
        guard let port = ready["port"] as? Int, port > 0 else { throw TestFailure.failed("ycli serve said \(ready)") }
        return (p, port)
    }
}
