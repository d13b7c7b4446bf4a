import Foundation
import Testing
@testable import CRDT
import TestSupport
import TraceKit

// Differential tests against pycrdt 0.14 (yrs 0.28) running in a child Python process
// (Tests/TestSupport/pycrdt_peer.py). They need `<repo>/.venv` from scripts/setup.sh (or
// YSYNC_PYTHON) and FAIL when it is missing. Knobs: YSYNC_SOAK=N multiplies the seeds,
// YSYNC_SEED=N replays one seed. A failing session writes its full op log to
// $TMPDIR/ysync-oracle-<test>-seed<N>.log.

/// Collects the updates a document emits.
final class UpdateLog {
    var local: [[UInt8]] = []
    var remote: [[UInt8]] = []
    init(_ doc: YDoc) {
        doc.observeUpdate { [unowned self] e in
            if e.isLocal { self.local.append(e.update) } else { self.remote.append(e.update) }
        }
    }
    func takeLocal() -> [[UInt8]] {
        defer { local.removeAll() }
        return local
    }
}

/// Keeps the op log of a random session and dumps it when the session fails.
final class SessionLog {
    let name: String
    let seed: UInt64
    private(set) var lines: [String] = []
    private var failed = false
    init(_ name: String, seed: UInt64) {
        self.name = name
        self.seed = seed
    }
    func add(_ s: String) { lines.append(s) }

    /// With YSYNC_ORACLE_LOG=1 every session writes its log (not only failing ones).
    func finish() {
        guard !failed, TestEnvironment.environment("YSYNC_ORACLE_LOG") == "1" else { return }
        _ = FileManager.default.createFile(atPath: path, contents: Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    var path: String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ysync-oracle-\(name)-seed\(seed).log").path
    }

    /// Records a test issue with the seed, the last ops and the path of the full log.
    func fail(_ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        failed = true
        let body = "seed \(seed)\n" + lines.joined(separator: "\n") + "\n\nFAILURE:\n" + message + "\n"
        _ = FileManager.default.createFile(atPath: path, contents: Data(body.utf8))
        let tail = lines.suffix(25).map { $0.count > 160 ? $0.prefix(160) + "…" : Substring($0) }.joined(separator: "\n    ")
        Issue.record(
            Comment(rawValue: "[\(name) seed \(seed), replay with YSYNC_SEED=\(seed)] \(message)\n  last ops (of \(lines.count)):\n    \(tail)\n  full log: \(path)"),
            sourceLocation: sourceLocation)
    }
}

// MARK: - random text

enum RandomText {
    static let ascii: [Unicode.Scalar] = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;!?-_'\"\\/{}<>\n\t".unicodeScalars)
    static let accented: [Unicode.Scalar] = Array("éèêëàâäüûùîïôöçñßÅÆØœÿĀąČĐĞİŁŃŐŘŚŠŤŮŹŻΩπЖжЯя".unicodeScalars)
    static let cjk: [Unicode.Scalar] = Array("中文字漢日本語한국어テキスト編集".unicodeScalars)
    static let astral: [Unicode.Scalar] = Array("😀🎉👍🦄🚀🧪🏳𝄞𝕏🀄😂🤖".unicodeScalars)
    static let combining: [Unicode.Scalar] = ["\u{0301}", "\u{0308}", "\u{200D}", "\u{FE0F}", "\u{1F3FD}"]

    static func scalars(_ rng: inout SeededRandom, count: Int) -> [Unicode.Scalar] {
        (0..<count).map { _ in
            switch rng.weighted([60, 15, 10, 12, 3]) {
            case 0: return rng.pick(ascii)
            case 1: return rng.pick(accented)
            case 2: return rng.pick(cjk)
            case 3: return rng.pick(astral)
            default: return rng.pick(combining)
            }
        }
    }

    static func string(_ rng: inout SeededRandom, maxCount: Int = 6) -> String {
        let n = rng.chance(0.1) ? rng.int(8...40) : rng.int(1...maxCount)
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars(&rng, count: n))
        return String(s)
    }
}

/// UTF-16 offset of scalar index `i` in `scalars`.
func utf16Offset(_ scalars: [Unicode.Scalar], _ i: Int) -> Int {
    scalars[..<i].reduce(0) { $0 + $1.utf16Length }
}

