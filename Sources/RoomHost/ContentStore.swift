import CRDT
import Foundation
import Journal
import Sync

// The seed's content store: a SQLite table `contentResource(id TEXT PRIMARY KEY, type TEXT,
// fields TEXT)` where `fields` is a JSON object with `slug`, `body` and `yDoc` (base64 of an update
// v1). The server reads a room's initial content from it and writes `yDoc`/`body` back (autosave).
//
// JSON is read and written with SQLite's own JSON functions (json_extract / json_set) rather than
// Foundation: json_set rewrites only the two keys we own, so every other key, its order and its
// number formatting survive a write-back byte for byte.

/// One row of `contentResource`, reduced to what a room needs.
public struct ContentRecord: Sendable, Equatable {
    /// The row's primary key: the room id.
    public let id: String
    /// The row's `type` column.
    public let type: String?
    /// `fields.slug`: another name the room can be opened by.
    public let slug: String?
    /// `fields.body`: the document as plain text.
    public let body: String?
    /// `fields.yDoc` as stored; nil when missing or JSON null. Not validated here.
    public let yDocBase64: String?
    /// Fields present with an unusable JSON type (e.g. `"yDoc": 42`), each as "key is a TYPE":
    /// they are treated as missing, and the load chain reports them.
    public let ignoredFields: [String]

    /// A record with the given columns and fields.
    public init(id: String, type: String? = "document", slug: String? = nil, body: String? = nil,
                yDocBase64: String? = nil, ignoredFields: [String] = []) {
        self.id = id
        self.type = type
        self.slug = slug
        self.body = body
        self.yDocBase64 = yDocBase64
        self.ignoredFields = ignoredFields
    }
}

/// Why a content store call failed.
public enum ContentStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The database could not be opened, or is not a content store.
    case open(path: String, reason: String)
    /// A SQLite call failed (message includes the operation and SQLite's message).
    case sqlite(String)
    /// A row's `fields` is not a JSON object.
    case badFields(id: String, reason: String)

    /// One line for a person.
    public var description: String {
        switch self {
        case let .open(path, reason): return "cannot open content store \(path): \(reason)"
        case let .sqlite(message): return "content store: \(message)"
        case let .badFields(id, reason): return "content store: row \(id): fields \(reason)"
        }
    }
}

/// What a new room starts from.
public enum InitialContent: Equatable, Sendable {
    /// A Yjs update v1 (decoded from `yDoc`, already checked by the decoder).
    case update([UInt8])
    /// Plain text for the root text `codemirror` (from `body`).
    case text(String)
    /// Nothing to load: the room starts empty.
    case empty
}

/// What `initialContent(for:)` chose for a room, and a warning when it had to fall back.
public struct LoadChainResult: Equatable, Sendable {
    /// What the room starts from.
    public let content: InitialContent
    /// Set when something in the record was unusable and we fell back: log it.
    public let warning: String?

    /// A result with `content` and an optional `warning`.
    public init(content: InitialContent, warning: String?) {
        self.content = content
        self.warning = warning
    }
}

/// The content database. One SQLite connection, serialised by a lock, so any task may call it;
/// calls block (briefly, on local SQLite), so keep them off latency-critical paths.
public final class ContentStore: @unchecked Sendable {
    /// The database file.
    public let path: String
    private let lock = NSLock()
    private let db: SQLiteConnection

    /// Opens an existing content database. With `create`, makes the file and the table when missing
    /// (tests and fresh setups); without it, a missing file or table is an `.open` error.
    public init(path: String, create: Bool = false) throws(ContentStoreError) {
        self.path = path
        do throws(ContentStoreError) {
            do { db = try SQLiteConnection(path: path, mode: create ? .readWriteCreate : .readWrite) } catch {
                throw .open(path: path, reason: error.message)
            }
            // The seed's app may hold the file too: wait for its locks rather than fail at once.
            try sqlite { () throws(SQLiteError) in try db.setBusyTimeout(milliseconds: 5_000) }
            if create {
                try execute("CREATE TABLE IF NOT EXISTS contentResource(id TEXT PRIMARY KEY, type TEXT, fields TEXT)")
            }
            let found = try query("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = 'contentResource'")
            if found.isEmpty { throw .open(path: path, reason: "no table contentResource") }
        } catch {
            // Everything here (including "file is not a database") is an opening problem.
            switch error {
            case .open: throw error
            case let .sqlite(message): throw .open(path: path, reason: message)
            default: throw .open(path: path, reason: "\(error)")
            }
        }
    }

