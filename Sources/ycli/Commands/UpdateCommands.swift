import CLISupport
import ArgumentParser
import CRDT

struct UpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Apply, inspect, merge, diff and convert updates (raw update bytes; '-' reads standard input).",
        subcommands: [Apply.self, Inspect.self, Merge.self, Diff.self, StateVectorOf.self, Convert.self]
    )
}

/// Decodes one update file, naming the file in the error.
func decodeUpdate(_ bytes: [UInt8], file: String) throws -> DecodedUpdate {
    do {
        return try UpdateDecoderV1.decode(bytes)
    } catch {
        throw CLIError("\(displayName(file)): not a valid v1 update: \(error)")
    }
}

/// Decodes one update file in either format (`UpdateFormat.detect`: v1 unless it is only valid as
/// v2; bytes left over after a v1 update are an error), naming the file in the error.
func decodeAnyUpdate(_ bytes: [UInt8], file: String) throws -> (format: UpdateFormat, update: DecodedUpdate) {
    do {
        return try UpdateFormat.detect(bytes)
    } catch {
        throw CLIError("\(displayName(file)): not a valid update (v1 or v2): \(error)")
    }
}

func displayName(_ path: String) -> String { path == "-" ? "<stdin>" : path }

extension UpdateCommand {
    struct Apply: ParsableCommand, JSONReporting {
        static let configuration = CommandConfiguration(
            abstract: "Apply updates, in the given order, to an empty document and print a root text.",
            discussion: """
            Prints the text of root text NAME followed by a newline. With --json prints one object: {"text": String, "stateVector": {"<client>": clock, ...}, "pending": Bool}; "pending" is true when some structs or deletions wait for updates that were not given.
            """
        )

        @Option(name: .customLong("text"), help: ArgumentHelp("Name of the root text to print.", valueName: "NAME"))
        var textName: String = "codemirror"

        @Flag(help: "Print a JSON object with the text, the state vector and the pending flag.")
        var json = false

        @Argument(help: ArgumentHelp("Update files (v1); '-' = standard input.", valueName: "FILE"))
        var files: [String]

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one update FILE") }
            if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input ('-') can be read only once") }
        }