extension Unicode.Scalar {
    var utf16Length: Int { value > 0xFFFF ? 2 : 1 }
}

func describe(_ updates: [[UInt8]]) -> String {
    updates.isEmpty ? "(none)" : updates.map { Hex.spaced($0) }.joined(separator: " | ")
}

// MARK: - tests

@Suite("pycrdt oracle", .serialized, .ownThread)
struct PycrdtOracleTests {

    // MARK: a. single client, byte-identical updates

    static let singleClientIDs: [UInt64] = [1, 5, 1000, 4_294_967_295, 1 << 40, 2, 77, 123_456_789, (1 << 53) - 1, 65_535]

    static let singleSeeds = TestEnvironment.seeds(base: 30, salt: 1_000)

    @Test("single client text editing (gc on and off): per-transaction updates and full state byte-identical to pycrdt",
          arguments: singleSeeds)
    func singleClientText(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let idx = Int(seed % 1_000)
        let clientID: UInt64 = idx < PycrdtOracleTests.singleClientIDs.count
            ? PycrdtOracleTests.singleClientIDs[idx]
            : UInt64(rng.int(1...Int(UInt32.max)))
        // every fourth session without garbage collection (deleted text keeps its content)
        let gc = seed % 4 != 3
        let log = SessionLog("single", seed: seed)
        defer { log.finish() }
        log.add("client \(clientID), gc \(gc)")

        let peer = try PycrdtPeer(clientID: clientID, gc: gc)
        defer { peer.close() }
        let doc = YDoc(clientID: clientID, gc: gc)
        let updates = UpdateLog(doc)

        var rootNames = ["text"]
        if rng.chance(0.3) { rootNames.append(rng.pick(["t", "notes", "ünïcödé", "文"])) }
        var models: [String: [Unicode.Scalar]] = [:]
        var cursors: [String: Int] = [:]
        for r in rootNames { models[r] = []; cursors[r] = 0 }

        let edits = rng.int(80...180)
        var savedSV: [UInt8]? = nil

        func checkpoint(_ label: String) throws -> Bool {
            let ours = doc.encodeStateAsUpdate()
            let theirs = try peer.encodeStateAsUpdate()
            if ours != theirs {
                log.fail("\(label): full state differs\n\(describeByteDifference(expected: theirs, actual: ours))")
                return false
            }
            let theirSV = try peer.stateVector()
            if doc.stateVector.clocks != theirSV {
                log.fail("\(label): state vector differs: pycrdt \(theirSV), ours \(doc.stateVector.clocks)")
                return false
            }
            let ourSVBytes = doc.encodeStateVector()
            if try decodeStateVector(ourSVBytes) != theirSV {
                log.fail("\(label): our encoded state vector \(Hex.spaced(ourSVBytes)) decodes to something else than pycrdt's \(theirSV)")
                return false
            }
            if let sv = savedSV {
                let od = try doc.encodeStateAsUpdate(sinceEncoded: sv)
                let td = try peer.encodeStateAsUpdate(sinceEncoded: sv)
                if od != td {
                    log.fail("\(label): diff since \(Hex.spaced(sv)) differs\n\(describeByteDifference(expected: td, actual: od))")
                    return false
                }
            }
            if rng.chance(0.5) { savedSV = ourSVBytes }
            let content = try peer.content(roots: Dictionary(uniqueKeysWithValues: rootNames.map { ($0, SharedKind.text) }))
            for r in rootNames where content[r]?.stringValue != doc.getText(r).string {
                log.fail("\(label): pycrdt text of \(r) is \(content[r].map { "\($0)" } ?? "nil"), ours \(doc.getText(r).string.debugDescription)")
                return false
            }
            return true
        }

        for step in 0..<edits {
            let root = rng.pick(rootNames)
            let text = doc.getText(root)
            var model = models[root]!
            var cursor = min(cursors[root]!, model.count)
            let target = SharedTarget.text(root)
            let choice = model.isEmpty ? 0 : rng.weighted([45, 20, 15, 20])
            let theirs: [[UInt8]]
            let opText: String
            switch choice {
            case 0, 1:  // insert: at the cursor (typing) or anywhere
                let at = choice == 0 ? cursor : rng.int(0...model.count)
                let s = RandomText.string(&rng)
                let u16 = utf16Offset(model, at)
                opText = "#\(step) \(root): insert at \(u16) (scalar \(at)) \(s.debugDescription)"
                log.add(opText)
                try text.insert(at: u16, s)
                theirs = try peer.textInsert(target, at: u16, s)
                model.insert(contentsOf: s.unicodeScalars, at: at)
                cursor = at + s.unicodeScalars.count
            case 2:  // backspace at the cursor
                let n = min(cursor, rng.int(1...3))
                let at = cursor - n
                let u16 = utf16Offset(model, at), len = utf16Offset(model, cursor) - u16
                opText = "#\(step) \(root): backspace delete at \(u16) count \(len)"
                log.add(opText)
                try text.delete(at: u16, count: len)
                theirs = len > 0 ? try peer.textDelete(target, at: u16, count: len) : []
                model.removeSubrange(at..<cursor)
                cursor = at
            default:  // delete a range anywhere
                let at = rng.int(0..<model.count)
                let n = min(model.count - at, rng.chance(0.2) ? rng.int(5...30) : rng.int(1...4))
                let u16 = utf16Offset(model, at), len = utf16Offset(model, at + n) - u16
                opText = "#\(step) \(root): delete at \(u16) count \(len)"
                log.add(opText)
                try text.delete(at: u16, count: len)
                theirs = try peer.textDelete(target, at: u16, count: len)
                model.removeSubrange(at..<at + n)
                cursor = at
            }
            models[root] = model
            cursors[root] = cursor
            let ours = updates.takeLocal()
            if ours != theirs {
                var msg = "step \(step): per-transaction update differs (\(opText))\n  pycrdt: \(describe(theirs))\n  ours:   \(describe(ours))"
                if ours.count == 1, theirs.count == 1 {
                    msg += "\n" + describeByteDifference(expected: theirs[0], actual: ours[0])
                }
                log.fail(msg)
                return
            }
            let expected = String(String.UnicodeScalarView(model))
            if text.string != expected || text.length != expected.utf16.count {
                log.fail("step \(step): our text is \(text.string.debugDescription) (length \(text.length)), expected \(expected.debugDescription)")
                return
            }
            if step % 25 == 24 {
                guard try checkpoint("after step \(step)") else { return }
            }
        }
        _ = try checkpoint("end of session")
    }

