// Update format v2 (spec 8): the same structs as v1, their fields spread over nine run-length
// coded columns, then the "rest" (group headers, Skip lengths, any values, binaries, the delete
// set in v2 coding). Decoded into the v1 model (`DecodedUpdate`), so a document applies v2
// through the same integration path as v1.

/// Reads a complete update v2 into its structs and delete set, validating everything.
///
/// Decisions (the v1 decoder's where they apply):
/// - The leading feature flag is read and ignored, as Yjs does; bytes after the delete set are
///   ignored too (the rest has no length).
/// - A client in several groups keeps only its last group, at the position of its first; groups
///   without structs are dropped.
/// - Embed and Format values are `any` values in v2; they are kept as their JSON text
///   (`YAny.jsonText`), the model's form. Legacy JSON content texts must be valid JSON.
/// - A string column string that is not whole UTF-16 (a lone surrogate) becomes U+FFFD in names,
///   keys and JSON texts; String content keeps its code units.
/// - Column runs can stand for any number of structs in a few bytes, so an update may declare at
///   most `maxStructs(forBytes:)` structs (65,536 plus 16 per input byte): above that it is
///   `.lengthTooLarge`, before anything is allocated for them.
public enum UpdateDecoderV2 {
    /// The most structs an update of `count` bytes may declare.
    public static func maxStructs(forBytes count: Int) -> Int { 65_536 + 16 * count }

    /// Decodes a whole update v2; throws `DecodingError` on malformed input.
    public static func decode(_ bytes: [UInt8]) throws(DecodingError) -> DecodedUpdate {
        var columns = try Columns(bytes)
        return try columns.decodeUpdate()
    }

    /// Like `decode`, but bytes left over after the delete set are `.trailingBytes`.
    public static func decodeExactly(_ bytes: [UInt8]) throws(DecodingError) -> DecodedUpdate {
        var columns = try Columns(bytes)
        let u = try columns.decodeUpdate()
        guard columns.rest.isAtEnd else { throw .trailingBytes(count: columns.rest.remaining, offset: columns.rest.offset) }
        return u
    }

    /// The nine columns and the rest reader.
    struct Columns {
        var keyClock: IntDiffOptRleDecoder
        var client: UintOptRleDecoder
        var leftClock: IntDiffOptRleDecoder
        var rightClock: IntDiffOptRleDecoder
        var info: RleByteDecoder
        var strings: StringColumnDecoder
        var parentInfo: RleByteDecoder
        var typeRef: UintOptRleDecoder
        var len: UintOptRleDecoder
        var rest: Lib0Reader
        var keys: [String] = []
        var structBudget: Int

        init(_ bytes: [UInt8]) throws(DecodingError) {
            var r = Lib0Reader(bytes)
            _ = try r.readVarUInt("v2 feature flag")
            keyClock = IntDiffOptRleDecoder(try r.readBytes("key clock column"), what: "key clock")
            client = UintOptRleDecoder(try r.readBytes("client column"), what: "client")
            leftClock = IntDiffOptRleDecoder(try r.readBytes("left clock column"), what: "left clock")
            rightClock = IntDiffOptRleDecoder(try r.readBytes("right clock column"), what: "right clock")
            info = RleByteDecoder(try r.readBytes("info column"), what: "struct info")
            strings = try StringColumnDecoder(try r.readBytes("string column"))
            parentInfo = RleByteDecoder(try r.readBytes("parent info column"), what: "parent info")
            typeRef = UintOptRleDecoder(try r.readBytes("type ref column"), what: "type ref")
            len = UintOptRleDecoder(try r.readBytes("length column"), what: "length")
            rest = r
            structBudget = UpdateDecoderV2.maxStructs(forBytes: bytes.count)
        }

        mutating func readClient() throws(DecodingError) -> ClientID {
            let c = try client.read()
            guard c <= Lib0Reader.maxSafeInteger else { throw .integerOverflow(what: "client id", offset: rest.offset) }
            return c
        }

        mutating func readLen(_ what: String) throws(DecodingError) -> Clock {
            let v = try len.read()
            guard v <= UInt64(Clock.max) else { throw .integerOverflow(what: what, offset: rest.offset) }
            return Clock(v)
        }

        mutating func readLeftID() throws(DecodingError) -> ID {
            let c = try readClient()
            return ID(client: c, clock: try leftClock.readClock())
        }

