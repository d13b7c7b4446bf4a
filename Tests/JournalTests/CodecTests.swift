@testable import Journal
import TestSupport
import Testing

@Suite(.ownThread) struct CRC32Tests {
    @Test func knownVectors() {
        #expect(CRC32.checksum([]) == 0)
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum(Array("a".utf8)) == 0xE8B7_BE43)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        #expect(CRC32.checksum([UInt8](repeating: 0, count: 32)) == 0x190A_55AD)
        #expect(CRC32.checksum([UInt8](repeating: 0xFF, count: 32)) == 0xFF6C_AB0B)
    }

    @Test func incrementalEqualsOneShot() {
        var rng = SeededRandom(seed: 11)
        for _ in 0..<50 {
            let bytes = (0..<rng.int(0...300)).map { _ in UInt8(rng.int(0...255)) }
            let cut = rng.int(0...bytes.count)
            let a = Array(bytes[..<cut]), b = Array(bytes[cut...])
            let partial = a.withUnsafeBufferPointer { CRC32.update(0, $0) }
            let whole = b.withUnsafeBufferPointer { CRC32.update(partial, $0) }
            #expect(whole == CRC32.checksum(bytes), "seed 11 length \(bytes.count) cut \(cut)")
        }
    }
}

@Suite(.ownThread) struct LZ4Tests {
    @Test func roundTripCompressible() throws {
        let raw = Array(String(repeating: "the quick brown fox ", count: 200).utf8)
        let block = try #require(LZ4Block.compress(raw))
        #expect(block.count < raw.count / 5)
        #expect(try LZ4Block.decompress(block, rawLength: raw.count) == raw)
    }

    @Test func incompressibleIsRefused() throws {
        var rng = SeededRandom(seed: 3)
        let raw = (0..<4096).map { _ in UInt8(rng.int(0...255)) }
        #expect(LZ4Block.compress(raw) == nil)
        #expect(LZ4Block.compress([]) == nil)
        #expect(LZ4Block.compress([1]) == nil)
        let p = StoredPayload(encoding: raw)
        #expect(!p.isCompressed && p.bytes == raw)
        #expect(try p.decoded() == raw)
    }

    @Test func randomRoundTrips() throws {
        var rng = SeededRandom(seed: 5)
        for i in 0..<300 {
            // Mostly text-like (repetitive) data of every size, some random.
            let n = rng.int(0...3000)
            let alphabet = rng.chance(0.8) ? 4 : 256
            let raw = (0..<n).map { _ in UInt8(rng.int(0..<alphabet)) }
            let p = StoredPayload(encoding: raw)
            #expect(p.rawLength == raw.count)
            #expect(p.bytes.count <= raw.count, "case \(i)")
            #expect(try p.decoded() == raw, "case \(i)")
        }
    }

    @Test func damagedBlocksFailCleanly() throws {
        var rng = SeededRandom(seed: 9)
        let raw = Array(String(repeating: "abcabcabd", count: 100).utf8)
        let block = try #require(LZ4Block.compress(raw))
        var failures = 0
        for _ in 0..<2000 {
            var b = block
            for _ in 0..<rng.int(1...4) { b[rng.int(0..<b.count)] = UInt8(rng.int(0...255)) }
            if rng.chance(0.2) { b.removeLast(rng.int(1...min(5, b.count - 1))) }
            do {
                let out = try LZ4Block.decompress(b, rawLength: raw.count)
                #expect(out.count == raw.count)
            } catch {
                failures += 1
            }
        }
        #expect(failures > 0)
        #expect(throws: LZ4BlockError.self) { try LZ4Block.decompress(block, rawLength: raw.count + 1) }
        #expect(throws: LZ4BlockError.self) { try LZ4Block.decompress(block, rawLength: -1) }
        #expect(throws: LZ4BlockError.self) { try LZ4Block.decompress([], rawLength: 10) }
    }

    @Test func storedPayloadChecks() throws {
        let raw = Array(String(repeating: "journal ", count: 50).utf8)
        let p = StoredPayload(encoding: raw)
        #expect(p.isCompressed)
        var badCRC = p
        badCRC.crc ^= 1
        #expect(throws: PayloadError.checksum(stored: p.crc ^ 1, computed: p.crc)) { try badCRC.decoded() }
        var badFlags = p
        badFlags.flags |= 4
        #expect(throws: PayloadError.unknownFlags(5)) { try badFlags.decoded() }
        let plain = StoredPayload(encoding: [1, 2, 3])
        var badLength = plain
        badLength.rawLength = 4
        #expect(throws: PayloadError.lengthMismatch(stored: 3, rawLength: 4)) { try badLength.decoded() }
    }
}
