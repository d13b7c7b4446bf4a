// Cutting one update into several valid updates of bounded size, so that a document of any size
// can cross a transport with a message limit (a server's --max-frame-bytes). Each piece holds a
// contiguous clock range of one client (or the delete set, or part of it); applied in order, the
// pieces give the same document as the whole; applied in any order they converge (pieces whose
// dependencies come later wait as pending structs, as any out-of-order update does).

extension Updates {
    /// `update` cut into pieces of at most about `maxBytes` each (nil-free: a piece is never
    /// empty). The delete set travels first, in as many pieces as it needs, so that the last
    /// piece carries the highest clocks: a peer whose state vector covers ours has them all.
    /// A single struct larger than `maxBytes` is cut (strings, JSON, Any, deleted runs, never
    /// inside a surrogate pair); one that cannot be cut (binary, embed, format, type, doc)
    /// travels alone in a piece over the limit.
    /// - Precondition: `maxBytes >= 64` (a piece needs room for its headers).
    public static func split(_ update: [UInt8], maxBytes: Int) throws(DecodingError) -> [[UInt8]] {
        precondition(maxBytes >= 64, "pieces need room for their headers")
        if update.count <= maxBytes { return [update] }
        return split(try UpdateDecoderV1.decode(update), maxBytes: maxBytes).map(UpdateEncoderV1.encode)
    }

    /// `split(_:maxBytes:)` on a decoded update.
    public static func split(_ update: DecodedUpdate, maxBytes: Int) -> [DecodedUpdate] {
        // Headroom for a piece's group and delete-set headers (a few varints each).
        let budget = max(32, maxBytes - 32)
        var pieces = deleteSetPieces(update.deleteSet, budget: budget).map { DecodedUpdate(deleteSet: $0) }
        var current: [DecodedUpdate.Group] = []
        var currentBytes = 0
        func close() {
            if !current.isEmpty { pieces.append(DecodedUpdate(groups: current)) }
            current = []
            currentBytes = 0
        }
        for group in update.groups {
            var run: [UpdateStruct] = []
            func closeRun() {
                if !run.isEmpty { current.append(DecodedUpdate.Group(client: group.client, structs: run)) }
                run = []
            }
            for whole in group.structs {
                for s in cut(whole, budget: budget) {
                    if run.isEmpty, s.isSkip { continue }  // a piece never starts with a hole
                    let size = encodedSize(s)
                    if currentBytes + size > budget, currentBytes > 0 {
                        closeRun()
                        close()
                    }
                    run.append(s)
                    currentBytes += size
                }
            }
            closeRun()
        }
        close()
        return pieces.isEmpty ? [update] : pieces
    }

    /// Bytes of `s` as written in an update (its group's header not included).
    static func encodedSize(_ s: UpdateStruct) -> Int {
        var w = Lib0Writer(capacity: 16)
        UpdateEncoderV1.writeStruct(s, offset: 0, into: &w)
        return w.count
    }

    /// `s` in consecutive parts of about `budget` bytes each (just `s` when it fits or cannot
    /// be cut). Each part after the first has the previous part's last clock as its origin.
    static func cut(_ s: UpdateStruct, budget: Int) -> [UpdateStruct] {
        guard case let .item(item) = s, item.content.isSplittable, item.length > 1 else { return [s] }
        let size = encodedSize(s)
        guard size > budget else { return [s] }
        // Units per part from the average bytes per unit, with a margin for uneven content.
        let perPart = max(1, Int(Double(item.length) * Double(budget) / Double(size) * 0.8))
        var parts: [UpdateStruct] = []
        var rest = s
        while case let .item(restItem) = rest, Int(restItem.length) > perPart {
            var at = Clock(perPart)
            if case let .string(units) = restItem.content, units[Int(at) - 1] & 0xFC00 == 0xD800 {
                at -= 1  // never between the halves of a surrogate pair
                if at == 0 { at = 2 }
            }
            guard at < restItem.length else { break }
            var left = restItem
            left.content = restItem.content.split(at: at).left
            parts.append(.item(left))
            rest = rest.sliced(from: at)
        }
        parts.append(rest)
        return parts
    }

    /// The delete set in parts of at most about `budget` bytes (none when it is empty).
    static func deleteSetPieces(_ ds: DeleteSet, budget: Int) -> [DeleteSet] {
        if ds.isEmpty { return [] }
        var pieces: [DeleteSet] = []
        var current = DeleteSet()
        var bytes = 0
        for client in ds.clients.keys.sorted(by: >) {
            for range in ds.clients[client] ?? [] {
                // A range is two varints; a client entry adds its id and count.
                let size = varUIntSize(UInt64(range.clock)) + varUIntSize(UInt64(range.length))
                    + (current.clients[client] == nil ? 20 : 0)
                if bytes + size > budget, bytes > 0 {
                    pieces.append(current)
                    current = DeleteSet()
                    bytes = 0
                }
                current.clients[client, default: []].append(range)
                bytes += size
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    static func varUIntSize(_ v: UInt64) -> Int {
        var n = 1, x = v >> 7
        while x != 0 {
            n += 1
            x >>= 7
        }
        return n
    }
}
