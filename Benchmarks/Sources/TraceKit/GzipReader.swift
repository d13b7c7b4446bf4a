import CZlib

/// gzip decompression with the system zlib (the `CZlib` system module, linked with `-lz`).
public enum Gzip {
    /// Whether the bytes start with the gzip magic number 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Inflates a gzip (or zlib) stream; concatenated gzip members are joined, as `gzip -dc` does.
    /// Corrupt or truncated input throws, it never traps.
    public static func decompress(_ input: [UInt8]) throws(TraceError) -> [UInt8] {
        guard !input.isEmpty else { throw .gzip("empty input") }
        var stream = z_stream()
        // windowBits 15 + 32: accept a gzip or a zlib header, detected automatically.
        var rc = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw .gzip("inflateInit2 failed (\(rc))") }
        defer { inflateEnd(&stream) }

        var output: [UInt8] = []
        output.reserveCapacity(input.count * 4)
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        var failure: TraceError?

        input.withUnsafeBufferPointer { inBuf in
            // zlib's next_in is not const-qualified without ZLIB_CONST; it never writes through it.
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress!)
            stream.avail_in = uInt(inBuf.count)
            while true {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress!
                    stream.avail_out = uInt(outBuf.count)
                    rc = inflate(&stream, Z_NO_FLUSH)
                    return outBuf.count - Int(stream.avail_out)
                }
                output.append(contentsOf: chunk[0..<produced])
                switch rc {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    // Another gzip member may follow (skip trailing zero padding, as gzip does).
                    let consumed = inBuf.count - Int(stream.avail_in)
                    let rest = inBuf[consumed...]
                    if rest.allSatisfy({ $0 == 0 }) { return }
                    guard rest.count >= 2, rest[consumed] == 0x1F, rest[consumed + 1] == 0x8B else {
                        failure = .gzip("\(rest.count) bytes of trailing garbage after the compressed data")
                        return
                    }
                    guard inflateReset(&stream) == Z_OK else { failure = .gzip("inflateReset failed"); return }
                case Z_BUF_ERROR:
                    // No progress possible: more input needed but none is left.
                    if stream.avail_in == 0 {
                        failure = .gzip("truncated input (unexpected end of the compressed data)")
                    } else {
                        failure = .gzip("no progress (zlib Z_BUF_ERROR)")
                    }
                    return
                case Z_DATA_ERROR:
                    let msg = stream.msg.map { String(cString: $0) } ?? "invalid data"
                    failure = .gzip("corrupt input: \(msg)")
                    return
                case Z_MEM_ERROR:
                    failure = .gzip("out of memory")
                    return
                default:
                    failure = .gzip("inflate failed (\(rc))")
                    return
                }
            }
        }
        if let failure { throw failure }
        return output
    }

    /// gzip compression (used by tests to make fixtures).
    public static func compress(_ input: [UInt8], level: Int32 = 6) throws(TraceError) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: write a gzip header and trailer.
        let rc0 = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc0 == Z_OK else { throw .gzip("deflateInit2 failed (\(rc0))") }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count))) + 64
        var output = [UInt8](repeating: 0, count: bound)
        var src = input
        let rc: Int32 = src.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress  // nil with avail_in 0 is allowed
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress!
                stream.avail_out = uInt(outBuf.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else { throw .gzip("deflate failed (\(rc))") }
        output.removeLast(Int(stream.avail_out))
        return output
    }
}
