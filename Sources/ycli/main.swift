import ArgumentParser

/// `ycli`: command-line tools over Yjs v1 updates and editing traces.
struct YCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ycli",
        abstract: "Tools for Yjs/yrs-compatible v1 updates and editing traces.",
        subcommands: [UpdateCommand.self, BenchCommand.self]
    )
}

YCLI.main()