    // MARK: b. several replicas, random delivery, convergence

    static let multiSeeds = TestEnvironment.seeds(base: 20, salt: 2_000)
    static let multiRoots: [String: SharedKind] = ["text": .text, "map": .map, "arr": .array, "t2": .text]

    @Test("3 ysync replicas + 1 pycrdt replica converge under random delivery (duplicates, reordering)",
          arguments: multiSeeds)
    func multiReplicaConvergence(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let log = SessionLog("multi", seed: seed)
        defer { log.finish() }
        let roots = PycrdtOracleTests.multiRoots

        // distinct client ids; sometimes above 2^32 (yrs-style ids)
        var ids = Set<UInt64>()
        while ids.count < 4 {
            ids.insert(rng.chance(0.2) ? UInt64(rng.int(1...(1 << 50))) : UInt64(rng.int(1...Int(UInt32.max))))
        }
        let clientIDs = Array(ids).sorted().shuffled(using: &rng)
        let docs = (0..<3).map { YDoc(clientID: clientIDs[$0]) }
        let logs = docs.map { UpdateLog($0) }
        let peer = try PycrdtPeer(clientID: clientIDs[3])
        defer { peer.close() }
        let py = 3
        log.add("clients: ours \(clientIDs[0..<3]), pycrdt \(clientIDs[3])")

        var inbox: [[(from: Int, seq: Int, update: [UInt8])]] = Array(repeating: [], count: 4)
        var seq = 0
        var stats = (nestedOps: 0, deliveries: 0, duplicates: 0, parked: 0)
        // how often a delivery to one of ours picks a random queued message instead of the oldest
        let reorder = [1.0, 0.3, 0.05][Int(seed % 3)]
        log.add("reorder probability \(reorder)")

        func typed(_ r: Int) throws -> [String: ContentNode] {
            r == py ? try peer.typedContent(roots: roots) : ContentNode.render(docs[r], roots: roots)
        }

        // The pycrdt replica gets its messages in emission order (delayed, sometimes duplicated, but
        // never reordered): yrs 0.28 loses a pending update when a second update with missing
        // dependencies arrives before the first one could be integrated (found by this test, seed
        // 2000: `0101ee…0bc4…` parked, then `0101ee…0a28…` parked -> the first is gone for good;
        // Yjs merges pending updates). Our replicas get every message in random order.
        func deliver(_ dest: Int, _ k: Int, keepCopy: Bool) throws -> Bool {
            let k = dest == py ? 0 : k
            let m = inbox[dest].remove(at: k)
            stats.deliveries += 1
            if keepCopy {
                stats.duplicates += 1
                // a duplicate, delivered again later (for pycrdt: after its original, so harmless)
                inbox[dest].insert(m, at: rng.int(0...inbox[dest].count))
            }
            log.add("deliver #\(m.seq) r\(m.from) -> r\(dest)\(keepCopy ? " (duplicate kept)" : "") \(Hex.encode(m.update))")
            if dest == py {
                try peer.applyUpdate(m.update)
            } else {
                do {
                    try docs[dest].applyUpdate(m.update)
                } catch {
                    log.fail("r\(dest) could not apply update #\(m.seq) from r\(m.from): \(error)\n  update: \(Hex.spaced(m.update))")
                    return false
                }
                logs[dest].remote.removeAll()
                if docs[dest].hasPending { stats.parked += 1 }
            }
            return true
        }

        let ops = rng.int(200...320)
        for step in 0..<ops {
            let r = rng.int(0..<4)
            let tree = try typed(r)
            // every shared type reachable in r's view
            var targets: [(SharedTarget, ContentNode)] = []
            func walk(_ t: SharedTarget, _ n: ContentNode) {
                switch n {
                case .text: targets.append((t, n))
                case let .map(m):
                    targets.append((t, n))
                    for k in m.keys.sorted() where m[k]!.kind != nil { walk(t.appending(.key(k)), m[k]!) }
                case let .array(a):
                    targets.append((t, n))
                    for (i, v) in a.enumerated() where v.kind != nil { walk(t.appending(.index(i)), v) }
                case .value: break
                }
            }
            for (name, kind) in roots.sorted(by: { $0.key < $1.key }) {
                walk(SharedTarget(root: name, kind: kind), tree[name] ?? (kind == .text ? .text("") : kind == .map ? .map([:]) : .array([])))
            }
            let (target, node) = rng.pick(targets)
            let op = randomOp(&rng, target: target, node: node)
            log.add("#\(step) r\(r): \(op)")
            if !target.path.isEmpty { stats.nestedOps += 1 }
            let emitted: [[UInt8]]
            if r == py {
                emitted = try op.apply(to: peer)
            } else {
                do {
                    try op.apply(to: docs[r])
                } catch {
                    log.fail("r\(r) failed to execute \(op): \(error)")
                    return
                }
                emitted = logs[r].takeLocal()
            }
            if emitted.count > 1 {
                log.fail("r\(r) emitted \(emitted.count) updates for one transaction: \(describe(emitted))")
                return
            }
            for u in emitted {
                seq += 1
                log.add("  emitted #\(seq): \(Hex.encode(u))")
                for d in 0..<4 where d != r { inbox[d].append((r, seq, u)) }
            }
            // random partial delivery, in random order, sometimes duplicated
            for _ in 0..<rng.int(0...3) {
                let dest = rng.int(0..<4)
                guard !inbox[dest].isEmpty else { continue }
                let k = rng.chance(reorder) ? rng.int(0..<inbox[dest].count) : 0
                guard try deliver(dest, k, keepCopy: rng.chance(0.08)) else { return }
            }
        }
        // drain everything, still in random order
        while inbox.contains(where: { !$0.isEmpty }) {
            let dests = (0..<4).filter { !inbox[$0].isEmpty }
            let dest = rng.pick(dests)
            let k = rng.chance(reorder) ? rng.int(0..<inbox[dest].count) : 0
            guard try deliver(dest, k, keepCopy: rng.chance(0.03)) else { return }
        }
        log.add("all delivered; \(stats)")

        for (i, d) in docs.enumerated() where d.hasPending {
            log.fail("r\(i) still has pending structs or deletes after every update was delivered")
            return
        }
        let pyContent = try peer.typedContent(roots: roots)
        let pySV = try peer.stateVector()
        func svText(_ sv: [UInt64: UInt32]) -> String {
            "[" + sv.keys.sorted().map { "\($0): \(sv[$0]!)" }.joined(separator: ", ") + "]"
        }
        let svSummary = docs.enumerated().map { "r\($0.offset) \(svText($0.element.stateVector.clocks))" }.joined(separator: ", ")
            + ", pycrdt \(svText(pySV))"
        log.add("state vectors: \(svSummary)")
        // ours among themselves first: tells a ysync bug from a disagreement with yrs
        let r0Content = ContentNode.render(docs[0], roots: roots)
        for i in 1..<3 {
            if let diff = describeContentDifference(expected: r0Content, actual: ContentNode.render(docs[i], roots: roots)) {
                log.fail("ysync replicas r0 and r\(i) diverge: \(diff)\n  state vectors: \(svSummary)")
                return
            }
        }
        for (i, d) in docs.enumerated() {
            let ours = ContentNode.render(d, roots: roots)
            if let diff = describeContentDifference(expected: pyContent, actual: ours) {
                log.fail("r\(i) content differs from pycrdt's: \(diff)\n  state vectors: \(svSummary)\n  pycrdt: \(ContentNode.map(pyContent))\n  r\(i):    \(ContentNode.map(ours))")
                return
            }
            if d.stateVector.clocks != pySV {
                log.fail("r\(i) state vector \(d.stateVector.clocks) != pycrdt \(pySV)")
                return
            }
        }
        // cross-load full states: pycrdt's into a fresh ysync doc, ours into a fresh pycrdt doc
        let fresh = YDoc(clientID: 9_999_999)
        let pyFull = try peer.encodeStateAsUpdate()
        do {
            try fresh.applyUpdate(pyFull)
        } catch {
            log.fail("a fresh doc cannot apply pycrdt's full state: \(error)\n  \(Hex.spaced(pyFull))")
            return
        }
        if let diff = describeContentDifference(expected: pyContent, actual: ContentNode.render(fresh, roots: roots)) {
            log.fail("fresh doc loaded from pycrdt's full state differs: \(diff)")
            return
        }
        if fresh.stateVector.clocks != pySV || fresh.hasPending {
            log.fail("fresh doc loaded from pycrdt's full state: sv \(fresh.stateVector.clocks) (pending \(fresh.hasPending)), pycrdt \(pySV)")
            return
        }
        let ourFull = docs[0].encodeStateAsUpdate()
        try peer.newDoc(clientID: 8_888_888)
        try peer.applyUpdate(ourFull)
        let reloaded = try peer.typedContent(roots: roots)
        if let diff = describeContentDifference(expected: ContentNode.render(docs[0], roots: roots), actual: reloaded) {
            log.fail("pycrdt loaded from r0's full state differs from r0: \(diff)\n  update: \(Hex.spaced(ourFull))")
            return
        }
        if try peer.stateVector() != docs[0].stateVector.clocks {
            log.fail("pycrdt loaded from r0's full state has sv \(try peer.stateVector()), r0 \(docs[0].stateVector.clocks)")
        }
    }

