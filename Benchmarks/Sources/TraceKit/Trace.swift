import CLISupport
import Foundation

/// One splice of a sequential editing trace: delete `deleteCount` code points at `position`,
/// then insert `insert` there. Positions and counts are Unicode code points.
public struct TracePatch: Sendable, Equatable {
    public var position: Int
    public var deleteCount: Int
    public var insert: String

    public init(position: Int, deleteCount: Int, insert: String) {
        self.position = position
        self.deleteCount = deleteCount
        self.insert = insert
    }
}

/// A sequential editing trace (`josephg/editing-traces` format), flattened to its patches.
public struct Trace: Sendable {
    public var startContent: String
    public var endContent: String
    /// Every patch of every transaction, in order.
    public var patches: [TracePatch]
    /// How many transactions the file had (the replay makes one transaction per patch).
    public var transactionCount: Int

    public init(startContent: String = "", endContent: String, patches: [TracePatch], transactionCount: Int? = nil) {
        self.startContent = startContent
        self.endContent = endContent
        self.patches = patches
        self.transactionCount = transactionCount ?? patches.count
    }
}

public enum TraceError: Error, Equatable, Sendable, CustomStringConvertible {
    case io(path: String, reason: String)
    case gzip(String)
    case malformed(String)
    /// A patch that does not fit the document it is applied to (code points).
    case patchOutOfRange(patch: Int, position: Int, deleteCount: Int, length: Int)
    case mismatch(String)

    public var description: String {
        switch self {
        case let .io(path, reason): return "\(path): \(reason)"
        case let .gzip(reason): return "gzip: \(reason)"
        case let .malformed(reason): return "malformed trace: \(reason)"
        case let .patchOutOfRange(i, pos, del, len):
            return "patch #\(i) (position \(pos), delete \(del)) does not fit a document of \(len) code points"
        case let .mismatch(reason): return reason
        }
    }
}

extension Trace {
    /// Reads a trace file: gzip (detected by its magic bytes) or plain JSON.
    public static func load(path: String) throws(TraceError) -> Trace {
        let raw = try FileBytes.read(path: path)
        let json = try Gzip.isGzip(raw) ? Gzip.decompress(raw) : raw
        return try parse(json: json)
    }

    /// Parses the JSON text of a sequential trace with Foundation's `JSONDecoder` (about 3x faster
    /// here than `JSONSerialization` plus casts: ~1 s for automerge-paper's 16 MB).
    public static func parse(json bytes: [UInt8]) throws(TraceError) -> Trace {
        let file: TraceFile
        do {
            file = try JSONDecoder().decode(TraceFile.self, from: Data(bytes))
        } catch let error as TraceError {
            throw error
        } catch let error as Swift.DecodingError {
            throw .malformed(describe(error))
        } catch {
            throw .malformed("\(error)")
        }
        var patches: [TracePatch] = []
        patches.reserveCapacity(file.txns.count)
        for txn in file.txns { patches.append(contentsOf: txn.patches) }
        return Trace(startContent: file.startContent ?? "", endContent: file.endContent,
                     patches: patches, transactionCount: file.txns.count)
    }

    private static func describe(_ error: Swift.DecodingError) -> String {
        func path(_ ctx: Swift.DecodingError.Context) -> String {
            let p = ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "top level" : String(p.drop { $0 == "." })
        }
        switch error {
        case let .dataCorrupted(ctx):
            if ctx.codingPath.isEmpty { return "not valid JSON" }
            return "\(path(ctx)): \(ctx.debugDescription)"
        case let .keyNotFound(key, ctx):
            return "\(path(ctx)): missing key \"\(key.stringValue)\""
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx):
            return "\(path(ctx)): \(ctx.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// The JSON layout of a sequential trace file.
private struct TraceFile: Decodable {
    var kind: String?
    var startContent: String?
    var endContent: String
    var txns: [Transaction]

    struct Transaction: Decodable {
        var patches: [TracePatch]
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        if let kind, kind != "sequential" { throw TraceError.malformed("kind '\(kind)' is not a sequential trace") }
        startContent = try c.decodeIfPresent(String.self, forKey: .startContent)
        endContent = try c.decode(String.self, forKey: .endContent)
        txns = try c.decode([Transaction].self, forKey: .txns)
    }

    enum CodingKeys: String, CodingKey { case kind, startContent, endContent, txns }
}

/// A patch is the array `[pos, delCount, insText]`.
extension TracePatch: Decodable {
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        let pos = try c.decode(Int.self)
        let del = try c.decode(Int.self)
        let ins = try c.decode(String.self)
        guard c.isAtEnd else {
            throw Swift.DecodingError.dataCorruptedError(in: c, debugDescription: "a patch is [pos, delCount, insText]")
        }
        guard pos >= 0, del >= 0 else {
            throw Swift.DecodingError.dataCorruptedError(in: c, debugDescription: "negative position or count")
        }
        self.init(position: pos, deleteCount: del, insert: ins)
    }
}
