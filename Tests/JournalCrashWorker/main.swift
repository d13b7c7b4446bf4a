// Child process of the journal crash-safety tests: appends edits to a store until it is
// killed, printing "<seq> <token>" for every committed edit (stdout flushed after each line),
// so the test knows exactly what was acknowledged before the SIGKILL.
//
//   JournalCrashWorker STORE [--seed N] [--compact-every N] [--no-history] [--batch N] [--max N] [--hold]
//
// With --hold, after the edits it prints "holding" and keeps the store open (and its writer
// lock held) until its standard input ends; the lock tests use it as the other writer.
//
// Each edit inserts a unique token at the start or the end of root text "t" (never inside an
// earlier token, so every acknowledged token can be found in the loaded text).
import CRDT
import Journal
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    let line = "JournalCrashWorker: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
guard !args.isEmpty else { fail("usage: JournalCrashWorker STORE [--seed N] [--compact-every N] [--no-history] [--batch N] [--max N]") }
let path = args.removeFirst()
var seed: UInt64 = 1, compactEvery = 0, batch = 1, maxEdits = Int.max
var retainHistory = true
var hold = false
while !args.isEmpty {
    let flag = args.removeFirst()
    func value() -> Int {
        guard !args.isEmpty, let n = Int(args.removeFirst()), n >= 0 else { fail("\(flag) needs a number") }
        return n
    }
    switch flag {
    case "--seed": seed = UInt64(value())
    case "--compact-every": compactEvery = value()
    case "--batch": batch = max(1, value())
    case "--max": maxEdits = value()
    case "--no-history": retainHistory = false
    case "--hold": hold = true
    default: fail("unknown argument \(flag)")
    }
}

var options = JournalOptions()
options.durability = .full
options.retainHistory = retainHistory
// Only explicit compaction (--compact-every), so the test controls how often it happens.
options.compactAfterRows = .max
options.compactWhenTailBytesExceedSnapshot = false
options.compactAfterSeconds = .infinity

var rng = SeededRandom(seed: seed)  // the edits depend on the seed only

do {
    let jd = try JournaledDocument.open(path: path, create: true, options: options)
    let text = jd.doc.getText("t")
    // Tokens continue after what is already there, so they stay unique across runs.
    var n = jd.loadReport.lastSeq
    var edits = 0
    while edits < maxEdits {
        var tokens: [String] = []
        for _ in 0..<batch {
            n += 1
            let token = "<\(seed).\(n)>" + String(repeating: "x", count: Int(rng.next() % 40))
            tokens.append(token)
            try text.insert(at: rng.next() % 2 == 0 ? 0 : text.length, token)
        }
        // Direct edits are collected by the document and appended together (one transaction).
        let seqs = try jd.flush()
        for (seq, token) in zip(seqs, tokens) { print("\(seq) \(token)") }
        fflush(nil)
        edits += batch
        if compactEvery > 0 && edits % compactEvery < batch {
            if let upto = try jd.journal.compact(document: jd.doc) { print("compacted \(upto)") }
            fflush(nil)
        }
    }
    if hold {
        print("holding")
        fflush(nil)
        var byte: UInt8 = 0
        while read(0, &byte, 1) > 0 {}
    }
    jd.close()
} catch {
    fail("\(error)")
}
