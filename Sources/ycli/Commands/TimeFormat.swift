import CLISupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ISO-8601 times for the journal commands: written in UTC with milliseconds, read in the
/// common forms (see `parse`). No Foundation: plain `timegm`/`mktime`.
enum ISOTime {
    /// "2024-05-01T12:34:56.789Z" for unix seconds `t`.
    static func format(_ t: Double) -> String {
        var secs = time_t(t.rounded(.down))
        var ms = Int(((t - Double(secs)) * 1000).rounded())
        if ms >= 1000 {
            secs += 1
            ms -= 1000
        }
        var parts = tm()
        gmtime_r(&secs, &parts)
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(ms, 3) + "Z"
    }

    private static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Unix seconds of an ISO-8601 time, or nil when `s` is not one. Accepted:
    /// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH:MM:SS`, `YYYY-MM-DDTHH:MM:SS.fff`
    /// (a space may replace the `T`), each followed by `Z`, `±HH:MM`, `±HHMM` or `±HH`; without a
    /// zone the time is local time. `@SECONDS` gives unix seconds directly.
    static func parse(_ s: String) -> Double? {
        if s.hasPrefix("@") {
            guard let v = Double(s.dropFirst()), v.isFinite else { return nil }
            return v
        }
        let c = Array(s.utf8)
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= c.count else { return nil }
            var v = 0
            for k in 0..<n {
                let d = c[i + k]
                guard d >= 0x30 && d <= 0x39 else { return nil }
                v = v * 10 + Int(d - 0x30)
            }
            i += n
            return v
        }
        func take(_ ch: UInt8) -> Bool {
            if i < c.count && c[i] == ch {
                i += 1
                return true
            }
            return false
        }
        guard let year = digits(4), take(0x2D), let month = digits(2), take(0x2D), let day = digits(2) else { return nil }
        var hour = 0, minute = 0, second = 0
        var fraction = 0.0
        if i < c.count && (c[i] == 0x54 || c[i] == 0x74 || c[i] == 0x20) {  // T, t or space
            i += 1
            guard let h = digits(2), take(0x3A), let m = digits(2) else { return nil }
            hour = h
            minute = m
            if take(0x3A) {
                guard let sec = digits(2) else { return nil }
                second = sec
                if take(0x2E) || take(0x2C) {
                    var scale = 0.1
                    var any = false
                    while i < c.count, c[i] >= 0x30 && c[i] <= 0x39 {
                        fraction += Double(c[i] - 0x30) * scale
                        scale /= 10
                        i += 1
                        any = true
                    }
                    if !any { return nil }
                }
            }
        }
        var offset: Int?  // seconds east of UTC
        if take(0x5A) || take(0x7A) {  // Z
            offset = 0
        } else if i < c.count && (c[i] == 0x2B || c[i] == 0x2D) {
            let sign = c[i] == 0x2D ? -1 : 1
            i += 1
            guard let oh = digits(2) else { return nil }
            var om = 0
            if take(0x3A) {
                guard let m = digits(2) else { return nil }
                om = m
            } else if i < c.count {
                guard let m = digits(2) else { return nil }
                om = m
            }
            guard oh <= 23, om <= 59 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        }
        guard i == c.count else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour <= 24, minute <= 59, second <= 60 else { return nil }
        if hour == 24 && (minute != 0 || second != 0 || fraction != 0) { return nil }

        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let base: time_t
        var back: time_t
        var check = tm()
        if let offset {
            base = timegm(&parts) - time_t(offset)
            back = base + time_t(offset)
            gmtime_r(&back, &check)
        } else {
            parts.tm_isdst = -1
            base = mktime(&parts)
            back = base
            localtime_r(&back, &check)
        }
        // Reject dates that do not exist (2024-02-31 would otherwise become March 2).
        if hour != 24 && (Int(check.tm_mday) != day || Int(check.tm_mon) != month - 1) { return nil }
        return Double(base) + fraction
    }
}
