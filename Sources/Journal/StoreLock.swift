#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who holds a store's writer lock, as its lock file says.
public struct StoreLockHolder: Sendable, Equatable, CustomStringConvertible {
    /// The holder's process id (nil when the lock file does not say yet: the holder is between
    /// taking the lock and writing its name).
    public let pid: Int32?
    /// What the holder is, e.g. its command line ("ycli sync --watch"); may be empty.
    public let command: String

    /// A holder with the given pid and description.
    public init(pid: Int32?, command: String) {
        self.pid = pid
        self.command = command
    }

    /// "process 1234 (ycli sync --watch)", or "another process" when the pid is unknown.
    public var description: String {
        guard let pid else { return "another process" }
        var what = command
        if pid == getpid() { what += what.isEmpty ? "another open in this process" : ", another open in this process" }
        return what.isEmpty ? "process \(pid)" : "process \(pid) (\(what))"
    }
}

/// The single-writer rule of a store: an exclusive `flock` on the side file `STORE.lock`, taken
/// by every writing open and held until `release` (or deinit). `flock` belongs to the open file
/// description, so a second open in the same process is refused as a second process is; the
/// kernel drops the lock when the holder dies, so a stale lock file never blocks. The side
/// file (not the store itself) is locked because closing any descriptor of the database file
/// would drop SQLite's own POSIX locks on it, and because `repair` replaces the database file.
final class StoreLock {
    let lockPath: String
    private var fd: Int32

    private init(lockPath: String, fd: Int32) {
        self.lockPath = lockPath
        self.fd = fd
    }

    deinit { release() }

    /// How many 1 ms looks a lock held by a holder with no name gets before `.locked`.
    static let unnamedHolderRetries = 100

    /// The lock file of the store at `storePath`.
    static func lockPath(for storePath: String) -> String { storePath + ".lock" }

    /// Takes the lock or fails at once with `.locked` naming the holder.
    static func acquire(storePath: String) throws(JournalError) -> StoreLock {
        let lockPath = lockPath(for: storePath)
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 {
            let err = errno
            if err == ENOENT {
                // The store's folder is missing: say that, not which side file we tried first.
                let parent = storePath.lastIndex(of: "/").map { String(storePath[..<$0]) } ?? "."
                throw .invalidArgument("cannot open \(storePath): there is no directory \(parent.isEmpty ? "/" : parent)")
            }
            throw .invalidArgument("cannot open the lock file \(lockPath): \(String(cString: strerror(err)))")
        }
        var unnamedWaits = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let err = errno
            if err == EINTR { continue }
            let holder = err == EWOULDBLOCK ? readHolder(fd) : nil
            // An empty lock file is a passing state: a holder between taking the lock and writing
            // its name, or one that released while a child this process was spawning still had a
            // copy of its descriptor (fork copies descriptors; exec closes them). Both end within
            // a moment, so look again, for at most about 100 ms, before naming no one.
            if err == EWOULDBLOCK, holder == nil, unnamedWaits < Self.unnamedHolderRetries {
                unnamedWaits += 1
                usleep(1_000)
                continue
            }
            close(fd)
            if err == EWOULDBLOCK { throw .locked(path: storePath, holder: holder ?? StoreLockHolder(pid: nil, command: "")) }
            throw .invalidArgument("cannot lock \(lockPath): \(String(cString: strerror(err)))")
        }
        let record = "\(getpid())\n\(currentCommand())\n"
        _ = ftruncate(fd, 0)
        _ = record.withCString { pwrite(fd, $0, strlen($0), 0) }
        return StoreLock(lockPath: lockPath, fd: fd)
    }

    /// Empties the lock file (no stale name is left) and drops the lock. Idempotent.
    func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        // Unlocked explicitly: a child this process is spawning may hold a copy of the descriptor
        // until its exec, and the flock of the shared description would live on with that copy
        // (a parallel suite's reopen found the store "in use by another process").
        _ = flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    /// The holder named in the lock file ("PID\nCOMMAND\n").
    private static func readHolder(_ fd: Int32) -> StoreLockHolder? {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let lines = String(decoding: buffer[..<n], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, let pid = Int32(first) else { return nil }
        return StoreLockHolder(pid: pid, command: lines.count > 1 ? String(lines[1]) : "")
    }

    /// This process's command line, program name without its directory, at most 200 characters.
    static func currentCommand() -> String {
        var bytes: [UInt8] = []
        let fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                bytes += chunk[..<n]
                if bytes.count > 4096 { break }
            }
            close(fd)
        }
        var args = bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        if args.isEmpty { args = CommandLine.arguments }
        if let first = args.first, let slash = first.lastIndex(of: "/") {
            args[0] = String(first[first.index(after: slash)...])
        }
        let text = args.joined(separator: " ").map { $0 == "\n" ? " " : $0 }
        return String(String(text).prefix(200))
    }
}

/// Not Sendable: it owns a descriptor.
@available(*, unavailable)
extension StoreLock: Sendable {}