    /// The record whose `id` is `room`, else the one whose `fields.slug` is `room` (smallest id
    /// first if several share the slug); nil when neither exists.
    public func lookup(_ room: String) throws(ContentStoreError) -> ContentRecord? {
        lock.lock()
        defer { lock.unlock() }
        if let record = try readRecord(where: "id = ?1", room) { return record }
        // Rows with broken fields cannot match a slug; they must not fail the lookup of others
        // (json_extract on invalid JSON would fail the whole statement; CASE evaluates lazily).
        return try readRecord(
            where: "CASE WHEN json_valid(fields) THEN json_extract(fields, '$.slug') END = ?1 ORDER BY id LIMIT 1",
            room)
    }

    /// Sets `fields.yDoc` and `fields.body` of row `id`, keeping every other key; inserts a row of
    /// type "document" when `id` is new. Fails with `.badFields` (and changes nothing) when the
    /// row's fields are not a JSON object.
    public func writeBack(id: String, yDocBase64: String, body: String) throws(ContentStoreError) {
        lock.lock()
        defer { lock.unlock() }
        try sqlite { () throws(SQLiteError) in try db.begin() }
        do throws(ContentStoreError) {
            let rows = try query("SELECT fields FROM contentResource WHERE id = ?1", [.text(id)])
            if let row = rows.first {
                try checkObject(id: id, fields: row[0])
                // NULL or blank fields start as {}.
                try run("""
                    UPDATE contentResource
                    SET fields = json_set(CASE WHEN fields IS NULL OR trim(fields, char(32, 9, 10, 13)) = '' THEN '{}' ELSE fields END,
                                          '$.yDoc', ?2, '$.body', ?3)
                    WHERE id = ?1
                    """, [.text(id), .text(yDocBase64), .text(body)])
            } else {
                try run(
                    "INSERT INTO contentResource(id, type, fields) VALUES (?1, 'document', json_object('yDoc', ?2, 'body', ?3))",
                    [.text(id), .text(yDocBase64), .text(body)])
            }
            try sqlite { () throws(SQLiteError) in try db.commit() }
        } catch {
            db.rollback()
            throw error
        }
    }

    /// Inserts a row (tests, seeding); nil fields are left out of the JSON. Fails on a duplicate id.
    public func insert(_ record: ContentRecord) throws(ContentStoreError) {
        lock.lock()
        defer { lock.unlock() }
        // json_patch('{}', ...) is a JSON merge patch: keys whose value is null are dropped.
        try run("""
            INSERT INTO contentResource(id, type, fields)
            VALUES (?1, ?2, json_patch('{}', json_object('slug', ?3, 'body', ?4, 'yDoc', ?5)))
            """, [.text(record.id), record.type.map { .text($0) } ?? .null,
                  record.slug.map { .text($0) } ?? .null, record.body.map { .text($0) } ?? .null,
                  record.yDocBase64.map { .text($0) } ?? .null])
    }

    // MARK: reading

    private func readRecord(where condition: String, _ key: String) throws(ContentStoreError) -> ContentRecord? {
        let rows = try query("SELECT id, type, fields FROM contentResource WHERE \(condition)", [.text(key)])
        guard let row = rows.first, case let .text(id) = row[0] else { return nil }
        let type: String? = if case let .text(t) = row[1] { t } else { nil }
        try checkObject(id: id, fields: row[2])
        if case .null = row[2] { return ContentRecord(id: id, type: type, slug: nil, body: nil, yDocBase64: nil) }
        if case let .text(t) = row[2], t.allSatisfy(isJSONBlank) {
            return ContentRecord(id: id, type: type, slug: nil, body: nil, yDocBase64: nil)
        }
        var values: [String: String] = [:]
        var ignored: [String] = []
        for key in ["slug", "body", "yDoc"] {
            let r = try query("SELECT json_type(?1, '$.' || ?2), json_extract(?1, '$.' || ?2)", [row[2], .text(key)])
            guard let jsonType = r.first?[0], case let .text(jt) = jsonType else { continue }  // missing
            switch jt {
            case "null": continue
            case "text": if case let .text(v) = r[0][1] { values[key] = v }
            default: ignored.append("\(key) is a JSON \(jt)")
            }
        }
        return ContentRecord(id: id, type: type, slug: values["slug"], body: values["body"],
                             yDocBase64: values["yDoc"], ignoredFields: ignored)
    }

