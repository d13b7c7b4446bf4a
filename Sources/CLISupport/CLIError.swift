/// A failure reported to the user: `Error: <description>` on stderr (with `--json`,
/// `{"error": <description>, "code": <code>}`), then exit with `code`.
package struct CLIError: Error, CustomStringConvertible {
    /// The one-sentence message.
    package var description: String
    /// The exit status the command ends with (`.failure`, 1, unless a script should act differently).
    package var code: ExitStatus
    /// A failure saying `description`, exiting with `code`.
    package init(_ description: String, code: ExitStatus = .failure) {
        self.description = description
        self.code = code
    }
}

/// The exit statuses ycli documents (`ycli --help`, README "ycli: --json and exit codes"): the
/// sysexits.h numbers where one fits, distinct only where a script would act differently.
package enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Done.
    case success = 0
    /// The operation failed (bad input, a damaged store, an I/O error, ...): nothing to retry as is.
    case failure = 1
    /// Bad arguments or options (EX_USAGE, ArgumentParser's own code): nothing was done.
    case usage = 64
    /// The network failed: the server could not be reached, the connection ended early or the sync
    /// timed out (EX_UNAVAILABLE). Local changes are kept: try again later.
    case network = 69
    /// The store is in use by another process (another writer, e.g. `ycli sync --watch`)
    /// (EX_TEMPFAIL): try again once it is closed.
    case storeLocked = 75
    /// The server refused: it declined the connection (HTTP 4xx: the token, the path) or our
    /// changes (a read-only token) (EX_NOPERM). Retrying as is will not help.
    case refused = 77
}
