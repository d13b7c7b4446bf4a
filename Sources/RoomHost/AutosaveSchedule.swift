/// When a room writes back to the content store: `debounce` seconds after the last change, and
/// at most `maxDelay` after the first unsaved one. Sans-IO: the room passes its clock in.
struct AutosaveSchedule: Sendable, Equatable {
    let debounce: Double
    let maxDelay: Double
    /// When the oldest unsaved change happened (nil: everything saved).
    private(set) var dirtySince: Double?
    private var lastChange: Double = 0
    /// A save failed: wait for the next change (or an explicit persist) before trying again.
    private var waitingForChange = false

    init(debounce: Double, maxDelay: Double) {
        self.debounce = debounce
        self.maxDelay = maxDelay
    }

    /// The document changed at `now`.
    mutating func changed(now: Double) {
        if dirtySince == nil { dirtySince = now }
        lastChange = now
        waitingForChange = false
    }

    /// When the next save is due (nil: nothing to save, or waiting for a change after a failure).
    var due: Double? {
        guard let since = dirtySince, !waitingForChange else { return nil }
        return min(lastChange + debounce, since + maxDelay)
    }

    /// A save starts: returns the dirty mark to hand back to `failed` (nil: nothing to save).
    mutating func begin() -> Double? {
        defer { dirtySince = nil }
        return dirtySince
    }

    /// The save that `begin` started failed: still unsaved, retried after the next change.
    mutating func failed(since: Double) {
        dirtySince = min(since, dirtySince ?? since)
        waitingForChange = true
    }
}
