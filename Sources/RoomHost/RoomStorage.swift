import Foundation

/// Where each room's journal lives: `<data>/rooms/<encoded name>.ysync`. Room names come from
/// URLs, so they are percent-encoded to one safe file name (no separators, no leading dot).
public struct RoomStorage: Sendable {
    /// `<data>/rooms`, where the room files are.
    public let directory: String
    /// Longest room name accepted, in UTF-8 bytes.
    public static let maxNameLength = 256
    /// Longest `fileName(for:)` of a valid name: 255 bytes (Linux NAME_MAX, APFS) less SQLite's
    /// longest side-file suffix ("-journal"; WAL mode adds "-wal" and "-shm").
    public static let maxFileNameLength = 255 - 8

    /// Storage under `<dataDirectory>/rooms` (nothing is created until `createDirectory()`).
    public init(dataDirectory: String) {
        directory = (dataDirectory as NSString).appendingPathComponent("rooms")
    }

    /// Why a room name is refused.
    public enum NameError: Error, Equatable, Sendable, CustomStringConvertible {
        case empty, tooLong(Int)
        /// One line for a person, with the limits.
        public var description: String {
            switch self {
            case .empty: "empty room name"
            // One limit, the encoded one: a name within it is also within `maxNameLength`.
            case let .tooLong(n):
                "room name of \(n) bytes is too long: at most \(RoomStorage.maxFileNameLength - 6) bytes once percent-encoded (every byte but A-Z, a-z, 0-9, '-', '_' and '.' counts 3)"
            }
        }
    }

    /// Throws when `name` is empty or too long (as UTF-8, or once percent-encoded as a file name).
    public static func validate(_ name: String) throws(NameError) {
        if name.isEmpty { throw .empty }
        if name.utf8.count > maxNameLength { throw .tooLong(name.utf8.count) }
        // Percent-encoding triples every byte outside [A-Za-z0-9._-]: the file name must still fit.
        if fileName(for: name).utf8.count > maxFileNameLength { throw .tooLong(name.utf8.count) }
    }

    /// File name for `room`: ASCII letters, digits, `-`, `_` and `.` (not first) are kept, every
    /// other byte becomes `%XX`. Injective on names that differ as Swift strings, so two rooms
    /// never share a file. Names are taken in Unicode NFC first: Swift's `==` (and so the host's room table) treats canonically
    /// equivalent names ("é" and "e\u{301}") as one room, so they must share one file too.
    public static func fileName(for room: String) -> String {
        var out = ""
        for (i, b) in room.precomposedStringWithCanonicalMapping.utf8.enumerated() {
            let c = Character(Unicode.Scalar(b))
            let safe = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == 0x2D || b == 0x5F || (b == 0x2E && i > 0)
            if safe { out.append(c) } else { out += String(format: "%%%02X", b) }
        }
        return out + ".ysync"
    }

    /// Full path of `room`'s journal file.
    public func path(for room: String) -> String {
        (directory as NSString).appendingPathComponent(Self.fileName(for: room))
    }

    /// Whether `room` has a journal file.
    public func exists(_ room: String) -> Bool {
        FileManager.default.fileExists(atPath: path(for: room))
    }

    /// Deletes `room`'s journal and SQLite's side files (missing ones are fine).
    public func remove(_ room: String) {
        let base = path(for: room)
        for suffix in ["", "-wal", "-shm", "-journal", ".lock"] { try? FileManager.default.removeItem(atPath: base + suffix) }
    }

    /// How many rooms have a journal file (one directory listing).
    public func storedCount() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".ysync") }.count
    }

    /// Creates `directory` (and its parents) if missing; throws Foundation's error when it cannot.
    public func createDirectory() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
}