    // MARK: c. real editing trace

    /// Two small traces by default; every sequential trace with YSYNC_SOAK > 1.
    static let traceNames = TestEnvironment.soakFactor > 1
        ? ["sveltecomponent", "friendsforever_flat", "clownschool_flat", "rustcode", "json-crdt-patch",
           "json-crdt-blog-post", "seph-blog1", "automerge-paper"]
        : ["sveltecomponent", "friendsforever_flat"]

    @Test("sequential editing trace: same text and byte-identical updates as pycrdt", arguments: traceNames)
    func sequentialTrace(name: String) throws {
        // A missing trace file is this test's failure (RepoData.MissingFile names it), not a crash.
        let path = try RepoData.trace("sequential/\(name).json.gz")
        let trace = try Trace.load(path: path)
        #expect(trace.startContent.isEmpty)
        let clientID: UInt64 = 4_242
        let peer = try PycrdtPeer(clientID: clientID)
        defer { peer.close() }
        let theirs = try peer.replayTrace(path: path, clientID: clientID)
        #expect(theirs.endContentMatches, "pycrdt's replay of \(name) did not reach endContent (bridge bug?)")
        #expect(theirs.patches == trace.patches.count)

        let doc = YDoc(clientID: clientID)
        let text = doc.getText("text")
        var hashes: [UInt64] = []
        hashes.reserveCapacity(trace.patches.count)
        var lastUpdate: [UInt8] = []
        doc.observeUpdate { e in
            hashes.append(fnv1a64(e.update))
            lastUpdate = e.update
        }
        // Positions are code points. While the text holds only BMP characters they equal UTF-16
        // offsets; after the first astral character convert with utf16Offset(ofCharacterOffset:).
        var allBMP = true
        var firstMismatch: (index: Int, patch: TracePatch, ours: [UInt8])? = nil
        var n = 0
        for p in trace.patches {
            let start = allBMP ? p.position : text.utf16Offset(ofCharacterOffset: p.position)
            let end = allBMP ? p.position + p.deleteCount : text.utf16Offset(ofCharacterOffset: p.position + p.deleteCount)
            try doc.transact {
                if end > start { try text.delete(at: start, count: end - start) }
                if !p.insert.isEmpty { try text.insert(at: start, p.insert) }
            }
            if p.insert.utf16.count != p.insert.unicodeScalars.count { allBMP = false }
            if firstMismatch == nil, hashes.count == n + 1, n < theirs.updateHashes.count, hashes[n] != theirs.updateHashes[n] {
                firstMismatch = (n, p, lastUpdate)
            }
            if hashes.count != n + 1 && firstMismatch == nil {
                Issue.record("patch \(n) (\(p)): ours emitted \(hashes.count - n) updates so far, expected exactly 1 per patch")
                return
            }
            n += 1
        }
        #expect(text.string == trace.endContent, "ours did not reach endContent of \(name)")
        #expect(hashes.count == theirs.updateHashes.count, "per-transaction update count: ours \(hashes.count), pycrdt \(theirs.updateHashes.count)")
        if let m = firstMismatch {
            let py = try peer.traceUpdate(m.index)
            Issue.record("""
                \(name): first per-transaction update that differs is #\(m.index) (patch pos \(m.patch.position) \
                del \(m.patch.deleteCount) ins \(m.patch.insert.debugDescription))
                \(describeByteDifference(expected: py, actual: m.ours))
                """)
        }
        let ours = doc.encodeStateAsUpdate()
        #expect(ours == theirs.update, "full state after \(name) differs: \(describeByteDifference(expected: theirs.update, actual: ours))")
        #expect(try doc.stateVector.clocks == decodeStateVector(theirs.stateVector))
    }

