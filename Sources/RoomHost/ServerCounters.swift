import Foundation

/// Counters shared by every room of a server, for `/metrics`. Keyed by metric name and a
/// sorted label set; cheap enough to bump on every message (one lock, one dictionary write).
public final class ServerCounters: @unchecked Sendable {
    public struct Key: Hashable, Sendable, Comparable {
        public let name: String
        public let labels: [String: String]
        var sortedLabels: [(String, String)] { labels.sorted { $0.key < $1.key } }
        public static func < (a: Key, b: Key) -> Bool {
            if a.name != b.name { return a.name < b.name }
            return a.sortedLabels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                < b.sortedLabels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        }
    }

    private let lock = NSLock()
    private var values: [Key: Double] = [:]

    public init() {}

    public func add(_ name: String, labels: [String: String] = [:], _ amount: Int = 1) {
        add(name, labels: labels, Double(amount))
    }

    public func add(_ name: String, labels: [String: String] = [:], _ amount: Double) {
        let key = Key(name: name, labels: labels)
        lock.lock()
        values[key, default: 0] += amount
        lock.unlock()
    }

    public func value(_ name: String, labels: [String: String] = [:]) -> Double {
        lock.lock()
        defer { lock.unlock() }
        return values[Key(name: name, labels: labels)] ?? 0
    }

    public func snapshot() -> [Key: Double] {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}
