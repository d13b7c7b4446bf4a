// Update format v1 (spec 3.1-3.8), state vectors (4.1) and delete sets (3.7).

/// Reads a complete update v1 into its structs and delete set, validating everything.
///
/// Decisions where Yjs is lenient or inconsistent:
/// - Trailing bytes after the delete set are ignored, as Yjs does.
/// - A client that appears in several groups keeps only its last group (Yjs' `applyUpdate`),
///   at the position of its first group. Groups without structs are then dropped (they carry
///   nothing, and their start clock has no place in the model).
/// - Struct refs are taken from `info & 0x1F` as Yjs' `applyUpdate` does: ref 0 is a GC and ref 10
///   a Skip whatever the high bits. A parent-info var-uint other than 1 means "parent by ID".
/// - Embed, Format and legacy JSON texts must be valid JSON (Yjs runs JSON.parse on them); they
///   are kept as text.
/// - Clocks must fit UInt32: a struct or delete range ending past 2^32-1 is `.integerOverflow`.
public enum UpdateDecoderV1 {
    /// Decodes a whole update v1; throws `DecodingError` on malformed input (see the decisions above).
    public static func decode(_ bytes: [UInt8]) throws(DecodingError) -> DecodedUpdate {
        var reader = Lib0Reader(bytes)
        return try decode(from: &reader)
    }

    /// Reads one update from the reader's position; the reader ends after the delete set.
    public static func decode(from r: inout Lib0Reader) throws(DecodingError) -> DecodedUpdate {
        // A group takes at least 3 bytes (struct count, client, clock).
        let groupCount = try r.readCount("group count", minBytesEach: 3)
        var groups: [DecodedUpdate.Group] = []
        groups.reserveCapacity(groupCount)
        var positionOfClient: [ClientID: Int] = [:]
        var sawDuplicate = false
        for _ in 0..<groupCount {
            // A struct takes at least 2 bytes (GC: info + length).
            let structCount = try r.readCount("struct count", minBytesEach: 2)
            let client = try r.readVarUInt("client id")
            let firstClock = try r.readClock("group clock")
            let structs = try readStructs(count: structCount, client: client, firstClock: firstClock, from: &r)
            let group = DecodedUpdate.Group(client: client, structs: structs)
            if groupCount > 1, let p = positionOfClient[client] {
                groups[p] = group
                sawDuplicate = true
            } else {
                if groupCount > 1 { positionOfClient[client] = groups.count }
                groups.append(group)
            }
        }
        if sawDuplicate || groups.contains(where: { $0.structs.isEmpty }) {
            groups.removeAll { $0.structs.isEmpty }
        }
        let ds = try DeleteSet.decode(from: &r)
        return DecodedUpdate(groups: groups, deleteSet: ds)
    }

    static func readStructs(count: Int, client: ClientID, firstClock: Clock,
                            from r: inout Lib0Reader) throws(DecodingError) -> [UpdateStruct] {
        var structs: [UpdateStruct] = []
        structs.reserveCapacity(count)
        var clock = UInt64(firstClock)
        for _ in 0..<count {
            let infoOffset = r.offset
            let info = try r.readU8("struct info")
            let id = ID(client: client, clock: Clock(truncatingIfNeeded: clock))
            let s: UpdateStruct
            switch info & 0x1F {
            case 0: s = .gc(id: id, length: try r.readClock("GC length"))
            case 10: s = .skip(id: id, length: try r.readClock("Skip length"))
            default: s = .item(try readItem(info: info, id: id, infoOffset: infoOffset, from: &r))
            }
            clock += UInt64(s.length)
            guard clock <= UInt64(Clock.max) else { throw .integerOverflow(what: "struct clock", offset: infoOffset) }
            structs.append(s)
        }
        return structs
    }

    static func readID(_ what: String, from r: inout Lib0Reader) throws(DecodingError) -> ID {
        let client = try r.readVarUInt(what)
        let clock = try r.readClock(what)
        return ID(client: client, clock: clock)
    }

    static func readItem(info: UInt8, id: ID, infoOffset: Int, from r: inout Lib0Reader) throws(DecodingError) -> ItemStruct {
        var origin: ID? = nil
        var rightOrigin: ID? = nil
        if info & 0x80 != 0 { origin = try readID("origin", from: &r) }
        if info & 0x40 != 0 { rightOrigin = try readID("right origin", from: &r) }
        var parent: ParentRef? = nil
        var parentSub: String? = nil
        // Parent and key are on the wire only when neither origin is (spec 3.4, 11.9).
        if info & 0xC0 == 0 {
            if try r.readVarUInt("parent info") == 1 {
                parent = .root(try r.readString("root type name"))
            } else {
                parent = .item(try readID("parent id", from: &r))
            }
            if info & 0x20 != 0 { parentSub = try r.readString("parent sub") }
        }
        let content = try readContent(ref: info & 0x1F, infoOffset: infoOffset, from: &r)
        var item = ItemStruct(id: id, origin: origin, rightOrigin: rightOrigin, parent: parent,
                              parentSub: parentSub, content: content)
        item.hasParentSub = info & 0x20 != 0
        return item
    }