    // MARK: spec worked examples through the bridge (checks the bridge itself, and ours)

    @Test("bridge reproduces the spec's worked examples E1-E7 (yrs bytes) and converts UTF-16 offsets")
    func bridgeWorkedExamples() throws {
        let peer = try PycrdtPeer(clientID: 1)
        defer { peer.close() }
        let e1 = try peer.textInsert(.text("text"), at: 0, "abc")
        #expect(e1 == [[UInt8](hex: "01 01 01 00 04 01 04 74 65 78 74 03 61 62 63 00")])
        #expect(try peer.encodeStateVector() == [UInt8](hex: "01 01 03"))
        #expect(try peer.textDelete(.text("text"), at: 1, count: 1) == [[UInt8](hex: "00 01 01 01 01 01")])
        #expect(try peer.encodeStateAsUpdate() == [UInt8](hex: "01 03 01 00 04 01 04 74 65 78 74 01 61 81 01 00 01 84 01 01 01 63 01 01 01 01 01"))

        try peer.newDoc(clientID: 1)
        try peer.textInsert(.text("t"), at: 0, "a😀")
        #expect(try peer.encodeStateAsUpdate() == [UInt8](hex: "01 01 01 00 04 01 01 74 05 61 f0 9f 98 80 00"))
        // UTF-16 offset 3 = after the emoji: origin (1,2)
        #expect(try peer.textInsert(.text("t"), at: 3, "é") == [[UInt8](hex: "01 01 01 03 84 01 02 02 c3 a9 00")])
        #expect(try peer.textLength(.text("t")) == 4)
        try peer.textDelete(.text("t"), at: 1, count: 2)
        #expect(try peer.content(roots: ["t": .text]) == ["t": "aé"])

        try peer.newDoc(clientID: 3)
        try peer.mapSetType(.map("root"), "list", .array)
        try peer.arrayInsert(SharedTarget.map("root").appending(.key("list")), at: 0, [1, "x"])
        #expect(try peer.encodeStateAsUpdate() == [UInt8](hex: "01 02 03 00 27 01 04 72 6f 6f 74 04 6c 69 73 74 00 08 00 03 00 02 7c 3f 80 00 00 77 01 78 00"))
        #expect(try peer.typedContent(roots: ["root": .map]) == ["root": .map(["list": .array([.value(1), .value("x")])])])
        #expect(throws: PycrdtPeerError.self) { try peer.request(["op": "no-such-op"]) }
    }
}

