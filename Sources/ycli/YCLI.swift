import CLISupport
import ArgumentParser

/// `ycli`: command-line tools over Yjs v1 updates and editing traces.
@main
struct YCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ycli",
        abstract: "A local replica (a store file) and tools for Yjs/yrs-compatible v1 updates and editing traces.",
        discussion: ErrorReport.exitCodesHelp,
        subcommands: [
            StoreInit.self, StoreInsert.self, StoreDelete.self, StoreWrite.self, StoreEdit.self, StoreCat.self,
            StoreStatus.self, StoreLog.self, StoreCompact.self, StoreHistory.self, StoreRestore.self, StoreVersion.self,
            StoreExport.self, StoreImport.self, StoreSync.self, JournalCommand.self,
            UpdateCommand.self,
        ] + serverCommands
    )

    /// Parses and runs the command as ArgumentParser's `main` does, but every error ends through
    /// `ErrorReport.exit`: its documented exit code, and a JSON object on stderr with `--json`.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var json = ErrorReport.jsonRequested(in: arguments)
        do {
            var command = try await asyncParseAsRoot(arguments)
            if let reporting = command as? any JSONReporting { json = reporting.json }
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            ErrorReport.exit(error, json: json)
        }
    }
}
