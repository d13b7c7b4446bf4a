import CRDT
import Foundation

/// Sync by carrying a folder (sneakernet). A replica writes the updates others lack as files
/// named `<clientID>-<hash>.yupdate` (update v1 bytes; `hash` = FNV-1a 64 of the bytes, hex, so
/// the same content gets the same name and a damaged file is detected), and its state vector as
/// `<clientID>.ysv`. Readers apply every update file; a bad file is reported, the others apply.
/// FNV-1a guards against accidents, not against an adversary.
public enum FileHandover {
    /// File extension of update files.
    public static let updateExtension = "yupdate"
    /// File extension of state vector files.
    public static let stateVectorExtension = "ysv"

    /// A file that could not be used, and why.
    public struct Failure: Sendable, Equatable {
        /// The file.
        public var url: URL
        /// Why it could not be used.
        public var error: SyncError
    }

    /// What `read(from:updates:)` found in a folder.
    public struct ReadResult: Sendable {
        /// Valid update files, in name order.
        public var updates: [(url: URL, update: [UInt8])] = []
        /// Files that could not be used (bad name, hash mismatch, not decodable, unreadable).
        public var failures: [Failure] = []
        /// Peers' state vectors found (`<client>.ysv`).
        public var stateVectors: [ClientID: StateVector] = [:]
    }

    /// FNV-1a 64 of `bytes`, as 16 lowercase hex digits.
    public static func hash(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// The file name of an update: `<clientID>-<hash>.yupdate`.
    public static func fileName(clientID: ClientID, update: [UInt8]) -> String {
        "\(clientID)-\(hash(update)).\(updateExtension)"
    }

    /// Writes one update file (atomically: temp file + rename). Returns nil for an update that
    /// carries nothing (no structs, no deletes).
    @discardableResult
    public static func writeUpdate(_ update: [UInt8], clientID: ClientID, to dir: URL) throws(SyncError) -> URL? {
        let cov = try UpdateCoverage(update: update)
        guard !cov.isEmpty else { return nil }
        let url = dir.appendingPathComponent(fileName(clientID: clientID, update: update))
        try atomicWrite(update, to: url)
        return url
    }

    /// Writes what a peer with state vector `sv` lacks of `doc` (nil when it lacks nothing
    /// but our delete set, which it may already have: deletes travel with every non-empty diff).
    @discardableResult
    public static func writeDiff(of doc: some SyncDocument, clientID: ClientID, forPeer sv: StateVector, to dir: URL) throws(SyncError) -> URL? {
        let diff = doc.encodeStateAsUpdate(since: sv)
        let cov = try UpdateCoverage(update: diff)
        guard !cov.structs.isEmpty || sv.isEmpty && !cov.isEmpty else { return nil }
        return try writeUpdate(diff, clientID: clientID, to: dir)
    }

    /// The same for every peer state vector file found in `dir` (a folder without any gets the
    /// full state). Returns the files written.
    @discardableResult
    public static func writeDiffs(of doc: some SyncDocument, clientID: ClientID, to dir: URL) throws(SyncError) -> [URL] {
        let peers = try read(from: dir, updates: false).stateVectors.filter { $0.key != clientID }
        if peers.isEmpty { return try writeDiff(of: doc, clientID: clientID, forPeer: StateVector(), to: dir).map { [$0] } ?? [] }
        var out: [URL] = []
        for (_, sv) in peers.sorted(by: { $0.key < $1.key }) {
            if let u = try writeDiff(of: doc, clientID: clientID, forPeer: sv, to: dir), !out.contains(u) { out.append(u) }
        }
        return out
    }

    /// Writes `sv` as `<clientID>.ysv` in `dir` (atomically), replacing an older one; throws `.io` on failure.
    @discardableResult
    public static func writeStateVector(_ sv: StateVector, clientID: ClientID, to dir: URL) throws(SyncError) -> URL {
        let url = dir.appendingPathComponent("\(clientID).\(stateVectorExtension)")
        try atomicWrite(sv.encoded(), to: url)
        return url
    }

    /// Reads a `.ysv` file; throws `.io` when it cannot be read and `.badHandoverFile` when it does not decode.
    public static func readStateVector(_ url: URL) throws(SyncError) -> StateVector {
        let bytes = try readBytes(url)
        do { return try StateVector(decoding: bytes) } catch {
            throw .badHandoverFile(path: url.path, reason: "\(error)")
        }
    }

    /// Reads a folder: every `.yupdate` (checked: name, hash, decoding) and `.ysv` file.
    /// Throws only when the folder itself cannot be listed.
    public static func read(from dir: URL, updates: Bool = true) throws(SyncError) -> ReadResult {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() } catch {
            throw .io(path: dir.path, reason: "\(error)")
        }
        var result = ReadResult()
        for name in names {
            let url = dir.appendingPathComponent(name)
            if name.hasSuffix("." + stateVectorExtension) {
                let stem = name.dropLast(stateVectorExtension.count + 1)
                do throws(SyncError) {
                    guard let client = ClientID(stem) else { throw .badHandoverFile(path: url.path, reason: "name is not <clientID>.ysv") }
                    result.stateVectors[client] = try readStateVector(url)
                } catch { result.failures.append(Failure(url: url, error: error)) }
            } else if updates, name.hasSuffix("." + updateExtension) {
                do throws(SyncError) {
                    result.updates.append((url, try readUpdateFile(url)))
                } catch { result.failures.append(Failure(url: url, error: error)) }
            }
        }
        return result
    }

    /// Reads and checks one update file.
    public static func readUpdateFile(_ url: URL) throws(SyncError) -> [UInt8] {
        let name = url.lastPathComponent
        let parts = name.dropLast(updateExtension.count + 1).split(separator: "-")
        guard name.hasSuffix("." + updateExtension), parts.count == 2, ClientID(parts[0]) != nil, parts[1].count == 16 else {
            throw .badHandoverFile(path: url.path, reason: "name is not <clientID>-<hash>.\(updateExtension)")
        }
        let bytes = try readBytes(url)
        guard hash(bytes) == parts[1] else {
            throw .badHandoverFile(path: url.path, reason: "content hash \(hash(bytes)) does not match the name")
        }
        do { _ = try UpdateDecoderV1.decode(bytes) } catch {
            throw .badHandoverFile(path: url.path, reason: "not an update v1: \(error)")
        }
        return bytes
    }

    /// Reads a folder and applies every valid update to `doc`. Failures (bad files, updates the
    /// document refuses) are listed; everything else is applied.
    public static func importAll(from dir: URL, into doc: YDoc, origin: String? = "file-handover") throws(SyncError) -> ReadResult {
        var r = try read(from: dir)
        var applied: [(url: URL, update: [UInt8])] = []
        for (url, u) in r.updates {
            do {
                try doc.applyUpdate(u, origin: origin)
                applied.append((url, u))
            } catch let e as DecodingError {
                r.failures.append(Failure(url: url, error: .invalidPayload(e)))
            } catch {
                r.failures.append(Failure(url: url, error: .badHandoverFile(path: url.path, reason: "\(error)")))
            }
        }
        r.updates = applied
        return r
    }

    static func readBytes(_ url: URL) throws(SyncError) -> [UInt8] {
        do { return [UInt8](try Data(contentsOf: url)) } catch { throw .io(path: url.path, reason: "\(error)") }
    }

    static func atomicWrite(_ bytes: [UInt8], to url: URL) throws(SyncError) {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url, options: .atomic)
        } catch { throw .io(path: url.path, reason: "\(error)") }
    }
}
