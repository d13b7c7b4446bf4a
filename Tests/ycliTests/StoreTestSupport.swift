import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Running ycli, ysync-bench and scripts: TestSupport's `Ycli`, `YsyncBench`, `BuiltExecutable`.

/// The bytes of a store and its WAL side files, to show that a failed command wrote nothing.
struct StoreFiles: Equatable, CustomStringConvertible {
    var main: [UInt8]?
    var wal: [UInt8]?
    var shm: Bool

    init(_ path: String) {
        let fm = FileManager.default
        main = fm.contents(atPath: path).map { Array($0) }
        wal = fm.contents(atPath: path + "-wal").map { Array($0) }
        shm = fm.fileExists(atPath: path + "-shm")
    }

    var description: String { "main \(main?.count ?? -1) bytes, wal \(wal?.count ?? -1) bytes, shm \(shm)" }
}

/// Code-point operations on a String, the model the tests compare with.
extension String {
    func insertingScalars(_ s: String, at p: Int) -> String {
        var a = Array(unicodeScalars)
        a.insert(contentsOf: s.unicodeScalars, at: p)
        var v = String.UnicodeScalarView()
        v.append(contentsOf: a)
        return String(v)
    }

    func deletingScalars(at p: Int, count: Int) -> String {
        var a = Array(unicodeScalars)
        a.removeSubrange(p..<p + count)
        var v = String.UnicodeScalarView()
        v.append(contentsOf: a)
        return String(v)
    }

    var scalarCount: Int { unicodeScalars.count }
}
