/// Writing the document's structs as update v1 (Yjs `writeClientsStructs` / `encodeStateAsUpdate`).
extension DocStore {
    /// Writes, for every client whose state is past `from(client)`, its structs from that clock,
    /// clients descending. The first struct of a group is offset-written when the clock falls inside it.
    func writeStructs(into w: inout Lib0Writer, from: (ClientIndex) -> Clock) {
        var starts = [Clock](repeating: 0, count: clientStructs.count)
        for i in 0..<clientStructs.count { starts[i] = from(ClientIndex(i)) }
        writeStructs(into: &w, before: starts)
    }

    /// `writeStructs` with the start clock of each client index given by `before` (missing = 0):
    /// the form a transaction uses, without a closure call per client.
    func writeStructs(into w: inout Lib0Writer, before: [Clock]) {
        var groupCount = 0
        var only = -1
        for i in 0..<clientStructs.count {
            let start = i < before.count ? before[i] : 0
            if clientStructs[i].state > start { groupCount += 1; only = i }
        }
        w.writeVarUInt(UInt64(groupCount))
        guard groupCount > 0 else { return }
        if groupCount == 1 {
            writeGroup(ClientIndex(only), from: only < before.count ? before[only] : 0, into: &w)
            return
        }
        var groups: [(client: ClientID, index: Int)] = []
        for i in 0..<clientStructs.count where clientStructs[i].state > (i < before.count ? before[i] : 0) {
            groups.append((clientIDs[i], i))
        }
        groups.sort { $0.client > $1.client }
        for g in groups {
            writeGroup(ClientIndex(g.index), from: g.index < before.count ? before[g.index] : 0, into: &w)
        }
    }

    /// One client group: its structs from `clock` on.
    private func writeGroup(_ c: ClientIndex, from clock: Clock, into w: inout Lib0Writer) {
        let cs = Int(c)
        let last = clientStructs[cs].last
        if items[Int(last)].clock <= clock {
            // A transaction that appended at the end: one struct, no search, no array.
            w.writeVarUInt(UInt64(1))
            w.writeVarUInt(clientIDs[cs])
            w.writeVarUInt(UInt64(clock))
            writeStructs(CollectionOfOne(last), firstOffset: clock - items[Int(last)].clock, into: &w)
            return
        }
        var refs: [ItemRef] = []
        clientStructs[cs].appendRefs(from: clock, to: &refs)
        w.writeVarUInt(UInt64(refs.count))
        w.writeVarUInt(clientIDs[cs])
        w.writeVarUInt(UInt64(clock))
        writeStructs(refs, firstOffset: clock - items[Int(refs[0])].clock, into: &w)
    }

    /// First pass: an upper bound of the bytes (and the rare contents encoded the slow way);
    /// second pass: write without per-byte checks.
    private func writeStructs<C: Collection>(_ refs: C, firstOffset: Clock, into w: inout Lib0Writer) where C.Element == ItemRef {
        var slowContents: [[UInt8]] = []
        var nextSlow = 0
        if refs.count == 1 {
            // A keystroke's update: the checked writer, no bound pass.
            let ref = refs.first!
            let kind = items[Int(ref)].kind
            if kind == .string || kind == .deleted || kind == .gc {
                writeStruct(ref, offset: firstOffset, into: &w, slowContents: slowContents, nextSlow: &nextSlow)
                return
            }
        }
        var bound = 0
        var offset = firstOffset
        for ref in refs {
            bound += structBound(ref, offset: offset, slowContents: &slowContents)
            offset = 0
        }
        if refs.count == 1 {
            writeStruct(refs.first!, offset: firstOffset, into: &w, slowContents: slowContents, nextSlow: &nextSlow)
            return
        }
        w.withSink(bound: bound) { sink in
            var offset = firstOffset
            for ref in refs {
                writeStruct(ref, offset: offset, into: &sink, slowContents: slowContents, nextSlow: &nextSlow)
                offset = 0
            }
        }
    }

    /// Most bytes `writeStruct` can write for this struct; encodes contents without a cheap
    /// bound (Any, JSON, Binary, Embed, Format, Doc, XML names) into `slowContents`.
    private func structBound(_ ref: ItemRef, offset: Clock, slowContents: inout [[UInt8]]) -> Int {
        let r = items[Int(ref)]
        if r.isGC { return 1 + 10 }
        var n = 1 + 15 + 15
        if offset == 0 && !r.hasOrigin && !r.hasRightOrigin {
            n += 1 + 15 + 10 + (types[Int(r.parent)].rootName?.utf8.count ?? 0)
            if r.parentSub >= 0 { n += 10 + keys[Int(r.parentSub)].utf8.count }
        }
        switch r.kind {
        case .deleted:
            n += 10
        case .string:
            n += 10 + 3 * Int(r.length - offset)
        default:
            var tmp = Lib0Writer(capacity: 16)
            if r.kind == .type {
                UpdateEncoderV1.writeItemContent(.type(types[Int(r.content)].ref ?? .map), offset: 0, into: &tmp)
            } else {
                UpdateEncoderV1.writeItemContent(contents[Int(r.content)], offset: offset, into: &tmp)
            }
            n += tmp.count
            slowContents.append(tmp.bytes)
        }
        return n
    }

