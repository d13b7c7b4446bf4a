#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Replays fuzz inputs (e.g. crash files) given as arguments through a fuzzer's checks, so a
/// plain build of a fuzz target reproduces a libFuzzer finding without libFuzzer.
public enum FuzzReplay {
    public static func readFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    public static func run(_ check: ([UInt8]) -> Void) -> Int32 {
        var replayed = 0
        for path in CommandLine.arguments.dropFirst() {
            guard let bytes = readFile(path) else {
                print("cannot read \(path)")
                exit(2)
            }
            check(bytes)
            replayed += 1
        }
        print("replayed \(replayed) input(s) without failure")
        return 0
    }
}
