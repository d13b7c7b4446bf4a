@testable import RoomHost
import Testing

/// The autosave schedule on a fake clock: debounce after the last change, a cap after the first.
@Suite struct AutosaveScheduleTests {
    @Test func aSaveIsDueADebounceAfterTheLastChange() {
        var s = AutosaveSchedule(debounce: 2, maxDelay: 10)
        #expect(s.due == nil)
        s.changed(now: 1)
        #expect(s.due == 3)
        s.changed(now: 2.5)
        #expect(s.due == 4.5)
    }

    @Test func aStreamOfChangesIsSavedAtTheCap() {
        var s = AutosaveSchedule(debounce: 2, maxDelay: 10)
        for t in stride(from: 0.0, through: 20, by: 1) { s.changed(now: t) }
        #expect(s.due == 10)
        #expect(s.begin() == 0)
        #expect(s.due == nil)
    }

    /// A failed save keeps the changes unsaved but waits for the next change (no retry loop).
    @Test func aFailedSaveWaitsForTheNextChange() {
        var s = AutosaveSchedule(debounce: 2, maxDelay: 10)
        s.changed(now: 1)
        let since = s.begin()
        #expect(since == 1)
        s.failed(since: since!)
        #expect(s.due == nil)
        #expect(s.dirtySince == 1)
        s.changed(now: 5)
        #expect(s.due == 7)
        // persist() saves even while waiting: begin hands back the oldest unsaved change.
        #expect(s.begin() == 1)
    }
}