    /// Reads a v1 content payload (spec 3.5) for content ref `ref`.
    public static func readContent(ref: UInt8, infoOffset: Int, from r: inout Lib0Reader) throws(DecodingError) -> YContent {
        switch ref {
        case 1:
            return .deleted(length: try r.readClock("Deleted length"))
        case 2:
            let n = try r.readCount("JSON content count", minBytesEach: 1)
            var texts: [String] = []
            texts.reserveCapacity(n)
            for _ in 0..<n {
                let start = r.offset
                let text = try r.readString("JSON content")
                try validateJSON(text, allowUndefined: true, at: start)
                texts.append(text)
            }
            return .json(texts)
        case 3:
            return .binary(try r.readBytes("Binary content"))
        case 4:
            return .string(try r.readUTF16String("String content"))
        case 5:
            let start = r.offset
            let text = try r.readString("Embed content")
            try validateJSON(text, allowUndefined: false, at: start)
            return .embed(json: text)
        case 6:
            let key = try r.readString("Format key")
            let start = r.offset
            let text = try r.readString("Format value")
            try validateJSON(text, allowUndefined: false, at: start)
            return .format(key: key, json: text)
        case 7:
            let start = r.offset
            let typeRef = try r.readVarUInt("type ref")
            switch typeRef {
            case 0: return .type(.array)
            case 1: return .type(.map)
            case 2: return .type(.text)
            case 3: return .type(.xmlElement(try r.readString("XmlElement name")))
            case 4: return .type(.xmlFragment)
            case 5: return .type(.xmlHook(try r.readString("XmlHook name")))
            case 6: return .type(.xmlText)
            default: throw .unknownTypeRef(typeRef, offset: start)
            }
        case 8:
            let n = try r.readCount("Any content count", minBytesEach: 1)
            var values: [YAny] = []
            values.reserveCapacity(n)
            for _ in 0..<n { values.append(try r.readAny()) }
            return .any(values)
        case 9:
            let guid = try r.readString("Doc guid")
            let options = try r.readAny()
            return .doc(guid: guid, options: options)
        default:
            throw .unknownContentRef(ref, offset: infoOffset)
        }
    }

    static func validateJSON(_ text: String, allowUndefined: Bool, at offset: Int) throws(DecodingError) {
        do {
            _ = try YAny.parseJSON(text, allowUndefined: allowUndefined)
        } catch .nestingTooDeep(_) {
            throw .nestingTooDeep(offset: offset)
        } catch {
            throw .malformed("content is not valid JSON text", offset: offset)
        }
    }
}

/// Writes update v1 bytes. Groups are written in the order given; the structs of a group must
/// be contiguous (each starts where the previous one ends).
public enum UpdateEncoderV1 {
    /// The update v1 bytes of `u`: its groups in order, then its delete set.
    public static func encode(_ u: DecodedUpdate) -> [UInt8] {
        var w = Lib0Writer(capacity: 64)
        w.writeVarUInt(u.groups.count)
        for g in u.groups {
            w.writeVarUInt(g.structs.count)
            w.writeVarUInt(g.client)
            w.writeVarUInt(g.structs.first?.id.clock ?? 0)
            var expected = g.structs.first?.id.clock ?? 0
            for s in g.structs {
                assert(s.id.client == g.client && s.id.clock == expected, "non-contiguous structs in a group")
                expected = s.endClock
                writeStruct(s, offset: 0, into: &w)
            }
        }
        writeDeleteSet(u.deleteSet, into: &w)
        return w.bytes
    }

    /// Writes one struct as if its first `offset` units had been cut off (spec 3.6): an item gets
    /// the origin `(client, clock + offset - 1)` and loses its parent/key on the wire. The group
    /// header written by the caller must then start at `clock + offset`.
    public static func writeStruct(_ s: UpdateStruct, offset: Clock, into w: inout Lib0Writer) {
        switch s {
        case let .gc(_, length):
            w.writeU8(0)
            w.writeVarUInt(length - offset)
        case let .skip(_, length):
            w.writeU8(10)
            w.writeVarUInt(length - offset)
        case let .item(item):
            let origin = offset > 0 ? ID(client: item.id.client, clock: item.id.clock + offset - 1) : item.origin
            let hasKey = item.parentSub != nil || item.hasParentSub
            var info = item.content.ref
            if origin != nil { info |= 0x80 }
            if item.rightOrigin != nil { info |= 0x40 }
            if hasKey { info |= 0x20 }
            w.writeU8(info)
            if let origin {
                w.writeVarUInt(origin.client)
                w.writeVarUInt(origin.clock)
            }
            if let ro = item.rightOrigin {
                w.writeVarUInt(ro.client)
                w.writeVarUInt(ro.clock)
            }
            if origin == nil && item.rightOrigin == nil {
                switch item.parent {
                case let .root(name):
                    w.writeVarUInt(UInt64(1))
                    w.writeString(name)
                case let .item(pid):
                    w.writeVarUInt(UInt64(0))
                    w.writeVarUInt(pid.client)
                    w.writeVarUInt(pid.clock)
                case nil:
                    assertionFailure("an item without origins needs a parent")
                    w.writeVarUInt(UInt64(1))
                    w.writeString("")
                }
                if hasKey { w.writeString(item.parentSub ?? "") }
            }
            writeItemContent(item.content, offset: offset, into: &w)
        }
    }