    /// Yjs `Item.write` / `GC.write`.
    private func writeStruct<S: ByteSink>(_ ref: ItemRef, offset: Clock, into w: inout S,
                             slowContents: [[UInt8]], nextSlow: inout Int) {
        let r = items[Int(ref)]
        if r.isGC {
            w.u8(0)
            w.varUInt(r.length - offset)
            return
        }
        let hasOrigin = offset > 0 || r.hasOrigin
        var info = r.kind.rawValue & 0x1F
        if hasOrigin { info |= 0x80 }
        if r.hasRightOrigin { info |= 0x40 }
        if r.parentSub >= 0 { info |= 0x20 }
        w.u8(info)
        if offset > 0 {
            w.varUInt(clientIDs[Int(r.client)])
            w.varUInt(r.clock + offset - 1)
        } else if r.hasOrigin {
            w.varUInt(clientIDs[Int(r.originClient)])
            w.varUInt(r.originClock)
        }
        if r.hasRightOrigin {
            w.varUInt(clientIDs[Int(r.rightOriginClient)])
            w.varUInt(r.rightOriginClock)
        }
        if !hasOrigin && !r.hasRightOrigin {
            let parentItem = types[Int(r.parent)].item
            if parentItem == noItem {
                w.varUInt(UInt64(1))
                w.string(types[Int(r.parent)].rootName ?? "")
            } else {
                w.varUInt(UInt64(0))
                let pid = items[Int(parentItem)]
                w.varUInt(clientIDs[Int(pid.client)])
                w.varUInt(pid.clock)
            }
            if r.parentSub >= 0 { w.string(keys[Int(r.parentSub)]) }
        }
        switch r.kind {
        case .deleted:
            w.varUInt(r.length - offset)
        case .string:
            let s = Int(r.content)
            textUnits.withUnsafeBufferPointer { buf in
                w.utf16String(UnsafeBufferPointer(rebasing: buf[(s + Int(offset))..<(s + Int(r.length))]))
            }
        default:
            slowContents[nextSlow].withUnsafeBufferPointer { w.bytes($0) }
            nextSlow += 1
        }
    }

    /// Every deleted struct (items and GC) as ranges: Yjs `createDeleteSetFromStructStore`.
    func deleteSetOfStore() -> DeleteSet {
        var ds = DeleteSet()
        for (i, cs) in clientStructs.enumerated() {
            var ranges: [ClockRange] = []
            var open: ClockRange? = nil
            cs.forEach { ref in
                let r = self.items[Int(ref)]
                if r.isDeleted || r.isGC {
                    if var o = open { o.length += r.length; open = o } else { open = ClockRange(clock: r.clock, length: r.length) }
                } else if let o = open {
                    ranges.append(o)
                    open = nil
                }
            }
            if let o = open { ranges.append(o) }
            if !ranges.isEmpty { ds.clients[clientIDs[i]] = ranges }
        }
        return ds
    }

    /// The whole document, or only what a peer with state vector `since` lacks, as update v1.
    func encodeStateAsUpdate(since: StateVector) -> [UInt8] {
        // Text plus a few bytes per struct: one allocation for most documents.
        var w = Lib0Writer(capacity: textUnits.count + items.count * 12 + 64)
        writeStructs(into: &w, from: { since[self.clientIDs[Int($0)]] })
        UpdateEncoderV1.writeDeleteSet(deleteSetOfStore(), into: &w)
        guard pendingStructs != nil || pendingDeletes != nil else { return w.bytes }
        var parts: [DecodedUpdate] = []
        if let own = try? UpdateDecoderV1.decode(w.bytes) { parts.append(own) }
        if let pds = pendingDeletes { parts.append(DecodedUpdate(groups: [], deleteSet: pds)) }
        if let ps = pendingStructs {
            // Like Yjs, forward the pending structs the peer lacks, but never the clocks we hold
            // ourselves: our structs for those clocks are already in `own` (identical for
            // consistent data; for contradictory data under one client id, ours win).
            var cut = since
            for (i, cs) in clientStructs.enumerated() where cs.state > cut[clientIDs[i]] {
                cut[clientIDs[i]] = cs.state
            }
            parts.append(Updates.diff(ps, against: cut))
        }
        return UpdateEncoderV1.encode(Updates.merge(parts))
    }
}
