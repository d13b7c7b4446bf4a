#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Standard output and error without Foundation (Glibc's `stdout` global is off limits in Swift 6).
package enum Console {
    package static func out(_ s: String) {
        var s = s
        s.withUTF8 { buf in writeAll(1, buf) }
    }

    package static func err(_ s: String) {
        var s = s
        s.withUTF8 { buf in writeAll(2, buf) }
    }

    private static func writeAll(_ fd: Int32, _ buf: UnsafeBufferPointer<UInt8>) {
        guard let base = buf.baseAddress else { return }
        var done = 0
        while done < buf.count {
            let n = write(fd, base + done, buf.count - done)
            if n < 0 { if errno == EINTR { continue }; return }
            done += n
        }
    }
}

