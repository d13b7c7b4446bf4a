import Foundation

/// A sequential editing trace from `Benchmarks/traces/sequential/` (josephg/editing-traces format).
/// Positions and counts are Unicode code points (convert to UTF-16 before editing).
public struct EditingTrace: Sendable {
    public struct Patch: Sendable {
        public let position: Int
        public let deleteCount: Int
        public let insert: String
    }

    public let name: String
    public let path: String
    public let startContent: String
    public let endContent: String
    public let txns: [[Patch]]

    public var patchCount: Int { txns.reduce(0) { $0 + $1.count } }

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// `RepoData.tracesDirectory` (`$YSYNC_TRACES`, else `<repo>/Benchmarks/traces`).
    public static var tracesDirectory: URL { RepoData.tracesDirectory }

    public static func sequentialPath(_ name: String) -> String {
        tracesDirectory.appendingPathComponent("sequential/\(name).json.gz").path
    }

    /// Loads `sequential/<name>.json.gz` (decompressed with the system `gzip`).
    public static func loadSequential(_ name: String) throws -> EditingTrace {
        let path = sequentialPath(name)
        guard FileManager.default.fileExists(atPath: path) else {
            throw LoadError(description: "trace not found at \(path) (the traces live in Benchmarks/traces; restore them with git checkout, or set YSYNC_TRACES)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-dc", path]
        let out = Pipe()
        p.standardOutput = out
        do { try p.run() } catch { throw LoadError(description: "cannot run gzip: \(error)") }
        let data = PosixIO.readAll(out.fileHandleForReading.fileDescriptor)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw LoadError(description: "gzip -dc \(path) failed (\(p.terminationStatus))") }
        let json = try JSONValue.parse(data)
        guard let txns = json["txns"]?.arrayValue, let end = json["endContent"]?.stringValue else {
            throw LoadError(description: "\(path): not a sequential trace")
        }
        var parsed: [[Patch]] = []
        parsed.reserveCapacity(txns.count)
        for t in txns {
            guard let patches = t["patches"]?.arrayValue else { throw LoadError(description: "txn without patches") }
            parsed.append(try patches.map { p in
                guard let a = p.arrayValue, a.count == 3, let pos = a[0].intValue, let del = a[1].intValue,
                      let ins = a[2].stringValue
                else { throw LoadError(description: "bad patch \(p)") }
                return Patch(position: pos, deleteCount: del, insert: ins)
            })
        }
        return EditingTrace(name: name, path: path, startContent: json["startContent"]?.stringValue ?? "",
                            endContent: end, txns: parsed)
    }
}
