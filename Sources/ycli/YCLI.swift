import CLISupport
import ArgumentParser

/// `ycli`: command-line tools over Yjs v1 updates and editing traces.
@main
struct YCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ycli",
        abstract: "A local replica (a store file) and tools for Yjs/yrs-compatible v1 updates and editing traces.",
        subcommands: [
            StoreInit.self, StoreInsert.self, StoreDelete.self, StoreWrite.self, StoreEdit.self, StoreCat.self,
            StoreStatus.self, StoreLog.self, StoreCompact.self, StoreHistory.self, StoreRestore.self, StoreVersion.self,
            StoreExport.self, StoreImport.self, StoreSync.self, JournalCommand.self,
            UpdateCommand.self,
        ] + serverCommands
    )
}
