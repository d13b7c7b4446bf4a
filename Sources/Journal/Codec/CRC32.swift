/// CRC-32/ISO-HDLC (zlib's, gzip's, PNG's): reflected polynomial 0xEDB88320, init and final
/// xor 0xFFFFFFFF. Check value: "123456789" -> 0xCBF43926.
enum CRC32 {
    /// One 256-entry table per byte position (slicing-by-4): rows are small, snapshots are not.
    private static let tables: [[UInt32]] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 4)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<4 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xFF)] }
        }
        return t
    }()

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { update(0, $0) }
    }

    /// Continues a checksum (`crc` is a previous result; 0 to start).
    static func update(_ crc: UInt32, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let t0 = tables[0], t1 = tables[1], t2 = tables[2], t3 = tables[3]
        var c = ~crc
        var i = 0
        let n = bytes.count
        while i + 4 <= n {
            c ^= UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
            c = t3[Int(c & 0xFF)] ^ t2[Int((c >> 8) & 0xFF)] ^ t1[Int((c >> 16) & 0xFF)] ^ t0[Int(c >> 24)]
            i += 4
        }
        while i < n {
            c = t0[Int((c ^ UInt32(bytes[i])) & 0xFF)] ^ (c >> 8)
            i += 1
        }
        return ~c
    }
}
