/// Small text helpers shared by ycli and ysync-bench (no Foundation formatting).

/// `x` with `digits` decimals, without Foundation's String(format:).
package func formatFixed(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return String(x) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let negative = x < 0
    let n = (abs(x) * scale).rounded()
    let whole = Int64(n / scale)
    var frac = String(Int64(n - Double(whole) * scale))
    if digits == 0 { return (negative ? "-" : "") + String(whole) }
    frac = String(repeating: "0", count: max(0, digits - frac.count)) + frac
    return (negative ? "-" : "") + "\(whole).\(frac)"
}

/// Aligned "label  value" lines.
package func table(_ rows: [(String, String)]) -> String {
    let width = rows.map { $0.0.count }.max() ?? 0
    return rows.map { $0.0 + String(repeating: " ", count: width - $0.0.count) + "  " + $0.1 }.joined(separator: "\n") + "\n"
}

/// "1 change", "2 changes" (or the given plural).
package func plural(_ n: Int, _ word: String, _ plural: String? = nil) -> String {
    "\(n) " + (n == 1 ? word : (plural ?? word + "s"))
}

/// The last path component of `path` (the path itself if it has none).
package func baseName(_ path: String) -> String {
    path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
}
