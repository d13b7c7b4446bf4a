// Prometheus text exposition format 0.0.4 (served with
// `Content-Type: text/plain; version=0.0.4; charset=utf-8`):
//
//   # HELP name help text
//   # TYPE name counter
//   name{label="value"} 42
//
// Only counters and gauges: the server keeps plain numbers, no histograms.

/// The TYPE of a metric family.
public enum MetricType: String, Sendable, Equatable {
    case counter, gauge
}

/// One line of a family: its labels (in the order given) and value.
public struct MetricSample: Sendable, Equatable {
    /// Label names and values, written in this order.
    public var labels: [(name: String, value: String)]
    /// The sample's value.
    public var value: Double

    /// A sample from (name, value) label pairs.
    public init(labels: [(String, String)] = [], value: Double) {
        self.labels = labels.map { (name: $0.0, value: $0.1) }
        self.value = value
    }

    /// Equal labels in the same order and the same value bits (so NaN equals NaN).
    public static func == (a: MetricSample, b: MetricSample) -> Bool {
        a.value.bitPattern == b.value.bitPattern && a.labels.count == b.labels.count
            && zip(a.labels, b.labels).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// A metric name with its HELP, TYPE and samples.
public struct MetricFamily: Sendable, Equatable {
    /// The metric name (made valid when rendered).
    public var name: String
    /// The HELP text.
    public var help: String
    /// Counter or gauge.
    public var type: MetricType
    /// The family's lines.
    public var samples: [MetricSample]

    /// A family with the given samples.
    public init(name: String, help: String, type: MetricType, samples: [MetricSample]) {
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
    }

    /// A family with one unlabelled sample.
    public init(name: String, help: String, type: MetricType, value: Double) {
        self.init(name: name, help: help, type: type, samples: [MetricSample(value: value)])
    }
}

/// Renders metric families as Prometheus text.
public enum ServerMetrics {
    /// The Content-Type of `render`'s output.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The exposition text of `families`, in order; every line ends with "\n" ("" for no families).
    /// Names are made valid by replacing disallowed characters with "_" (scrapes must never fail
    /// on a name); label values and HELP are escaped per the format.
    public static func render(_ families: [MetricFamily]) -> String {
        var out = ""
        for family in families {
            let name = sanitize(family.name, allowColon: true)
            out += "# HELP \(name) \(escapeHelp(family.help))\n"
            out += "# TYPE \(name) \(family.type.rawValue)\n"
            for sample in family.samples {
                out += name
                if !sample.labels.isEmpty {
                    out += "{"
                    out += sample.labels.map { "\(sanitize($0.name, allowColon: false))=\"\(escapeLabelValue($0.value))\"" }
                        .joined(separator: ",")
                    out += "}"
                }
                out += " \(formatValue(sample.value))\n"
            }
        }
        return out
    }

    /// HELP text: backslash and newline are escaped (quotes are not, per the format).
    public static func escapeHelp(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Label values: backslash, double quote and newline are escaped.
    public static func escapeLabelValue(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Integral values as plain integers (no exponent, no ".0"), others in Swift's shortest
    /// round-trip form (which Prometheus' Go float parser reads), and +Inf / -Inf / NaN as the
    /// format spells them.
    public static func formatValue(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        // 2^63 is exactly representable; below it Int64 conversion is exact for integral doubles.
        if v == v.rounded(), abs(v) < 9_223_372_036_854_775_808.0 { return String(Int64(v)) }
        return v.description
    }

    /// Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names: [a-zA-Z_][a-zA-Z0-9_]*.
    static func sanitize(_ name: String, allowColon: Bool) -> String {
        if name.isEmpty { return "_" }
        var out = ""
        for (i, c) in name.unicodeScalars.enumerated() {
            let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || (allowColon && c == ":")
                || (i > 0 && c >= "0" && c <= "9")
            out += ok ? String(c) : "_"
        }
        return out
    }
}
