import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process failed, stalled or could not start.
public struct ProcessFailure: Error, CustomStringConvertible {
    public let description: String
    /// A failure saying `description`.
    public init(_ description: String) { self.description = description }
}

/// What a finished child process produced.
public struct ProcessResult: Sendable, CustomStringConvertible {
    /// The exit status, or the signal number when `signalled`.
    public var status: Int32
    /// True when a signal ended the process.
    public var signalled: Bool
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    public var out: String { String(decoding: stdout, as: UTF8.self) }
    public var err: String { String(decoding: stderr, as: UTF8.self) }
    /// Exited with status 0.
    public var ok: Bool { status == 0 && !signalled }

    /// Standard output parsed as JSON.
    public func json() throws -> JSONValue { try JSONValue.parse(stdout) }

    public var description: String {
        "\(signalled ? "signal" : "exit") \(status)\n--- stdout\n\(out)\n--- stderr\n\(err)"
    }
}

/// A child process whose standard output and error are read by dedicated threads (plain read(2),
/// retried on EINTR), never by the cooperative thread pool, so that waiting for it leaves the
/// pool to the other tests. Every wait is bounded and async; `stop()` (and deinit) end it.
///
/// Long-lived peers talk in lines: `send` a line on stdin, `nextLine`/`nextJSON` read stdout.
public final class ChildProcess: @unchecked Sendable {
    /// What the child reads on standard input.
    public enum Input: Sendable {
        /// A pipe: write with `send`, close with `closeInput`.
        case pipe
        /// These bytes, then end of file.
        case bytes([UInt8])
        /// /dev/null.
        case none
    }

    /// The name failures use.
    public let label: String
    /// The process itself (read its pid and status; do not wait on it synchronously).
    public let process = Process()
    private let stdinPipe: Pipe?
    private let out = Stream()
    private let err = Stream()
    private let inputFile: TempDir?

