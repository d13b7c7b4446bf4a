import CLISupport
import Foundation

/// Where the `ycli` that the server benchmarks start lives: `$YSYNC_YCLI`, else the `ycli` built
/// beside this executable (same build directory). Never derived from `argv[0]`, which is a bare
/// name when the program was found on PATH.
enum YcliExecutable {
    static func path() throws -> String {
        if let given = ProcessInfo.processInfo.environment["YSYNC_YCLI"], !given.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: given) else {
                throw CLIError("YSYNC_YCLI is \(given), which is not an executable file")
            }
            return given
        }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let sibling = me.deletingLastPathComponent().appendingPathComponent("ycli").path
        guard FileManager.default.isExecutableFile(atPath: sibling) else {
            throw CLIError("no ycli beside \(me.path): build it (swift build --product ycli, same configuration) or set YSYNC_YCLI")
        }
        return sibling
    }
}