// MARK: - random ops for the multi-replica test

enum RandomOp: CustomStringConvertible {
    case textInsert(SharedTarget, Int, String)
    case textDelete(SharedTarget, Int, Int)
    case mapSet(SharedTarget, String, JSONValue)
    case mapSetType(SharedTarget, String, SharedKind)
    case mapDelete(SharedTarget, String)
    case arrayInsert(SharedTarget, Int, [JSONValue])
    case arrayInsertType(SharedTarget, Int, SharedKind)
    case arrayDelete(SharedTarget, Int, Int)

    var description: String {
        switch self {
        case let .textInsert(t, i, s): return "\(t) insert at \(i) \(s.debugDescription)"
        case let .textDelete(t, i, n): return "\(t) delete at \(i) count \(n)"
        case let .mapSet(t, k, v): return "\(t) set \(k.debugDescription) = \(v)"
        case let .mapSetType(t, k, kind): return "\(t) set \(k.debugDescription) = new \(kind.rawValue)"
        case let .mapDelete(t, k): return "\(t) delete key \(k.debugDescription)"
        case let .arrayInsert(t, i, vs): return "\(t) insert at \(i) \(JSONValue.array(vs))"
        case let .arrayInsertType(t, i, kind): return "\(t) insert at \(i) new \(kind.rawValue)"
        case let .arrayDelete(t, i, n): return "\(t) delete at \(i) count \(n)"
        }
    }

