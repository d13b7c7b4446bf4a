/// An update v1 decoded into flat arrays, ready for integration into a document: the compact
/// form `applyUpdate` uses so that loading a large state does not build one enum (and one string
/// array) per struct. Decoding touches no document state, so malformed input changes nothing.
struct RawUpdate {
    /// One struct of the update. Clients, names and contents are indexes into the tables below.
    struct Struct {
        var client: UInt32
        var clock: Clock
        var length: Clock
        /// 0 = GC, 10 = Skip, 1...9 = item content ref.
        var ref: UInt8
        var info: UInt8 = 0
        var originClient: UInt32 = .max
        var originClock: Clock = 0
        var rightOriginClient: UInt32 = .max
        var rightOriginClock: Clock = 0
        /// Root parent by name (index into `names`), or parent by item id, or neither.
        var parentName: Int32 = -1
        var parentClient: UInt32 = .max
        var parentClock: Clock = 0
        /// Map key (index into `names`).
        var parentSub: Int32 = -1
        /// String: offset into `units`. Other contents: index into `contents`.
        var content: Int32 = -1

        @inline(__always) var isSkip: Bool { ref == 10 }
        @inline(__always) var isGC: Bool { ref == 0 }
    }

    struct Group {
        var client: UInt32
        var range: Range<Int>
    }

    var clients: [ClientID] = []
    var structs: [Struct] = []
    var groups: [Group] = []
    var units: [UInt16] = []
    var contents: [YContent] = []
    var names: [String] = []
    var deleteSet = DeleteSet()

    private var clientSlot: [ClientID: UInt32] = [:]
    private var lastClient: (id: ClientID, slot: UInt32) = (.max, 0)

    private mutating func slot(_ client: ClientID) -> UInt32 {
        if client == lastClient.id { return lastClient.slot }
        let s: UInt32
        if let existing = clientSlot[client] {
            s = existing
        } else {
            s = UInt32(clients.count)
            clients.append(client)
            clientSlot[client] = s
        }
        lastClient = (client, s)
        return s
    }

    static func decode(_ bytes: [UInt8]) throws(DecodingError) -> RawUpdate {
        var u = RawUpdate()
        var r = Lib0Reader(bytes)
        let groupCount = try r.readCount("group count", minBytesEach: 3)
        var groupOfClient: [UInt32: Int] = [:]
        for _ in 0..<groupCount {
            let structCount = try r.readCount("struct count", minBytesEach: 2)
            let client = u.slot(try r.readVarUInt("client id"))
            var clock = UInt64(try r.readClock("group clock"))
            let start = u.structs.count
            u.structs.reserveCapacity(start + structCount)
            for _ in 0..<structCount {
                let infoOffset = r.offset
                let info = try r.readU8("struct info")
                var s = Struct(client: client, clock: Clock(clock), length: 0, ref: info & 0x1F, info: info)
                switch s.ref {
                case 0: s.length = try r.readClock("GC length")
                case 10: s.length = try r.readClock("Skip length")
                default: try u.readItem(&s, infoOffset: infoOffset, from: &r)
                }
                clock += UInt64(s.length)
                guard clock <= UInt64(Clock.max) else { throw .integerOverflow(what: "struct clock", offset: infoOffset) }
                u.structs.append(s)
            }
            // As Yjs: a later group for the same client replaces an earlier one.
            let group = Group(client: client, range: start..<u.structs.count)
            if let g = groupOfClient[client] { u.groups[g] = group } else {
                groupOfClient[client] = u.groups.count
                u.groups.append(group)
            }
        }
        u.groups.removeAll { $0.range.isEmpty }
        u.deleteSet = try DeleteSet.decode(from: &r)
        return u
    }

    private mutating func readItem(_ s: inout Struct, infoOffset: Int, from r: inout Lib0Reader) throws(DecodingError) {
        let info = s.info
        if info & 0x80 != 0 {
            s.originClient = slot(try r.readVarUInt("origin"))
            s.originClock = try r.readClock("origin")
        }
        if info & 0x40 != 0 {
            s.rightOriginClient = slot(try r.readVarUInt("right origin"))
            s.rightOriginClock = try r.readClock("right origin")
        }
        if info & 0xC0 == 0 {
            if try r.readVarUInt("parent info") == 1 {
                s.parentName = name(try r.readString("root type name"))
            } else {
                s.parentClient = slot(try r.readVarUInt("parent id"))
                s.parentClock = try r.readClock("parent id")
            }
            if info & 0x20 != 0 { s.parentSub = name(try r.readString("parent sub")) }
        }
        if s.ref == 4 {
            // Strings go straight into the shared UTF-16 buffer.
            let start = r.offset
            let n = try r.readVarUInt("String content")
            guard n <= UInt64(r.remaining) else { throw .lengthTooLarge(what: "String content", length: n, offset: start) }
            let offset = Int32(units.count)
            let bytesStart = r.offset
            let count: Int? = r.bytes.withUnsafeBufferPointer { buf in
                UTF16Transcoding.appendUTF16(fromUTF8: UnsafeBufferPointer(rebasing: buf[bytesStart..<bytesStart + Int(n)]), to: &units)
            }
            guard let count else { throw .invalidUTF8(offset: bytesStart) }
            _ = try r.readRaw(Int(n), "String content")
            s.content = offset
            s.length = Clock(count)
        } else if s.ref == 1 {
            s.length = try r.readClock("Deleted length")
        } else {
            let content = try UpdateDecoderV1.readContent(ref: s.ref, infoOffset: infoOffset, from: &r)
            s.length = content.length
            s.content = Int32(contents.count)
            contents.append(content)
        }
    }

    private var nameIndex: [String: Int32] = [:]

    private mutating func name(_ n: String) -> Int32 {
        if let i = nameIndex[n] { return i }
        let i = Int32(names.count)
        names.append(n)
        nameIndex[n] = i
        return i
    }

    /// The struct as the wire-level model has it (for pending storage).
    func updateStruct(_ s: Struct) -> UpdateStruct {
        let id = ID(client: clients[Int(s.client)], clock: s.clock)
        switch s.ref {
        case 0: return .gc(id: id, length: s.length)
        case 10: return .skip(id: id, length: s.length)
        default:
            let content: YContent
            switch s.ref {
            case 4: content = .string(Array(units[Int(s.content)..<Int(s.content) + Int(s.length)]))
            case 1: content = .deleted(length: s.length)
            default: content = contents[Int(s.content)]
            }
            var parent: ParentRef? = nil
            if s.parentName >= 0 { parent = .root(names[Int(s.parentName)]) }
            else if s.parentClient != .max { parent = .item(ID(client: clients[Int(s.parentClient)], clock: s.parentClock)) }
            var item = ItemStruct(
                id: id,
                origin: s.originClient == .max ? nil : ID(client: clients[Int(s.originClient)], clock: s.originClock),
                rightOrigin: s.rightOriginClient == .max ? nil : ID(client: clients[Int(s.rightOriginClient)], clock: s.rightOriginClock),
                parent: parent,
                parentSub: s.parentSub >= 0 ? names[Int(s.parentSub)] : nil,
                content: content)
            item.hasParentSub = s.info & 0x20 != 0
            return .item(item)
        }
    }
}