    /// Throws `.badFields` unless `fields` is NULL, blank or a JSON object.
    private func checkObject(id: String, fields: SQLiteValue) throws(ContentStoreError) {
        switch fields {
        case .null: return
        case let .text(t) where t.allSatisfy(isJSONBlank): return
        case .text: break
        default: throw .badFields(id: id, reason: "is not text (SQLite \(fields.typeName))")
        }
        let r = try query("SELECT json_valid(?1), CASE WHEN json_valid(?1) THEN json_type(?1) END", [fields])
        guard case .integer(1) = r[0][0] else { throw .badFields(id: id, reason: "is not valid JSON") }
        guard case .text("object") = r[0][1] else {
            let t: String = if case let .text(t) = r[0][1] { t } else { "?" }
            throw .badFields(id: id, reason: "is a JSON \(t), not an object")
        }
    }

    // MARK: SQLite

    /// Runs a SQLite call; its error becomes `.sqlite` (operation, SQLite's message and code).
    private func sqlite<R>(_ body: () throws(SQLiteError) -> R) throws(ContentStoreError) -> R {
        do { return try body() } catch { throw .sqlite(error.description) }
    }

    private func execute(_ sql: String) throws(ContentStoreError) {
        try sqlite { () throws(SQLiteError) in try db.execute(sql) }
    }

    private func run(_ sql: String, _ bindings: [SQLiteValue] = []) throws(ContentStoreError) {
        _ = try query(sql, bindings)
    }

    /// Every row (the content store's queries return at most a few).
    private func query(_ sql: String, _ bindings: [SQLiteValue] = []) throws(ContentStoreError) -> [[SQLiteValue]] {
        try sqlite { () throws(SQLiteError) in try db.rows(sql, bindings) }
    }

    // MARK: load chain

    /// The seed's load chain for a room: `yDoc` when it is base64 of a decodable update v1, else
    /// `body` (into root text `codemirror`), else empty. A record that was there but unusable
    /// yields a warning naming what was wrong and what was loaded instead.
    public static func initialContent(for record: ContentRecord?) -> LoadChainResult {
        guard let record else { return LoadChainResult(content: .empty, warning: nil) }
        let fallback: InitialContent = if let body = record.body, !body.isEmpty { .text(body) } else { .empty }
        let fallbackName = if case .text = fallback { "body" } else { "an empty document" }
        let name = record.slug.map { "\(record.id) (slug \($0))" } ?? record.id
        var problems = record.ignoredFields.filter { $0.hasPrefix("yDoc ") || $0.hasPrefix("body ") }
        if let encoded = record.yDocBase64, !encoded.allSatisfy(\.isWhitespace) {
            do throws(Base64.Failure) {
                let bytes = try Base64.decode(encoded)
                do throws(DecodingError) {
                    _ = try UpdateDecoderV1.decode(bytes)
                    return LoadChainResult(content: .update(bytes), warning: nil)
                } catch {
                    problems.append("yDoc is not a valid update: \(error)")
                }
            } catch {
                problems.append("yDoc is not valid base64: \(error.reason)")
            }
        }
        guard !problems.isEmpty else { return LoadChainResult(content: fallback, warning: nil) }
        return LoadChainResult(content: fallback,
                               warning: "content \(name): \(problems.joined(separator: "; ")); loaded \(fallbackName) instead")
    }
}

/// JSON whitespace (the set writeBack's SQL trims too).
private func isJSONBlank(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\r\n" }
