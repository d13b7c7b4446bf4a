import CLISupport

extension FileBytes {
    /// Reads a trace file, failing with a `TraceError` that names the path.
    public static func read(path: String) throws(TraceError) -> [UInt8] {
        do {
            return try readFile(path)
        } catch {
            throw .io(path: error.path, reason: error.reason)
        }
    }
}