    /// Starts `executable arguments...` with the environment `environment` added to ours (and
    /// the variables in `unset` taken out).
    public init(executable: String, arguments: [String], environment: [String: String] = [:], unset: [String] = [],
                cwd: String? = nil, input: Input = .pipe, label: String? = nil) throws {
        self.label = label ?? URL(fileURLWithPath: executable).lastPathComponent
        ignoreSIGPIPE()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for k in unset { env[k] = nil }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        switch input {
        case .pipe:
            let p = Pipe()
            stdinPipe = p
            inputFile = nil
            process.standardInput = p
        case let .bytes(bytes):
            // A file, not a pipe: a child that never reads its input cannot block us.
            let dir = TempDir("stdin")
            try dir.write("stdin", bytes)
            stdinPipe = nil
            inputFile = dir
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: dir.file("stdin")))
        case .none:
            stdinPipe = nil
            inputFile = nil
            process.standardInput = FileHandle.nullDevice
        }
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        do { try process.run() } catch {
            throw ProcessFailure("\(self.label): cannot start \(executable): \(error)")
        }
        out.startReading(outPipe.fileHandleForReading, name: "\(self.label) stdout")
        err.startReading(errPipe.fileHandleForReading, name: "\(self.label) stderr")
    }

    deinit { stop() }

    public var isRunning: Bool { process.isRunning }
    public var pid: Int32 { process.processIdentifier }
    /// Everything read from standard output so far.
    public var stdoutBytes: [UInt8] { out.bytes }
    /// Everything read from standard error so far.
    public var stderr: String { String(decoding: err.bytes, as: UTF8.self) }

    /// The next stdout line (without its newline), waiting at most `timeout` seconds.
    public func nextLine(timeout: Double = 60) async throws -> String {
        var line: String?
        let done = await eventually(timeout: timeout) {
            line = self.out.popLine()
            return line != nil || self.out.atEnd
        }
        if let line = line ?? out.popLine() { return line }
        if done {
            _ = try? await waitForExit(timeout: 10)
            throw ProcessFailure("\(label) closed its output (\(exitDescription)); stderr:\n\(stderr.suffix(4000))")
        }
        throw ProcessFailure("\(label): no output line within \(timeout) s; stderr:\n\(stderr.suffix(2000))")
    }

    /// Lines printed so far and not yet taken by `nextLine`.
    public func takeLines() -> [String] { out.takeLines() }

    /// The next stdout line as a JSON object.
    public func nextJSON(timeout: Double = 60) async throws -> [String: Any] {
        let line = try await nextLine(timeout: timeout)
        guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw ProcessFailure("\(label): not a JSON object: \(line)")
        }
        return o
    }

    /// Writes one line on the child's standard input (`.pipe` only).
    public func send(_ line: String) throws {
        guard let stdinPipe else { throw ProcessFailure("\(label): standard input is not a pipe") }
        guard PosixIO.writeAll(stdinPipe.fileHandleForWriting.fileDescriptor, Array((line + "\n").utf8)) else {
            throw ProcessFailure("\(label): write to standard input failed (errno \(errno)); stderr:\n\(stderr.suffix(2000))")
        }
    }

    /// Sends one command line and returns its JSON answer.
    @discardableResult
    public func command(_ line: String, timeout: Double = 60) async throws -> [String: Any] {
        try send(line)
        return try await nextJSON(timeout: timeout)
    }

    /// Closes the child's standard input (it sees end of file).
    public func closeInput() { try? stdinPipe?.fileHandleForWriting.close() }

    /// Waits (bounded) until the process has exited and both outputs reached end of file; its result.
    @discardableResult
    public func waitForExit(timeout: Double = 120) async throws -> ProcessResult {
        try await eventually("\(label) exits", timeout: timeout) { !self.process.isRunning }
        // The outputs end when the last holder of the pipes (the child, or a grandchild) closes them.
        try await eventually("\(label)'s output ends", timeout: timeout) { self.out.closed && self.err.closed }
        return ProcessResult(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
                             stdout: out.bytes, stderr: err.bytes)
    }

    /// Sends a signal and waits (bounded) for the exit status.
    public func signal(_ sig: Int32, timeout: Double = 60) async throws -> Int32 {
        kill(process.processIdentifier, sig)
        return try await waitForExit(timeout: timeout).status
    }

    /// Asks the process to end if it still runs (SIGTERM, as a shutdown does; no wait).
    public func stop() {
        if process.isRunning { process.terminate() }
        closeInput()
    }

    private var exitDescription: String {
        if process.isRunning { return "still running" }
        return process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)" : "exit \(process.terminationStatus)"
    }

    /// Runs `executable arguments...` to completion (killed after `timeout` seconds).
    public static func run(_ executable: String, _ arguments: [String], cwd: String? = nil, stdin: [UInt8] = [],
                           environment: [String: String] = [:], unset: [String] = [], timeout: Double = 120,
                           label: String? = nil) async throws -> ProcessResult {
        let child = try ChildProcess(executable: executable, arguments: arguments, environment: environment, unset: unset, cwd: cwd,
                                     input: stdin.isEmpty ? .none : .bytes(stdin), label: label)
        do {
            return try await child.waitForExit(timeout: timeout)
        } catch {
            kill(child.pid, SIGKILL)
            throw ProcessFailure("\(child.label) \(arguments.joined(separator: " ")): \(error); stderr:\n\(child.stderr.suffix(2000))")
        }
    }
}

/// A dead child must surface as an error from write(), not kill the test process.
private func ignoreSIGPIPE() { signal(SIGPIPE, SIG_IGN) }

/// One output stream of a child, filled by its own thread.
private final class Stream: @unchecked Sendable {
    private let lock = NSLock()
    private var all: [UInt8] = []
    private var pending: [UInt8] = []
    private var lines: [String] = []
    private var eof = false

    func startReading(_ handle: FileHandle, name: String) {
        let thread = Thread { [self] in
            var chunk: [UInt8] = []
            while PosixIO.readChunk(handle.fileDescriptor, into: &chunk) {
                append(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
            try? handle.close()
            locked {
                if !pending.isEmpty { lines.append(String(decoding: pending, as: UTF8.self)) }
                pending.removeAll()
                eof = true
            }
        }
        thread.name = name
        thread.start()
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    private func append(_ bytes: [UInt8]) {
        locked {
            all += bytes
            pending += bytes
            while let nl = pending.firstIndex(of: 0x0A) {
                lines.append(String(decoding: pending[..<nl], as: UTF8.self))
                pending.removeSubrange(...nl)
            }
        }
    }

    var bytes: [UInt8] { locked { all } }
    /// End of file reached and every line taken.
    var atEnd: Bool { locked { eof && lines.isEmpty } }
    /// End of file reached.
    var closed: Bool { locked { eof } }
    func popLine() -> String? { locked { lines.isEmpty ? nil : lines.removeFirst() } }
    func takeLines() -> [String] {
        locked {
            defer { lines.removeAll() }
            return lines
        }
    }
}
