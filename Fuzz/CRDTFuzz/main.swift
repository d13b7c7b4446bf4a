// Fuzz target for the wire codecs and the update algebra. Built with -DFUZZING (see
// scripts/fuzz.sh) it is a libFuzzer entry point; otherwise it replays the files named on the
// command line through the same checks, so a plain `swift build` links it.
import CRDT
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum FuzzChecks {
    static func require(_ ok: Bool, _ what: @autoclosure () -> String) {
        if !ok { fatalError("fuzz check failed: \(what())") }
    }

    static func run(_ bytes: [UInt8]) {
        checkStateVector(bytes)
        checkAny(bytes)
        checkJSON(bytes)
        checkUpdate(bytes)
        checkDocument(bytes)
        checkUpdateV2(bytes)
    }

    /// The same bytes as an update v2: whatever decodes re-encodes to bytes that decode to as
    /// many structs and are stable, and that v1 accepts; a document refusing it is unchanged, one
    /// accepting it encodes a state that decodes again.
    static func checkUpdateV2(_ bytes: [UInt8]) {
        let doc = YDoc(clientID: 1)
        try? doc.getText("t").insert(at: 0, "ab")
        let before = doc.encodeStateAsUpdateV2()
        do {
            try doc.applyUpdateV2(bytes)
            require((try? UpdateDecoderV2.decode(doc.encodeStateAsUpdateV2())) != nil, "v2 state of the document does not decode")
        } catch {
            require(doc.encodeStateAsUpdateV2() == before, "refused v2 update changed the document")
        }
        guard let u = try? UpdateDecoderV2.decode(bytes) else { return }
        let e = UpdateEncoderV2.encode(u)
        guard let u2 = try? UpdateDecoderV2.decode(e) else { return require(false, "v2 re-decode") }
        require(UpdateEncoderV2.encode(u2) == e, "v2 bytes stable")
        // (Not u2 == u: a lone surrogate in String content is written as U+FFFD, as lib0 does.)
        require(u2.groups.map(\.structs.count) == u.groups.map(\.structs.count), "v2 round trip changed the struct count")
        require((try? UpdateDecoderV1.decode(UpdateEncoderV1.encode(u2))) != nil, "v2 update written as v1 does not decode")
    }

    /// Hostile updates through a real document: applying must throw exactly when decoding
    /// does, never trap, leave a refused document untouched, be idempotent, and the document's
    /// own encoding must load into a fresh document with the same state.
    static func checkDocument(_ bytes: [UInt8]) {
        let decodes = (try? UpdateDecoderV1.decode(bytes)) != nil
        let doc = YDoc(clientID: 1)
        try? doc.getText("t").insert(at: 0, "ab")
        let before = doc.encodeStateAsUpdate()
        do {
            try doc.applyUpdate(bytes)
            require(decodes, "document accepted an update the decoder refuses")
        } catch {
            require(!decodes, "document refused an update the decoder accepts")
            require(doc.encodeStateAsUpdate() == before, "refused update changed the document")
            return
        }
        let once = doc.encodeStateAsUpdate()
        try? doc.applyUpdate(bytes)
        require(doc.encodeStateAsUpdate() == once, "applying the same update twice changed the document")
        let fresh = YDoc(clientID: 2)
        do { try fresh.applyUpdate(once) } catch { return require(false, "own encoding does not load: \(error)") }
        // Pending parts travel along and may become integrable in the fresh document when they
        // overlap what we hold (same client, contradictory data: merging cuts them, as in Yjs),
        // so with pending data the reload holds at least what we hold.
        if doc.hasPending {
            for (client, clock) in doc.stateVector.clocks {
                require(fresh.stateVector[client] >= clock, "reload lost clocks of client \(client)")
            }
        } else {
            require(fresh.stateVector == doc.stateVector, "reloaded state vector differs")
        }
    }

    static func checkStateVector(_ bytes: [UInt8]) {
        guard let sv = try? StateVector(decoding: bytes) else { return }
        let e = sv.encoded()
        guard let again = try? StateVector(decoding: e) else { return require(false, "state vector re-decode") }
        require(again == sv, "state vector round trip")
        require(again.encoded() == e, "state vector bytes stable")
    }

    static func checkAny(_ bytes: [UInt8]) {
        var r = Lib0Reader(bytes)
        guard let v = try? r.readAny() else { return }
        var w = Lib0Writer()
        w.writeAny(v)
        var r2 = Lib0Reader(w.bytes)
        guard let v2 = try? r2.readAny() else { return require(false, "any re-decode") }
        require(v2 == v && r2.isAtEnd, "any round trip")
        var w2 = Lib0Writer()
        w2.writeAny(v2)
        require(w2.bytes == w.bytes, "any bytes stable")
        checkJSONText(of: v)
    }

    /// JSON text of a value parses back, and a second cycle changes nothing.
    static func checkJSONText(of v: YAny) {
        let t1 = v.jsonText
        guard let p1 = try? YAny.parseJSON(t1) else { return require(false, "jsonText does not parse: \(t1)") }
        let t2 = p1.jsonText
        guard let p2 = try? YAny.parseJSON(t2) else { return require(false, "jsonText does not parse: \(t2)") }
        require(p2.jsonText == t2, "JSON text not stable: \(t2)")
    }

    static func checkJSON(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self),
              let v = try? YAny.parseJSON(text, allowUndefined: true) else { return }
        checkJSONText(of: v)
    }

    /// Clocks held by real content (Skips and zero-length structs hold none), per client.
    static func coverage(_ u: DecodedUpdate) -> DeleteSet {
        var ds = DeleteSet()
        for g in u.groups {
            for s in g.structs where !s.isSkip {
                ds.add(client: s.id.client, clock: s.id.clock, length: s.length)
            }
        }
        ds.normalize()
        return ds
    }

    static func clipped(_ ds: DeleteSet, from sv: StateVector) -> DeleteSet {
        var out = DeleteSet()
        for (client, ranges) in ds.clients {
            let lo = sv[client]
            for r in ranges where r.end > lo {
                let start = max(r.clock, lo)
                out.add(client: client, clock: start, length: r.end - start)
            }
        }
        out.normalize()
        return out
    }

    /// Encodes, and checks that the bytes decode to a value that re-encodes identically.
    @discardableResult
    static func wellFormed(_ u: DecodedUpdate, _ what: String) -> [UInt8] {
        let e = UpdateEncoderV1.encode(u)
        guard let back = try? UpdateDecoderV1.decode(e) else {
            require(false, "\(what): output does not decode")
            return e
        }
        require(UpdateEncoderV1.encode(back) == e, "\(what): output not stable")
        return e
    }

    static func checkUpdate(_ bytes: [UInt8]) {
        guard let u = try? UpdateDecoderV1.decode(bytes) else { return }
        let e1 = UpdateEncoderV1.encode(u)
        guard let u2 = try? UpdateDecoderV1.decode(e1) else { return require(false, "update re-decode") }
        require(u2 == u, "update round trip")
        require(UpdateEncoderV1.encode(u2) == e1, "update bytes stable")

        let cover = coverage(u)
        let sv = Updates.stateVector(of: u)

        // Merging with nothing keeps every clock and the state vector.
        let m1 = Updates.merge([u, DecodedUpdate()])
        wellFormed(m1, "merge")
        require(coverage(m1) == cover, "merge changed coverage")
        // (A zero-length Skip stops the count in the input but vanishes in the merge, as in Yjs.)
        let zeroSkip = u.groups.contains { $0.structs.contains { $0.isSkip && $0.length == 0 } }
        require(zeroSkip || Updates.stateVector(of: m1) == sv, "merge changed the state vector")
        var prev: ClientID? = nil
        for g in m1.groups {
            if let p = prev { require(g.client < p, "merge: clients not strictly descending") }
            prev = g.client
        }

        // Diff against a vector cutting every client in the middle of what it holds.
        var mid = StateVector()
        for (client, ranges) in cover.clients {
            guard let first = ranges.first, let last = ranges.last else { continue }
            mid[client] = first.clock + (last.end - first.clock) / 2
        }
        let d = Updates.diff(u, against: mid)
        wellFormed(d, "diff")
        require(coverage(d) == clipped(cover, from: mid), "diff coverage")

        // Putting the diff back together with the original changes nothing.
        let m2 = Updates.merge([d, u])
        wellFormed(m2, "merge(diff, u)")
        require(coverage(m2) == cover, "merge(diff, u) coverage")
        let m3 = Updates.merge([u, d, m1])
        require(coverage(m3) == cover, "merge(u, diff, m1) coverage")

        // The byte-level API agrees.
        guard let same = try? Updates.merge([bytes]) else { return require(false, "merge of one input threw") }
        require(same == bytes, "merge of one input must return it")
        guard let mb = try? Updates.merge([bytes, UpdateEncoderV1.encode(d)]) else {
            return require(false, "byte merge threw")
        }
        guard let mbDecoded = try? UpdateDecoderV1.decode(mb) else { return require(false, "byte merge output") }
        require(coverage(mbDecoded) == cover, "byte merge coverage")
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes: [UInt8] = (size > 0 && data != nil) ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    FuzzChecks.run(bytes)
    return 0
}
#else
import FuzzSupport

// Only a declaration: the fuzzing build parses this file as a library (SwiftPM adds
// -parse-as-library with --sanitize=fuzzer, and inactive #if branches are parsed too), where
// top-level statements are errors. In a normal build this initializer runs as top-level code.
let replayStatus: Int32 = FuzzReplay.run(FuzzChecks.run)
#endif
