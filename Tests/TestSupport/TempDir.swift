import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh directory under the system temporary directory for one test, removed when the value
/// goes away (or earlier by `remove()`). The name carries `label` (by default the calling
/// function) so that a leftover directory says which test made it.
///
///     let dir = TempDir()
///     let store = dir.file("a.ystore")
public final class TempDir: Sendable {
    /// The directory's absolute path.
    public let path: String

    /// Creates `<tmp>/ysync-<label>-XXXXXX` (mkdtemp: unique even across parallel tests).
    public init(_ label: String = #function) {
        let base = FileManager.default.temporaryDirectory.path
        let safe = String(label.filter { $0.isLetter || $0.isNumber || $0 == "-" }.prefix(60))
        var template = Array("\(base)/ysync-\(safe)-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            preconditionFailure("mkdtemp failed in \(base): errno \(errno)")
        }
        path = String(cString: p)
    }

    deinit { remove() }

    /// The directory as a file URL.
    public var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    /// The path of `name` inside the directory (not created).
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// Writes `text` (UTF-8) to `name` and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    /// The bytes of `name`.
    public func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: file(name)))) }

    /// Whether `name` exists.
    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }

    /// Removes the directory and everything in it (again is harmless).
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
