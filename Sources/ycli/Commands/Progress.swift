import CLISupport
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Progress of a long operation on standard error, shown only when standard error is a terminal
/// (never in pipes, files or tests). A line "label… 3/10  1.4s" is redrawn in place from a
/// background thread every 100 ms once the operation has taken longer than `delay`, so that a
/// single blocking call (loading or compacting a journal) shows that it is alive too; `finish`
/// erases the line.
final class Progress: @unchecked Sendable {
    /// Whether progress is drawn at all: standard error is a terminal.
    static let enabled: Bool = isatty(2) == 1

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var label: String
    private var done = 0
    private var total: Int?
    private var unit = ""
    private var running = true
    private var threadExited = false
    private var drawn = false
    private let start: Double

    /// Starts showing `label` (nothing happens unless standard error is a terminal).
    init(_ label: String, total: Int? = nil, unit: String = "", delay: Double = 0.3) {
        self.label = label
        self.total = total
        self.unit = unit
        start = Progress.now()
        guard Progress.enabled else {
            running = false
            threadExited = true
            return
        }
        Thread.detachNewThread { [self] in self.tick(delay: delay) }
    }

    deinit { finish() }

    /// Runs `body` while showing `label`.
    static func run<R>(_ label: String, _ body: () throws -> R) rethrows -> R {
        let p = Progress(label)
        defer { p.finish() }
        return try body()
    }

    /// Updates the counter (and optionally the label or the total).
    func update(_ done: Int, total: Int? = nil, label: String? = nil) {
        guard Progress.enabled else { return }
        condition.lock()
        self.done = done
        if let total { self.total = total }
        if let label { self.label = label }
        condition.unlock()
    }

    /// Stops the ticker and erases the line. Idempotent.
    func finish() {
        condition.lock()
        running = false
        condition.broadcast()
        while !threadExited { condition.wait() }
        if drawn {
            Console.err("\r\u{1B}[2K")
            drawn = false
        }
        condition.unlock()
    }

    private func tick(delay: Double) {
        condition.lock()
        defer {
            threadExited = true
            condition.broadcast()
            condition.unlock()
        }
        _ = condition.wait(until: Date(timeIntervalSinceNow: delay))
        while running {
            let elapsed = Progress.now() - start
            var line = "\(label)…"
            if let total, total > 0 {
                line += " \(done)/\(total)\(unit)"
            } else if done > 0 {
                line += " \(done)\(unit)"
            }
            line += "  " + formatFixed(elapsed, 1) + "s"
            Console.err("\r\u{1B}[2K" + line)
            drawn = true
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.1))
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
