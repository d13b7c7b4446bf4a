import Foundation

/// Counters shared by every room of a server, for `/metrics`. Keyed by metric name and a
/// sorted label set; cheap enough to bump on every message (one lock, one dictionary write).
public final class ServerCounters: @unchecked Sendable {
    /// A metric name with its labels; ordered by name, then by the sorted labels.
    public struct Key: Hashable, Sendable, Comparable {
        /// The metric name.
        public let name: String
        /// The labels (order does not matter).
        public let labels: [String: String]
        var sortedLabels: [(String, String)] { labels.sorted { $0.key < $1.key } }
        /// Orders by name, then by the labels as sorted `k=v` lists.
        public static func < (a: Key, b: Key) -> Bool {
            if a.name != b.name { return a.name < b.name }
            return a.sortedLabels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                < b.sortedLabels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        }
    }

    private let lock = NSLock()
    private var values: [Key: Double] = [:]

    /// No counters yet.
    public init() {}

    /// Adds `amount` (1 by default) to the counter `name` with `labels`. Safe from any thread.
    public func add(_ name: String, labels: [String: String] = [:], _ amount: Int = 1) {
        add(name, labels: labels, Double(amount))
    }

    /// Adds a fractional `amount` to the counter `name` with `labels`. Safe from any thread.
    public func add(_ name: String, labels: [String: String] = [:], _ amount: Double) {
        let key = Key(name: name, labels: labels)
        lock.lock()
        values[key, default: 0] += amount
        lock.unlock()
    }

    /// The counter's current value (0 if never added to).
    public func value(_ name: String, labels: [String: String] = [:]) -> Double {
        lock.lock()
        defer { lock.unlock() }
        return values[Key(name: name, labels: labels)] ?? 0
    }

    /// Every counter at this moment.
    public func snapshot() -> [Key: Double] {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}