    func apply(to peer: PycrdtPeer) throws -> [[UInt8]] {
        switch self {
        case let .textInsert(t, i, s): return try peer.textInsert(t, at: i, s)
        case let .textDelete(t, i, n): return try peer.textDelete(t, at: i, count: n)
        case let .mapSet(t, k, v): return try peer.mapSet(t, k, v)
        case let .mapSetType(t, k, kind): return try peer.mapSetType(t, k, kind)
        case let .mapDelete(t, k): return try peer.mapDelete(t, k)
        case let .arrayInsert(t, i, vs): return try peer.arrayInsert(t, at: i, vs)
        case let .arrayInsertType(t, i, kind): return try peer.arrayInsertType(t, at: i, kind)
        case let .arrayDelete(t, i, n): return try peer.arrayDelete(t, at: i, count: n)
        }
    }

    struct TargetMissing: Error, CustomStringConvertible {
        let description: String
    }

    func apply(to doc: YDoc) throws {
        func text(_ t: SharedTarget) throws -> YText {
            guard case let .text(x)? = resolve(doc, t) else { throw TargetMissing(description: "no text at \(t)") }
            return x
        }
        func map(_ t: SharedTarget) throws -> YMap {
            guard case let .map(x)? = resolve(doc, t) else { throw TargetMissing(description: "no map at \(t)") }
            return x
        }
        func array(_ t: SharedTarget) throws -> YArray {
            guard case let .array(x)? = resolve(doc, t) else { throw TargetMissing(description: "no array at \(t)") }
            return x
        }
        switch self {
        case let .textInsert(t, i, s): try text(t).insert(at: i, s)
        case let .textDelete(t, i, n): try text(t).delete(at: i, count: n)
        case let .mapSet(t, k, v):
            if case let .object(o) = v, o.count == 1, let h = o["$bytes"]?.stringValue, let b = Hex.decode(h) {
                try map(t).setBinary(k, b)
            } else {
                try map(t).set(k, v.yAny)
            }
        case let .mapSetType(t, k, kind):
            let m = try map(t)
            switch kind {
            case .text: m.setText(k)
            case .map: m.setMap(k)
            case .array: m.setArray(k)
            }
        case let .mapDelete(t, k): try map(t).delete(k)
        case let .arrayInsert(t, i, vs): try array(t).insert(at: i, vs.map(\.yAny))
        case let .arrayInsertType(t, i, kind):
            let a = try array(t)
            switch kind {
            case .text: try a.insertText(at: i)
            case .map: try a.insertMap(at: i)
            case .array: try a.insertArray(at: i)
            }
        case let .arrayDelete(t, i, n): try array(t).delete(at: i, count: n)
        }
    }
}