        mutating func readRightID() throws(DecodingError) -> ID {
            let c = try readClient()
            return ID(client: c, clock: try rightClock.readClock())
        }

        /// lib0 `readKey`: an index below the number of keys seen reuses that key, else a new one.
        mutating func readKey() throws(DecodingError) -> String {
            let k = try keyClock.read()
            if k >= 0, k < Int64(keys.count) { return keys[Int(k)] }
            let key = try strings.read()
            keys.append(key)
            return key
        }

        mutating func decodeUpdate() throws(DecodingError) -> DecodedUpdate {
            // A group takes at least 2 bytes of the rest (struct count, clock).
            let groupCount = try rest.readCount("group count", minBytesEach: 2)
            var groups: [DecodedUpdate.Group] = []
            groups.reserveCapacity(groupCount)
            var positionOfClient: [ClientID: Int] = [:]
            var sawDuplicate = false
            for _ in 0..<groupCount {
                let start = rest.offset
                let n = try rest.readVarUInt("struct count")
                guard n <= UInt64(structBudget) else { throw .lengthTooLarge(what: "struct count", length: n, offset: start) }
                structBudget -= Int(n)
                let client = try readClient()
                let firstClock = try rest.readClock("group clock")
                let structs = try readStructs(count: Int(n), client: client, firstClock: firstClock)
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
            let ds = try DeleteSet.decodeV2(from: &rest)
            return DecodedUpdate(groups: groups, deleteSet: ds)
        }

        mutating func readStructs(count: Int, client: ClientID, firstClock: Clock) throws(DecodingError) -> [UpdateStruct] {
            var structs: [UpdateStruct] = []
            structs.reserveCapacity(Swift.min(count, 4096))
            var clock = UInt64(firstClock)
            for _ in 0..<count {
                let at = rest.offset
                let info = try info.read()
                let id = ID(client: client, clock: Clock(truncatingIfNeeded: clock))
                let s: UpdateStruct
                switch info & 0x1F {
                case 0: s = .gc(id: id, length: try readLen("GC length"))
                case 10: s = .skip(id: id, length: try rest.readClock("Skip length"))
                default: s = .item(try readItem(info: info, id: id, at: at))
                }
                clock += UInt64(s.length)
                guard clock <= UInt64(Clock.max) else { throw .integerOverflow(what: "struct clock", offset: at) }
                structs.append(s)
            }
            return structs
        }

        mutating func readItem(info: UInt8, id: ID, at: Int) throws(DecodingError) -> ItemStruct {
            let origin = info & 0x80 != 0 ? try readLeftID() : nil
            let rightOrigin = info & 0x40 != 0 ? try readRightID() : nil
            var parent: ParentRef? = nil
            var parentSub: String? = nil
            if info & 0xC0 == 0 {
                if try parentInfo.read() == 1 {
                    parent = .root(try strings.read())
                } else {
                    parent = .item(try readLeftID())
                }
                if info & 0x20 != 0 { parentSub = try strings.read() }
            }
            let content = try readContent(ref: info & 0x1F, at: at)
            var item = ItemStruct(id: id, origin: origin, rightOrigin: rightOrigin, parent: parent,
                                  parentSub: parentSub, content: content)
            item.hasParentSub = info & 0x20 != 0
            return item
        }

        mutating func readJSONValue(_ what: String) throws(DecodingError) -> String {
            try rest.readAny().jsonText
        }

        mutating func readContent(ref: UInt8, at: Int) throws(DecodingError) -> YContent {
            switch ref {
            case 1:
                return .deleted(length: try readLen("Deleted length"))
            case 2:
                let n = try len.read()
                // Each text is valid JSON, so at least one unit of the string column.
                guard n <= UInt64(strings.remainingUnits) else {
                    throw .lengthTooLarge(what: "JSON content count", length: n, offset: at)
                }
                var texts: [String] = []
                texts.reserveCapacity(Int(n))
                for _ in 0..<n {
                    let text = try strings.read()
                    try UpdateDecoderV1.validateJSON(text, allowUndefined: true, at: at)
                    texts.append(text)
                }
                return .json(texts)
            case 3:
                return .binary(try rest.readBytes("Binary content"))
            case 4:
                return .string(Array(try strings.readUnits()))
            case 5:
                return .embed(json: try readJSONValue("Embed content"))
            case 6:
                let key = try readKey()
                return .format(key: key, json: try readJSONValue("Format value"))
            case 7:
                let typeRef = try typeRef.read()
                switch typeRef {
                case 0: return .type(.array)
                case 1: return .type(.map)
                case 2: return .type(.text)
                case 3: return .type(.xmlElement(try readKey()))
                case 4: return .type(.xmlFragment)
                case 5: return .type(.xmlHook(try readKey()))
                case 6: return .type(.xmlText)
                default: throw .unknownTypeRef(typeRef, offset: at)
                }
            case 8:
                let n = try len.read()
                // Each value takes at least one byte of the rest.
                guard n <= UInt64(rest.remaining) else { throw .lengthTooLarge(what: "Any content count", length: n, offset: at) }
                var values: [YAny] = []
                values.reserveCapacity(Int(n))
                for _ in 0..<n { values.append(try rest.readAny()) }
                return .any(values)
            case 9:
                let guid = try strings.read()
                return .doc(guid: guid, options: try rest.readAny())
            default:
                throw .unknownContentRef(ref, offset: at)
            }
        }
    }
}

/// Writes update v2 bytes, as Yjs' `UpdateEncoderV2` does for the same structs. Groups are written
/// in the order given; the structs of a group must be contiguous.
///
/// Decisions: Format keys and XML names get a fresh key index each time (as Yjs writes them; its
/// readers would accept reuse, but no writer emits it). The delete set is written normalized
/// (ranges sorted and merged, empty ones left out, clients descending): the v2 coding cannot
/// express unsorted or empty ranges.
public enum UpdateEncoderV2 {
    /// The update v2 bytes of `u`.
    public static func encode(_ u: DecodedUpdate) -> [UInt8] {
        var w = ColumnWriter()
        w.rest.writeVarUInt(u.groups.count)
        for g in u.groups {
            w.rest.writeVarUInt(g.structs.count)
            w.client.write(g.client)
            w.rest.writeVarUInt(g.structs.first?.id.clock ?? 0)
            for s in g.structs { w.writeStruct(s) }
        }
        var ds = u.deleteSet
        ds.normalize()
        ds.writeV2(into: &w.rest)
        return w.finish()
    }

