// Fuzz target for the Sync decoders: y-protocols messages, awareness updates and a session fed
// hostile frames. Built with -DFUZZING (scripts/fuzz.sh SyncFuzz) it is a libFuzzer entry
// point; otherwise it replays the files named on the command line through the same checks.
import CRDT
import Sync
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
        checkMessage(bytes)
        checkAwareness(bytes)
        checkSession(bytes)
    }

    /// A decoded message re-encodes to a frame that decodes to the same message, and whose bytes
    /// are stable; a frame that decodes strictly also decodes as a batch of one.
    static func checkMessage(_ bytes: [UInt8]) {
        if let m = try? SyncMessage.decode(bytes) {
            let e = m.encoded()
            guard let again = try? SyncMessage.decode(e) else { return require(false, "message re-decode") }
            require(again == m, "message round trip")
            require(again.encoded() == e, "message bytes stable")
            require((try? SyncMessage.decodeAll(bytes)) == [m], "decodeAll of one message")
        }
        if let all = try? SyncMessage.decodeAll(bytes) {
            let joined = all.flatMap { $0.encoded() }
            require((try? SyncMessage.decodeAll(joined)) == all, "batch round trip")
        }
    }

    /// Applying an awareness update is all or nothing and idempotent; our encoding of what we
    /// hold applies to a fresh instance with the same states.
    static func checkAwareness(_ bytes: [UInt8]) {
        var a = Awareness(clientID: 7, now: 0)
        let before = a.entries
        do {
            try a.apply(bytes, now: 1)
        } catch {
            require(a.entries == before, "refused awareness update changed state")
            return
        }
        let once = a.entries
        _ = try? a.apply(bytes, now: 1)
        require(a.entries == once, "awareness apply not idempotent")
        var b = Awareness(clientID: 8, now: 0)
        let all = a.entries.keys.sorted()
        do { try b.apply(a.encodeUpdate(clients: all), now: 1) } catch {
            return require(false, "own awareness encoding refused: \(error)")
        }
        for (c, e) in a.entries where c != 8 && e.json != nil && e.clock > 0 {  // clock 0 never propagates (y-protocols)
            require(b.states[c] == e.json, "awareness state of \(c) lost")
        }
    }

    /// A session never traps, and a refused frame leaves it unchanged.
    static func checkSession(_ bytes: [UInt8]) {
        let doc = YDoc(clientID: 1)
        try? doc.getText("t").insert(at: 0, "ab")
        var s = SyncSession()
        _ = s.start(doc)
        let stats = s.stats
        do {
            let out = try s.receive(bytes, doc)
            for u in out.apply { try? doc.applyUpdate(u) }
            _ = s.localUpdate(doc.encodeStateAsUpdate())
        } catch {
            require(s.stats == stats && s.peer == nil && !s.isSynced, "refused frame changed the session")
        }
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

// Only a declaration: the fuzzing build parses this file as a library (see Fuzz/CRDTFuzz).
let replayStatus: Int32 = FuzzReplay.run(FuzzChecks.run)
#endif