    /// Writes a v1 content payload without its first `offset` units. Only Deleted, JSON, String
    /// and Any can be cut; the others have length 1 and `offset` must be 0.
    public static func writeItemContent(_ c: YContent, offset: Clock, into w: inout Lib0Writer) {
        let off = Int(offset)
        switch c {
        case let .deleted(n):
            w.writeVarUInt(n - offset)
        case let .json(texts):
            w.writeVarUInt(texts.count - off)
            for t in texts[off...] { w.writeString(t) }
        case let .binary(b):
            w.writeBytes(b)
        case let .string(units):
            // A cut inside a surrogate pair leaves a lone low surrogate: written as U+FFFD.
            if off == 0 { w.writeUTF16String(units) } else { w.writeUTF16String(units[off...]) }
        case let .embed(json):
            w.writeString(json)
        case let .format(key, json):
            w.writeString(key)
            w.writeString(json)
        case let .type(t):
            w.writeVarUInt(UInt64(t.number))
            switch t {
            case let .xmlElement(name), let .xmlHook(name): w.writeString(name)
            default: break
            }
        case let .any(values):
            w.writeVarUInt(values.count - off)
            for v in values[off...] { w.writeAny(v) }
        case let .doc(guid, options):
            w.writeString(guid)
            w.writeAny(options)
        }
    }

    /// Clients descending (Yjs since 13.5.47); each client's ranges in stored order (call
    /// `DeleteSet.normalize()` first for sorted, merged ranges). Clients without ranges are left out.
    public static func writeDeleteSet(_ ds: DeleteSet, into w: inout Lib0Writer) {
        // Called for every transaction: the common 0/1-client case allocates nothing.
        if ds.clients.count <= 1 {
            if let (client, ranges) = ds.clients.first, !ranges.isEmpty {
                w.writeVarUInt(1)
                w.writeVarUInt(client)
                w.writeVarUInt(ranges.count)
                for r in ranges {
                    w.writeVarUInt(r.clock)
                    w.writeVarUInt(r.length)
                }
            } else {
                w.writeVarUInt(0)
            }
            return
        }
        var clients: [ClientID] = []
        for (client, ranges) in ds.clients where !ranges.isEmpty { clients.append(client) }
        if clients.count > 1 { clients.sort(by: >) }
        w.writeVarUInt(clients.count)
        for client in clients {
            let ranges = ds.clients[client]!
            w.writeVarUInt(client)
            w.writeVarUInt(ranges.count)
            for r in ranges {
                w.writeVarUInt(r.clock)
                w.writeVarUInt(r.length)
            }
        }
    }
}

// MARK: - Delete set and state vector

extension DeleteSet {
    /// Reads a v1 delete set. Ranges are kept as read (a client listed twice gets its ranges
    /// appended, as in Yjs); clients listed with no ranges are left out.
    public static func decode(from r: inout Lib0Reader) throws(DecodingError) -> DeleteSet {
        // An entry takes at least 2 bytes (client, range count); a range 2 (clock, length).
        let clientCount = try r.readCount("delete set client count", minBytesEach: 2)
        var ds = DeleteSet()
        ds.clients.reserveCapacity(clientCount)
        for _ in 0..<clientCount {
            let client = try r.readVarUInt("delete set client")
            let n = try r.readCount("delete set range count", minBytesEach: 2)
            guard n > 0 else { continue }
            var ranges = ds.clients[client] ?? []
            ranges.reserveCapacity(ranges.count + n)
            for _ in 0..<n {
                let start = r.offset
                let clock = try r.readClock("delete set clock")
                let length = try r.readClock("delete set length")
                guard UInt64(clock) + UInt64(length) <= UInt64(Clock.max) else {
                    throw .integerOverflow(what: "delete set range", offset: start)
                }
                ranges.append(ClockRange(clock: clock, length: length))
            }
            ds.clients[client] = ranges
        }
        return ds
    }