func randomValue(_ rng: inout SeededRandom, depth: Int = 0) -> JSONValue {
    switch rng.weighted([25, 8, 10, 8, 25, depth < 2 ? 6 : 0, depth < 2 ? 6 : 0]) {
    case 0: return JSONValue(rng.int(-1_000...1_000))
    case 1: return .number(Double(rng.int(-1_000...1_000)) + 0.5)
    case 2: return .bool(rng.chance(0.5))
    case 3: return .null
    case 4: return .string(RandomText.string(&rng, maxCount: 5))
    case 5: return .array((0..<rng.int(0...3)).map { _ in randomValue(&rng, depth: depth + 1) })
    default:
        var o: [String: JSONValue] = [:]
        for _ in 0..<rng.int(0...3) { o[rng.pick(["a", "b", "c", "ключ"])] = randomValue(&rng, depth: depth + 1) }
        return .object(o)
    }
}

let mapKeys = ["a", "b", "c", "k", "title", "ключ", "🔑", "x y"]

func randomOp(_ rng: inout SeededRandom, target: SharedTarget, node: ContentNode) -> RandomOp {
    let canNest = target.path.count < 3
    switch node {
    case let .text(s):
        let scalars = Array(s.unicodeScalars)
        if scalars.isEmpty || rng.chance(0.65) {
            let at = rng.int(0...scalars.count)
            return .textInsert(target, utf16Offset(scalars, at), RandomText.string(&rng))
        }
        let at = rng.int(0..<scalars.count)
        let n = min(scalars.count - at, rng.int(1...5))
        let u = utf16Offset(scalars, at)
        return .textDelete(target, u, utf16Offset(scalars, at + n) - u)
    case let .map(m):
        let choice = rng.weighted([50, canNest ? 18 : 0, m.isEmpty ? 0 : 20, 4])
        switch choice {
        case 0: return .mapSet(target, rng.pick(mapKeys), randomValue(&rng))
        case 1: return .mapSetType(target, rng.pick(mapKeys), rng.pick(SharedKind.allCases))
        case 2: return .mapDelete(target, rng.pick(Array(m.keys).sorted()))
        default:
            let bytes = (0..<rng.int(0...4)).map { _ in UInt8(rng.int(0...255)) }
            return .mapSet(target, rng.pick(mapKeys), ["$bytes": .string(Hex.encode(bytes))])
        }
    case let .array(a):
        let choice = rng.weighted([50, canNest ? 18 : 0, a.isEmpty ? 0 : 30])
        switch choice {
        case 0:
            return .arrayInsert(target, rng.int(0...a.count), (0..<rng.int(1...3)).map { _ in randomValue(&rng) })
        case 1:
            return .arrayInsertType(target, rng.int(0...a.count), rng.pick(SharedKind.allCases))
        default:
            let at = rng.int(0..<a.count)
            return .arrayDelete(target, at, min(a.count - at, rng.int(1...3)))
        }
    case .value:
        preconditionFailure("not a shared type")
    }
}
