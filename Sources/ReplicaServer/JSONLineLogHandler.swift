import CRDT
import Foundation
import Logging

/// swift-log handler writing one JSON object per line to stderr:
/// `{"time": "...", "level": "info", "label": "ysync", "message": "...", <metadata>}`.
public struct JSONLineLogHandler: LogHandler {
    /// Metadata added to every line (a line's own metadata wins on equal keys).
    public var metadata: Logger.Metadata = [:]
    /// The lowest level written (`.info` by default).
    public var logLevel: Logger.Level = .info
    private let label: String

    /// A handler whose lines carry `label` (swift-log's logger label).
    public init(label: String) {
        self.label = label
    }

    /// One entry of `metadata`.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes the event as one JSON object with sorted keys and a newline to stderr.
    public func log(event: LogEvent) {
        var object: [String: String] = [
            "time": ISO8601DateFormatter().string(from: Date()),
            "level": event.level.rawValue,
            "label": label,
            "message": event.message.description,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = value.description
        }
        let line = YAny.object(object.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }).jsonText + "\n"
        let data = Data(line.utf8)
        FileHandle.standardError.write(data)
    }
}
