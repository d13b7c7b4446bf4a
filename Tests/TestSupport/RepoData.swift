import Foundation

/// The data the tests and benchmarks read, carried inside the repository so that a clone works
/// on its own: `Tests/Fixtures/` (Yjs fixtures) and `Benchmarks/traces/` (editing traces).
public enum RepoData {
    /// The repository root (this file is `<repo>/Tests/TestSupport/RepoData.swift`).
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `<repo>/Tests/Fixtures`: updates recorded from real Yjs (see its README).
    public static var fixturesDirectory: URL { root.appendingPathComponent("Tests/Fixtures") }

    /// `$YSYNC_TRACES`, else `<repo>/Benchmarks/traces` (`sequential/`, `concurrent/`).
    public static var tracesDirectory: URL {
        if let p = TestEnvironment.environment("YSYNC_TRACES"), !p.isEmpty { return URL(fileURLWithPath: p) }
        return root.appendingPathComponent("Benchmarks/traces")
    }

    /// The Python the tests start: `$YSYNC_PYTHON`, else `<repo>/.venv/bin/python` (made by
    /// `scripts/setup.sh`, with pycrdt and pycrdt-websocket).
    public static var python: String {
        if let p = TestEnvironment.environment("YSYNC_PYTHON"), !p.isEmpty { return p }
        return root.appendingPathComponent(".venv/bin/python").path
    }

    /// The path of a trace under `tracesDirectory` (`"sequential/rustcode.json.gz"`), or
    /// `MissingFile` when it is not there.
    public static func trace(_ relativePath: String) throws(MissingFile) -> String {
        let path = tracesDirectory.appendingPathComponent(relativePath).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingFile(path: path, reason: "no such trace (the traces live in Benchmarks/traces; or set YSYNC_TRACES)")
        }
        return path
    }

    /// A data file that is not where it should be: one test's failure, never a crash.
    public struct MissingFile: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        /// `path` could not be read for `reason`.
        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
        public var description: String { "cannot read \(path): \(reason) (it belongs to the repository; restore it with git checkout)" }
    }

    /// The bytes of `url`, or `MissingFile` naming it.
    public static func read(_ url: URL) throws(MissingFile) -> Data {
        do { return try Data(contentsOf: url) } catch {
            throw MissingFile(path: url.path, reason: FileManager.default.fileExists(atPath: url.path) ? "\(error)" : "no such file")
        }
    }
}
