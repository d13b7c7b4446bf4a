import CLISupport
import CRDT
import Sync

/// Renders a decoded update as a human table or as detailed JSON.
enum UpdateInspector {
    // MARK: - Table

    static func table(_ update: DecodedUpdate, byteCount: Int) -> String {
        let header = ["client", "clock", "length", "kind", "origin", "right origin", "parent/key", "content"]
        var rows: [[String]] = []
        for group in update.groups {
            for s in group.structs {
                switch s {
                case let .gc(id, length):
                    rows.append([String(id.client), String(id.clock), String(length), "GC", "", "", "", ""])
                case let .skip(id, length):
                    rows.append([String(id.client), String(id.clock), String(length), "Skip", "", "", "", ""])
                case let .item(item):
                    rows.append([
                        String(item.id.client), String(item.id.clock), String(item.length), kind(item.content),
                        item.origin.map(idText) ?? "-", item.rightOrigin.map(idText) ?? "-",
                        parentText(item), contentPreview(item.content),
                    ])
                }
            }
        }
        let structCount = rows.count
        var out = "update: \(byteCount) bytes, \(update.groups.count) client group(s), \(structCount) struct(s)\n"
        if !rows.isEmpty {
            var widths = header.map { $0.count }
            for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
            let rightAligned: Set<Int> = [0, 1, 2]
            func line(_ cells: [String]) -> String {
                var parts: [String] = []
                for (i, cell) in cells.enumerated() {
                    let pad = String(repeating: " ", count: widths[i] - cell.count)
                    parts.append(rightAligned.contains(i) ? pad + cell : (i == cells.count - 1 ? cell : cell + pad))
                }
                return parts.joined(separator: "  ") + "\n"
            }
            out += line(header)
            out += line(widths.map { String(repeating: "-", count: $0) })
            for row in rows { out += line(row) }
        }
        let ds = update.deleteSet.clients.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }
        if ds.isEmpty {
            out += "delete set: empty\n"
        } else {
            out += "delete set:\n"
            for (client, ranges) in ds {
                let text = ranges.map { "[\($0.clock), \($0.end))" }.joined(separator: " ")
                out += "  client \(client): \(text)\n"
            }
        }
        return out
    }

    static func idText(_ id: ID) -> String { "\(id.client):\(id.clock)" }

    static func parentText(_ item: ItemStruct) -> String {
        var s: String
        switch item.parent {
        case nil: s = item.origin == nil && item.rightOrigin == nil ? "?" : "-"
        case let .root(name)?: s = "root \"\(preview(name, limit: 32))\""
        case let .item(id)?: s = "item \(idText(id))"
        }
        if let key = item.parentSub { s += " [\"\(preview(key, limit: 32))\"]" }
        return s
    }

    static func kind(_ content: YContent) -> String {
        switch content {
        case .deleted: return "deleted"
        case .json: return "json"
        case .binary: return "binary"
        case .string: return "string"
        case .embed: return "embed"
        case .format: return "format"
        case .type: return "type"
        case .any: return "any"
        case .doc: return "doc"
        }
    }

    static func contentPreview(_ content: YContent) -> String {
        switch content {
        case let .deleted(n): return "(\(n) deleted)"
        case let .json(values): return preview(values.joined(separator: ", "), limit: 40)
        case let .binary(bytes): return "<\(bytes.count) bytes>"
        case let .string(units): return "\"" + preview(String(decoding: units, as: UTF16.self), limit: 40) + "\""
        case let .embed(json): return preview(json, limit: 40)
        case let .format(key, json): return preview("\(key)=\(json)", limit: 40)
        case let .type(ref): return typeName(ref)
        case let .any(values): return preview(values.map { anyJSON($0).rendered() }.joined(separator: ", "), limit: 40)
        case let .doc(guid, _): return "subdoc \"\(preview(guid, limit: 36))\""
        }
    }

    static func typeName(_ ref: YTypeRef) -> String {
        switch ref {
        case .array: return "YArray"
        case .map: return "YMap"
        case .text: return "YText"
        case let .xmlElement(name): return "YXmlElement <\(preview(name, limit: 24))>"
        case .xmlFragment: return "YXmlFragment"
        case let .xmlHook(name): return "YXmlHook \(preview(name, limit: 24))"
        case .xmlText: return "YXmlText"
        }
    }

    // MARK: - JSON

    static func json(_ update: DecodedUpdate, byteCount: Int) -> JSON {
        let groups: [JSON] = update.groups.map { group in
            .object([
                ("client", .uint(group.client)),
                ("structs", .array(group.structs.map(structJSON))),
            ])
        }
        let ds = update.deleteSet.clients.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }
        let deleteSet: [JSON] = ds.map { client, ranges in
            .object([
                ("client", .uint(client)),
                ("ranges", .array(ranges.map { .object([("clock", .uint(UInt64($0.clock))), ("length", .uint(UInt64($0.length)))]) })),
            ])
        }
        return .object([
            ("bytes", .int(byteCount)),
            ("groups", .array(groups)),
            ("deleteSet", .array(deleteSet)),
        ])
    }

    static func idJSON(_ id: ID?) -> JSON {
        guard let id else { return .null }
        return .object([("client", .uint(id.client)), ("clock", .uint(UInt64(id.clock)))])
    }

    static func structJSON(_ s: UpdateStruct) -> JSON {
        switch s {
        case let .gc(id, length):
            return .object([("kind", .string("gc")), ("id", idJSON(id)), ("length", .uint(UInt64(length)))])
        case let .skip(id, length):
            return .object([("kind", .string("skip")), ("id", idJSON(id)), ("length", .uint(UInt64(length)))])
        case let .item(item):
            let parent: JSON
            switch item.parent {
            case nil: parent = .null
            case let .root(name)?: parent = .object([("root", .string(name))])
            case let .item(id)?: parent = .object([("item", idJSON(id))])
            }
            return .object([
                ("kind", .string("item")),
                ("id", idJSON(item.id)),
                ("length", .uint(UInt64(item.length))),
                ("origin", idJSON(item.origin)),
                ("rightOrigin", idJSON(item.rightOrigin)),
                ("parent", parent),
                ("parentSub", item.parentSub.map { .string($0) } ?? .null),
                ("content", contentJSON(item.content)),
            ])
        }
    }

    static func contentJSON(_ content: YContent) -> JSON {
        var fields: [(String, JSON)] = [("type", .string(kind(content))), ("ref", .int(Int(content.ref)))]
        switch content {
        case let .deleted(n):
            fields.append(("length", .uint(UInt64(n))))
        case let .json(values):
            fields.append(("values", .array(values.map { .string($0) })))
        case let .binary(bytes):
            fields.append(("base64", .string(Base64.encode(bytes))))
            fields.append(("byteLength", .int(bytes.count)))
        case let .string(units):
            fields.append(("text", .string(String(decoding: units, as: UTF16.self))))
            fields.append(("utf16Length", .int(units.count)))
            if hasLoneSurrogate(units) {
                // The text above shows U+FFFD in their place; give the exact units too.
                fields.append(("utf16", .array(units.map { .uint(UInt64($0)) })))
            }
        case let .embed(json):
            fields.append(("json", .string(json)))
        case let .format(key, json):
            fields.append(("key", .string(key)))
            fields.append(("json", .string(json)))
        case let .type(ref):
            fields.append(("typeRef", .int(Int(ref.number))))
            fields.append(("typeName", .string(typeName(ref))))
            switch ref {
            case let .xmlElement(name): fields.append(("nodeName", .string(name)))
            case let .xmlHook(name): fields.append(("hookName", .string(name)))
            default: break
            }
        case let .any(values):
            fields.append(("values", .array(values.map(anyJSON))))
        case let .doc(guid, options):
            fields.append(("guid", .string(guid)))
            fields.append(("options", anyJSON(options)))
        }
        return .object(fields)
    }

    /// lib0 `any` values as JSON; the kinds JSON lacks are tagged objects.
    static func anyJSON(_ value: YAny) -> JSON {
        switch value {
        case .undefined: return .object([("$undefined", .bool(true))])
        case .null: return .null
        case let .bool(b): return .bool(b)
        case let .integer(n): return .int(n)
        case let .float32(f): return Double(f).isFinite ? .double(Double(f)) : .object([("$float", .string(String(f)))])
        case let .float64(d): return d.isFinite ? .double(d) : .object([("$float", .string(String(d)))])
        case let .bigint(n): return .object([("$bigint", .string(String(n)))])
        case let .string(s): return .string(s)
        case let .bytes(b): return .object([("$base64", .string(Base64.encode(b)))])
        case let .array(a): return .array(a.map(anyJSON))
        case let .object(o): return .object(o.map { ($0.0, anyJSON($0.1)) })
        }
    }

    static func hasLoneSurrogate(_ units: [UInt16]) -> Bool {
        var i = 0
        while i < units.count {
            let u = units[i]
            if u >= 0xD800 && u <= 0xDBFF {
                guard i + 1 < units.count, units[i + 1] >= 0xDC00 && units[i + 1] <= 0xDFFF else { return true }
                i += 2
                continue
            }
            if u >= 0xDC00 && u <= 0xDFFF { return true }
            i += 1
        }
        return false
    }
}