    /// The column encoders of one update.
    struct ColumnWriter {
        var keyClock = IntDiffOptRleEncoder()
        var client = UintOptRleEncoder()
        var leftClock = IntDiffOptRleEncoder()
        var rightClock = IntDiffOptRleEncoder()
        var info = RleByteEncoder()
        var strings = StringColumnEncoder()
        var parentInfo = RleByteEncoder()
        var typeRef = UintOptRleEncoder()
        var len = UintOptRleEncoder()
        var rest = Lib0Writer(capacity: 64)
        var nextKey: Int64 = 0

        mutating func writeKey(_ key: String) {
            keyClock.write(nextKey)
            nextKey += 1
            strings.write(key)
        }

        mutating func writeLeftID(_ id: ID) {
            client.write(id.client)
            leftClock.write(Int64(id.clock))
        }

        mutating func writeRightID(_ id: ID) {
            client.write(id.client)
            rightClock.write(Int64(id.clock))
        }

        /// Embed and Format values: the model keeps JSON text (validated when decoded), v2 an `any`.
        mutating func writeJSONValue(_ json: String) {
            let value: YAny
            do { value = try YAny.parseJSON(json) } catch { preconditionFailure("invalid JSON text in content: \(error)") }
            rest.writeAny(value)
        }

        mutating func writeStruct(_ s: UpdateStruct) {
            switch s {
            case let .gc(_, length):
                info.write(0)
                len.write(UInt64(length))
            case let .skip(_, length):
                info.write(10)
                rest.writeVarUInt(length)
            case let .item(item):
                let hasKey = item.parentSub != nil || item.hasParentSub
                var byte = item.content.ref
                if item.origin != nil { byte |= 0x80 }
                if item.rightOrigin != nil { byte |= 0x40 }
                if hasKey { byte |= 0x20 }
                info.write(byte)
                if let o = item.origin { writeLeftID(o) }
                if let ro = item.rightOrigin { writeRightID(ro) }
                if item.origin == nil && item.rightOrigin == nil {
                    switch item.parent {
                    case let .root(name):
                        parentInfo.write(1)
                        strings.write(name)
                    case let .item(pid):
                        parentInfo.write(0)
                        writeLeftID(pid)
                    case nil:
                        assertionFailure("an item without origins needs a parent")
                        parentInfo.write(1)
                        strings.write("")
                    }
                    if hasKey { strings.write(item.parentSub ?? "") }
                }
                writeContent(item.content)
            }
        }