    /// The delete set alone in v1 layout.
    public func encodedV1() -> [UInt8] {
        var w = Lib0Writer()
        UpdateEncoderV1.writeDeleteSet(self, into: &w)
        return w.bytes
    }
}

public extension StateVector {
    /// Reads an encoded state vector; trailing bytes are ignored (as in Yjs). A client listed
    /// twice keeps its last clock.
    init(decoding bytes: [UInt8]) throws(DecodingError) {
        var r = Lib0Reader(bytes)
        self = try StateVector.decode(from: &r)
    }

    /// Reads a state vector at the reader's position; the reader ends after it.
    static func decode(from r: inout Lib0Reader) throws(DecodingError) -> StateVector {
        let n = try r.readCount("state vector size", minBytesEach: 2)
        var clocks: [ClientID: Clock] = [:]
        clocks.reserveCapacity(n)
        for _ in 0..<n {
            let client = try r.readVarUInt("state vector client")
            clocks[client] = try r.readClock("state vector clock")
        }
        return StateVector(clocks)
    }

    /// Entries sorted by client descending, as Yjs writes them.
    func encoded() -> [UInt8] {
        var w = Lib0Writer(capacity: 1 + clocks.count * 6)
        write(into: &w)
        return w.bytes
    }

    /// Appends the encoded state vector (entries sorted by client descending) to `w`.
    func write(into w: inout Lib0Writer) {
        w.writeVarUInt(clocks.count)
        for (client, clock) in sortedDescending {
            w.writeVarUInt(client)
            w.writeVarUInt(clock)
        }
    }
}

// MARK: - Slicing

extension YContent {
    /// Whether contents of this kind can be cut (Deleted, JSON, String, Any).
    public var isSplittable: Bool {
        switch self {
        case .deleted, .json, .string, .any: return true
        default: return false
        }
    }

    /// The content without its first `offset` units (the right part of `split(at:)`).
    /// Strings follow Yjs: if the cut falls inside a surrogate pair, the right part starts
    /// with U+FFFD instead of the lone low surrogate.
    public func sliced(from offset: Clock) -> YContent {
        if offset == 0 { return self }
        precondition(offset <= length && isSplittable, "cannot slice \(self) at \(offset)")
        let off = Int(offset)
        switch self {
        case let .deleted(n): return .deleted(length: n - offset)
        case let .json(texts): return .json(Array(texts[off...]))
        case let .any(values): return .any(Array(values[off...]))
        case let .string(units):
            var right = Array(units[off...])
            if units[off - 1] & 0xFC00 == 0xD800, !right.isEmpty { right[0] = 0xFFFD }
            return .string(right)
        default: return self
        }
    }

    /// Splits at `offset` (0 < offset < length) as Yjs' `splice` does; a surrogate pair cut in
    /// two becomes U+FFFD on both sides, so lengths stay unchanged (spec 5.9).
    public func split(at offset: Clock) -> (left: YContent, right: YContent) {
        precondition(offset > 0 && offset < length && isSplittable, "cannot split \(self) at \(offset)")
        let off = Int(offset)
        switch self {
        case let .deleted(n): return (.deleted(length: offset), .deleted(length: n - offset))
        case let .json(texts): return (.json(Array(texts[..<off])), .json(Array(texts[off...])))
        case let .any(values): return (.any(Array(values[..<off])), .any(Array(values[off...])))
        case let .string(units):
            var left = Array(units[..<off])
            var right = Array(units[off...])
            if left[off - 1] & 0xFC00 == 0xD800 {
                left[off - 1] = 0xFFFD
                right[0] = 0xFFFD
            }
            return (.string(left), .string(right))
        default: fatalError("unreachable")
        }
    }
}

extension UpdateStruct {
    /// The struct without its first `offset` clocks, as offset writing (spec 3.6) and Yjs'
    /// merge would produce it: an item gets the origin `(client, clock + offset - 1)`; its
    /// right origin, parent and key are kept (the writer leaves parent and key off the wire
    /// because an origin is now present).
    public func sliced(from offset: Clock) -> UpdateStruct {
        if offset == 0 { return self }
        precondition(offset <= length, "slice offset past the end of the struct")
        switch self {
        case let .gc(id, length):
            return .gc(id: ID(client: id.client, clock: id.clock + offset), length: length - offset)
        case let .skip(id, length):
            return .skip(id: ID(client: id.client, clock: id.clock + offset), length: length - offset)
        case var .item(item):
            let clock = item.id.clock
            item.id = ID(client: item.id.client, clock: clock + offset)
            item.origin = ID(client: item.id.client, clock: clock + offset - 1)
            item.content = item.content.sliced(from: offset)
            return .item(item)
        }
    }

    /// Whether this is a `.skip` (a hole, not content).
    public var isSkip: Bool {
        if case .skip = self { return true }
        return false
    }
}
