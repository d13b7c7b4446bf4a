#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file that could not be read or written, with the system's reason.
public struct FileIOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file (`<stdin>` or `<stdout>` for `-`).
    public var path: String
    /// The system's reason, e.g. "No such file or directory".
    public var reason: String
    /// An error for `path` with `reason`.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    /// "path: reason".
    public var description: String { "\(path): \(reason)" }
}

/// Whole-file reads and writes with POSIX calls, so that errors carry a plain reason
/// ("No such file or directory") and `-` means standard input / output.
public enum FileBytes {
    /// The whole file at `path`, or all of standard input for `-`; throws `FileIOError` when it cannot be opened or read.
    public static func readFile(_ path: String) throws(FileIOError) -> [UInt8] {
        let name = path == "-" ? "<stdin>" : path
        let fd: Int32
        if path == "-" {
            fd = 0
        } else {
            fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw FileIOError(path: name, reason: lastError()) }
        }
        defer { if fd != 0 { close(fd) } }

        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            throw FileIOError(path: name, reason: "is a directory")
        }
        var out: [UInt8] = []
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 {
            out.reserveCapacity(Int(st.st_size))
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { buf in sysRead(fd, buf.baseAddress, buf.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileIOError(path: name, reason: lastError())
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Writes `bytes` to `path` (created or truncated), or to standard output for `-`.
    public static func write(_ bytes: [UInt8], to path: String) throws(FileIOError) {
        let name = path == "-" ? "<stdout>" : path
        let fd: Int32
        if path == "-" {
            fd = 1
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw FileIOError(path: name, reason: lastError()) }
        }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buf in
                sysWrite(fd, buf.baseAddress! + written, buf.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = lastError()
                if fd != 1 { close(fd) }
                throw FileIOError(path: name, reason: reason)
            }
            written += n
        }
        if fd != 1 {
            guard close(fd) == 0 else { throw FileIOError(path: name, reason: lastError()) }
        }
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }
}

@inline(__always) private func sysRead(_ fd: Int32, _ p: UnsafeMutableRawPointer?, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, p, n)
    #else
    return Darwin.read(fd, p, n)
    #endif
}

@inline(__always) private func sysWrite(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
