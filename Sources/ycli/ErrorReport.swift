import CLISupport
import ArgumentParser

/// A command with a `--json` flag: its report is one JSON object, and so is its error.
/// (SendableMetatype: no main-actor conformance, so casting a command to it keeps the command sendable to `run()`.)
protocol JSONReporting: SendableMetatype {
    /// `--json` was given.
    var json: Bool { get }
}

/// How ycli ends on an error: the one place that turns an error into its message and exit status.
enum ErrorReport {
    /// The exit codes as `ycli --help` lists them.
    static let exitCodesHelp = """
        EXIT CODES: 0 success; 1 the operation failed (bad input, a damaged store, an I/O error; 'journal check': problems found); 64 usage error (bad arguments or options; nothing was done); 69 network: the server could not be reached, the connection ended early or the sync timed out (local changes are kept; try again); 75 the store is in use by another process (another writer such as 'ycli sync --watch'; try again once it is closed); 77 the server refused (HTTP 4xx at the upgrade: the token or the path; a read-only token; a policy close).

        --json: every command that reports something takes it and prints its report as JSON on stdout (one object; an array for the lists of 'log' and 'version'; one object per line for 'sync --watch'; nothing besides the bytes when 'export' or 'update merge|diff' write to stdout with '-o -'). With --json an error is one line on stderr, {"error": "<message>", "code": <exit code>}, and nothing else.
        """

    /// `--json` among `arguments` before a `--` (for an error before the command was parsed).
    static func jsonRequested(in arguments: [String]) -> Bool {
        arguments.prefix { $0 != "--" }.contains("--json")
    }

    /// The message and exit status for `error`; nil when ArgumentParser should handle it (help,
    /// `--version`, completion scripts: exit 0 with text on stdout).
    static func describe(_ error: any Error) -> (message: String, code: Int32)? {
        if let e = error as? CLIError { return (e.description, e.code.rawValue) }
        let code = YCLI.exitCode(for: error).rawValue
        if code == ExitStatus.success.rawValue { return nil }
        var text = YCLI.fullMessage(for: error)
        if text.hasPrefix("Error: ") { text.removeFirst("Error: ".count) }
        // A usage error's text goes on with "Usage: ..." and "See 'ycli ... --help'": keep the sentence.
        if code == ExitStatus.usage.rawValue, let line = text.split(separator: "\n", omittingEmptySubsequences: true).first {
            text = String(line)
        }
        while text.last == "\n" { text.removeLast() }
        return (text, code)
    }

    /// Reports `error` (as JSON with `json`) and exits with its status.
    static func exit(_ error: any Error, json: Bool) -> Never {
        // An ExitCode carries no message ('journal check' printed its report and exits 1), and
        // help, --version and completion scripts are ArgumentParser's.
        if error is ExitCode { YCLI.exit(withError: error) }
        guard let described = describe(error) else { YCLI.exit(withError: error) }
        if json {
            let object: JSON = .object([("error", .string(described.message)), ("code", .int(Int(described.code)))])
            Console.err(object.rendered() + "\n")
        } else if error is CLIError {
            Console.err("Error: \(described.message)\n")
        } else {
            // ArgumentParser's own text (with the usage for a usage error) and code.
            YCLI.exit(withError: error)
        }
        YCLI.exit(withError: ExitCode(described.code))
    }
}