        func run() throws {
            let doc = YDoc(gc: true)
            for file in files {
                let bytes = try readInput(file)
                do {
                    try doc.applyUpdate(bytes)
                } catch {
                    throw CLIError("\(displayName(file)): cannot apply update: \(error)")
                }
            }
            let text = doc.getText(textName).string
            if json {
                let sv = doc.stateVector.clocks.sorted { $0.key < $1.key }
                let object: JSON = .object([
                    ("text", .string(text)),
                    ("stateVector", .object(sv.map { (String($0.key), JSON.uint(UInt64($0.value))) })),
                    ("pending", .bool(doc.hasPending)),
                ])
                Console.out(object.rendered() + "\n")
            } else {
                Console.out(text + "\n")
                if doc.hasPending {
                    Console.err("ycli: warning: some structs or deletions are pending (they depend on updates not given)\n")
                }
            }
        }
    }

    struct Inspect: ParsableCommand, JSONReporting {
        static let configuration = CommandConfiguration(
            abstract: "Show the decoded structs and delete set of an update.",
            discussion: """
            The update may be v1 or v2 (detected: v1 unless it is only valid as v2; bytes left over after a v1 update are an error). The first line names the format. The table has one row per struct: client, clock, length, kind (content type, GC or Skip), origin, right origin, parent/key (only written when the origins are absent) and a preview of the content. --json prints everything, content in full, with "format": "v1" or "v2".
            """
        )

        @Flag(help: "Print the full decoded update as JSON.")
        var json = false

        @Argument(help: ArgumentHelp("Update file (v1 or v2); '-' = standard input.", valueName: "FILE"))
        var file: String

        func run() throws {
            let bytes = try readInput(file)
            let (format, update) = try decodeAnyUpdate(bytes, file: file)
            if json {
                var object = UpdateInspector.json(update, byteCount: bytes.count)
                if case let .object(fields) = object { object = .object([("format", .string(format.rawValue))] + fields) }
                Console.out(object.rendered(pretty: true, prettyDepth: 4) + "\n")
            } else {
                Console.out("format: \(format.rawValue)\n" + UpdateInspector.table(update, byteCount: bytes.count))
            }
        }
    }

    struct Merge: ParsableCommand, JSONReporting {
        static let configuration = CommandConfiguration(
            abstract: "Merge updates into one update (as Y.mergeUpdates).",
            discussion: """
            Files are raw v1 updates; '-' reads standard input, '-o -' writes standard output. Prints nothing; --json prints {"output": OUT, "bytes": Int, "inputs": Int (files merged)} (with '-o -' standard output carries the update alone).
            """
        )

        @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the merged update.", valueName: "OUT"))
        var output: String

        @Flag(help: "Report the file written as a JSON object.")
        var json = false

        @Argument(help: ArgumentHelp("Update files (v1); '-' = standard input.", valueName: "FILE"))
        var files: [String]

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one update FILE") }
            if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("standard input ('-') can be read only once") }
        }

        func run() throws {
            let inputs = try files.map { try readInput($0) }
            let merged: [UInt8]
            do {
                merged = try Updates.merge(inputs)
            } catch {
                // Name the culprit when one input does not decode on its own.
                for (file, bytes) in zip(files, inputs) { _ = try decodeUpdate(bytes, file: file) }
                throw CLIError("cannot merge: \(error)")
            }
            try writeOutput(merged, to: output)
            if json && output != "-" { Console.out(outputJSON(output, bytes: merged.count, [("inputs", .int(files.count))])) }
        }
    }

    struct Diff: ParsableCommand, JSONReporting {
        static let configuration = CommandConfiguration(
            abstract: "Write the part of an update that a state vector does not cover (as Y.diffUpdate).",
            discussion: """
            SVFILE holds an encoded state vector (as written by 'ycli update state-vector'). Prints nothing; --json prints {"output": OUT, "bytes": Int} (with '-o -' standard output carries the update alone).
            """
        )

        @Option(name: .customLong("state-vector"), help: ArgumentHelp("Encoded state vector file; '-' = standard input.", valueName: "SVFILE"))
        var stateVectorFile: String

        @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the diff update.", valueName: "OUT"))
        var output: String

        @Flag(help: "Report the file written as a JSON object.")
        var json = false

        @Argument(help: ArgumentHelp("Update file (v1); '-' = standard input.", valueName: "FILE"))
        var file: String

        func validate() throws {
            if file == "-" && stateVectorFile == "-" {
                throw ValidationError("standard input ('-') can be read only once")
            }
        }

        func run() throws {
            let update = try readInput(file)
            let svBytes = try readInput(stateVectorFile)
            let sv: StateVector
            do {
                sv = try StateVector(decoding: svBytes)
            } catch {
                throw CLIError("\(displayName(stateVectorFile)): not a valid state vector: \(error)")
            }
            let result: [UInt8]
            do {
                result = try Updates.diff(update, against: sv)
            } catch {
                throw CLIError("\(displayName(file)): cannot diff: \(error)")
            }
            try writeOutput(result, to: output)
            if json && output != "-" { Console.out(outputJSON(output, bytes: result.count)) }
        }
    }

    struct StateVectorOf: ParsableCommand, JSONReporting {
        static let configuration = CommandConfiguration(
            commandName: "state-vector",
            abstract: "Write the encoded state vector of an update (as Y.encodeStateVectorFromUpdate).",
            discussion: "With --json prints {\"<client>\": clock, ...} instead of writing bytes."
        )

        @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the encoded state vector.", valueName: "OUT"))
        var output: String?

        @Flag(help: "Print the state vector as a JSON object instead.")
        var json = false

        @Argument(help: ArgumentHelp("Update file (v1); '-' = standard input.", valueName: "FILE"))
        var file: String

        func validate() throws {
            if output == nil && !json { throw ValidationError("give -o OUT (or --json)") }
            if output == "-" && json { throw ValidationError("--json prints to standard output: give -o a file, or leave -o out") }
        }

        func run() throws {
            let bytes = try readInput(file)
            let sv: StateVector
            do {
                sv = try Updates.stateVector(of: bytes)
            } catch {
                throw CLIError("\(displayName(file)): not a valid v1 update: \(error)")
            }
            if let output { try writeOutput(sv.encoded(), to: output) }
            if json {
                let sorted = sv.clocks.sorted { $0.key < $1.key }
                Console.out(JSON.object(sorted.map { (String($0.key), JSON.uint(UInt64($0.value))) }).rendered() + "\n")
            }
        }
    }

    struct Convert: ParsableCommand, JSONReporting {
        static let configuration = CommandConfiguration(
            abstract: "Convert an update between format v1 and v2 (as Y.convertUpdateFormatV1ToV2 / V2ToV1).",
            discussion: """
            The input format is detected (v1 unless it is only valid as v2; bytes left over after a v1 update are an error). An input already in the target format is written unchanged. Prints nothing; --json prints {"output": OUT, "bytes": Int, "from": "v1"|"v2", "to": "v1"|"v2"} (with '-o -' standard output carries the update alone).
            """
        )

        @Option(name: .customLong("to"), help: ArgumentHelp("The format to write: v1 or v2.", valueName: "FORMAT"))
        var target: String

        @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the converted update.", valueName: "OUT"))
        var output: String

        @Flag(help: "Report the file written as a JSON object.")
        var json = false

        @Argument(help: ArgumentHelp("Update file (v1 or v2); '-' = standard input.", valueName: "FILE"))
        var file: String

        func validate() throws {
            if UpdateFormat(rawValue: target) == nil { throw ValidationError("--to must be v1 or v2, not '\(target)'") }
        }

        func run() throws {
            let to = UpdateFormat(rawValue: target)!
            let bytes = try readInput(file)
            let (from, _) = try decodeAnyUpdate(bytes, file: file)
            let result: [UInt8]
            do {
                switch (from, to) {
                case (.v1, .v2): result = try Updates.convertV1ToV2(bytes)
                case (.v2, .v1): result = try Updates.convertV2ToV1(bytes)
                default: result = bytes
                }
            } catch {
                throw CLIError("\(displayName(file)): cannot convert: \(error)")
            }
            try writeOutput(result, to: output)
            if json && output != "-" {
                Console.out(outputJSON(output, bytes: result.count, [("from", .string(from.rawValue)), ("to", .string(to.rawValue))]))
            }
        }
    }
}