        mutating func writeContent(_ c: YContent) {
            switch c {
            case let .deleted(n):
                len.write(UInt64(n))
            case let .json(texts):
                len.write(UInt64(texts.count))
                for t in texts { strings.write(t) }
            case let .binary(b):
                rest.writeBytes(b)
            case let .string(units):
                strings.write(units: units)
            case let .embed(json):
                writeJSONValue(json)
            case let .format(key, json):
                writeKey(key)
                writeJSONValue(json)
            case let .type(t):
                typeRef.write(UInt64(t.number))
                switch t {
                case let .xmlElement(name), let .xmlHook(name): writeKey(name)
                default: break
                }
            case let .any(values):
                len.write(UInt64(values.count))
                for v in values { rest.writeAny(v) }
            case let .doc(guid, options):
                strings.write(guid)
                rest.writeAny(options)
            }
        }

        mutating func finish() -> [UInt8] {
            let restBytes = rest.bytes
            var out = Lib0Writer(capacity: restBytes.count + 64)
            out.writeVarUInt(UInt64(0))
            out.writeBytes(keyClock.finish())
            out.writeBytes(client.finish())
            out.writeBytes(leftClock.finish())
            out.writeBytes(rightClock.finish())
            out.writeBytes(info.bytes)
            out.writeBytes(strings.finish())
            out.writeBytes(parentInfo.bytes)
            out.writeBytes(typeRef.finish())
            out.writeBytes(len.finish())
            out.writeRaw(restBytes)
            return out.bytes
        }
    }
}

// MARK: - Delete set v2

extension DeleteSet {
    /// Reads a delete set in v2 coding (spec 8.3): per client, clocks as differences to the end of
    /// the previous range and lengths minus one. Clients listed twice get their ranges appended.
    public static func decodeV2(from r: inout Lib0Reader) throws(DecodingError) -> DeleteSet {
        let clientCount = try r.readCount("delete set client count", minBytesEach: 2)
        var ds = DeleteSet()
        ds.clients.reserveCapacity(clientCount)
        for _ in 0..<clientCount {
            let client = try r.readVarUInt("delete set client")
            let n = try r.readCount("delete set range count", minBytesEach: 2)
            guard n > 0 else { continue }
            var ranges = ds.clients[client] ?? []
            ranges.reserveCapacity(ranges.count + n)
            var running: UInt64 = 0
            for _ in 0..<n {
                let start = r.offset
                let clock = running + (try r.readVarUInt("delete set clock"))
                let length = (try r.readVarUInt("delete set length")) + 1
                guard clock + length <= UInt64(Clock.max) else {
                    throw .integerOverflow(what: "delete set range", offset: start)
                }
                ranges.append(ClockRange(clock: Clock(clock), length: Clock(length)))
                running = clock + length
            }
            ds.clients[client] = ranges
        }
        return ds
    }

    /// Writes the delete set in v2 coding, clients descending. The ranges of each client must be
    /// sorted and disjoint (call `normalize()` first); empty ranges (which v2 cannot express) and
    /// clients without ranges are left out.
    func writeV2(into w: inout Lib0Writer) {
        var clients: [(ClientID, [ClockRange])] = []
        for (client, ranges) in self.clients {
            let kept = ranges.allSatisfy { $0.length > 0 } ? ranges : ranges.filter { $0.length > 0 }
            if !kept.isEmpty { clients.append((client, kept)) }
        }
        clients.sort { $0.0 > $1.0 }
        w.writeVarUInt(clients.count)
        for (client, ranges) in clients {
            w.writeVarUInt(client)
            w.writeVarUInt(ranges.count)
            var running: Clock = 0
            for r in ranges {
                precondition(r.clock >= running, "delete set not normalized")
                w.writeVarUInt(r.clock - running)
                w.writeVarUInt(r.length - 1)
                running = r.clock + r.length
            }
        }
    }

    /// The delete set alone in v2 coding (normalized first).
    public func encodedV2() -> [UInt8] {
        var ds = self
        ds.normalize()
        var w = Lib0Writer()
        ds.writeV2(into: &w)
        return w.bytes
    }
}
