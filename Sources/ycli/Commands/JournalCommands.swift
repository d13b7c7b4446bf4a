import CLISupport
import ArgumentParser
import CRDT
import Journal

struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Verify or repair a store's journal.",
        subcommands: [Check.self, Repair.self]
    )
}

func checkReportJSON(_ r: CheckReport, repaired: Bool) -> JSON {
    .object([
        ("healthy", .bool(r.isHealthy)),
        ("rowsChecked", .int(r.rowsChecked)),
        ("snapshotsChecked", .int(r.snapshotsChecked)),
        (repaired ? "moved" : "problems", .array(r.problems.map {
            .object([("kind", .string($0.kind)), ("seq", .int($0.seq)), ("reason", .string($0.reason))])
        })),
        ("previouslyQuarantined", .int(r.previouslyQuarantined)),
    ])
}

func checkReportText(_ r: CheckReport, path: String, repaired: Bool) -> String {
    var out = "\(path): checked \(plural(r.rowsChecked, "row")) and \(plural(r.snapshotsChecked, "snapshot"))\n"
    if r.problems.isEmpty {
        out += repaired ? "nothing to repair\n" : "no problems\n"
    } else {
        out += repaired ? "moved to quarantine:\n" : "problems:\n"
        for p in r.problems { out += "  \(p.kind) \(p.seq): \(p.reason)\n" }
    }
    if r.previouslyQuarantined > 0 {
        out += "\(plural(r.previouslyQuarantined, "entry", "entries")) already in quarantine (from earlier repairs)\n"
    }
    return out
}

extension JournalCommand {
    struct Check: ParsableCommand, JSONReporting {
        static let configuration = CommandConfiguration(
            abstract: "Verify every row and snapshot (checksums, LZ4 blocks, update decoding); changes nothing.",
            discussion: """
            Exits with status 0 when the journal is healthy and 1 when it found problems (listed with their reasons; 'ycli journal repair' moves them to quarantine). --json prints {"healthy", "rowsChecked", "snapshotsChecked", "problems": [{"kind", "seq", "reason"}], "previouslyQuarantined"}.
            """
        )

        @OptionGroup var options: StorePath

        @Flag(help: "Print a JSON object.")
        var json = false

        func run() throws {
            let journal = try openJournal(options.store)
            defer { journal.close() }
            let report = try Progress.run("checking \(options.store)") {
                try journalCall(options.store) { () throws(JournalError) in try journal.check() }
            }
            if json {
                Console.out(checkReportJSON(report, repaired: false).rendered(pretty: true, prettyDepth: 1) + "\n")
            } else {
                Console.out(checkReportText(report, path: options.store, repaired: false))
            }
            if !report.isHealthy {
                if !json { Console.err("ycli: \(plural(report.problems.count, "problem")) found; run 'ycli journal repair \(options.store)'\n") }
                throw ExitCode(1)
            }
        }
    }

    struct Repair: ParsableCommand, JSONReporting {
        static let configuration = CommandConfiguration(
            abstract: "Move unreadable rows and snapshots to quarantine, so that the store loads cleanly.",
            discussion: """
            Everything readable stays; what is moved is kept (with its reason) in the quarantine table, never deleted. --json prints the same object as 'journal check --json', with "moved" instead of "problems".
            """
        )

        @OptionGroup var options: StorePath

        @Flag(help: "Print a JSON object.")
        var json = false

        func run() throws {
            let journal = try openJournal(options.store, lock: true)
            defer { journal.close() }
            let report = try Progress.run("repairing \(options.store)") {
                try journalCall(options.store) { () throws(JournalError) in try journal.repair() }
            }
            if json {
                Console.out(checkReportJSON(report, repaired: true).rendered(pretty: true, prettyDepth: 1) + "\n")
            } else {
                Console.out(checkReportText(report, path: options.store, repaired: true))
            }
        }
    }
}
