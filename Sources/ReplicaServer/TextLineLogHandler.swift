import Foundation
import Logging

/// swift-log handler writing one line of text per event to stderr, in the layout of swift-log's
/// `StreamLogHandler` (`TIME LEVEL LABEL: [SOURCE] MESSAGE`), with every control character of the
/// message and metadata escaped: room names, labels and error texts come from clients, and a
/// CR or LF in them must not start a forged line.
public struct TextLineLogHandler: LogHandler {
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

    /// Writes the event as one line (control characters escaped) to stderr.
    public func log(event: LogEvent) {
        FileHandle.standardError.write(Data(line(event, time: Date()).utf8))
    }

    /// The line written for `event` at `time`, newline included.
    func line(_ event: LogEvent, time: Date) -> String {
        let all = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        let pairs = all.sorted { $0.key < $1.key }.map { "\(Self.escaped($0.key))=\(Self.escaped($0.value.description))" }
        let shown = pairs.isEmpty ? "" : " " + pairs.joined(separator: " ")
        let stamp = time.formatted(.iso8601)
        return "\(stamp) \(event.level) \(Self.escaped(label)):\(shown) [\(Self.escaped(event.source))] \(Self.escaped(event.message.description))\n"
    }

    /// `text` with C0/C1 controls, DEL and the Unicode line separators written as escapes
    /// (`\n`, `\r`, `\t`, `\u{1B}`), so that it stays on one line and shows what was sent.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        return out
    }

    private static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || (0x7F...0x9F).contains(s.value) || s.value == 0x2028 || s.value == 0x2029
    }
}
