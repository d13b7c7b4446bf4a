import CRDT
import Testing
import TestSupport

@Suite(.ownThread) struct DeleteSetDifferenceTests {
    func ds(_ c: [ClientID: [(Clock, Clock)]]) -> DeleteSet {
        var d = DeleteSet()
        for (client, rs) in c { for (clock, len) in rs { d.add(client: client, clock: clock, length: len) } }
        d.normalize()
        return d
    }

    @Test func subtracting() {
        let a = ds([1: [(0, 10), (20, 5), (30, 1)], 2: [(5, 5)], 3: [(0, 2)]])
        let b = ds([1: [(2, 3), (8, 14), (30, 1)], 2: [(0, 100)], 4: [(0, 1)]])
        #expect(a.subtracting(b) == ds([1: [(0, 2), (5, 3), (22, 3)], 3: [(0, 2)]]))
        #expect(a.subtracting(DeleteSet()) == a)
        #expect(a.subtracting(a).isEmpty && a.subtracting(a).clients.isEmpty)
        #expect(DeleteSet().subtracting(a).isEmpty)
        // Cuts touching range ends, and one cut spanning several ranges.
        let c = ds([7: [(0, 3), (5, 3), (10, 3)]])
        #expect(c.subtracting(ds([7: [(1, 11)]])) == ds([7: [(0, 1), (12, 1)]]))
        #expect(c.subtracting(ds([7: [(3, 2), (8, 2)]])) == c)
    }

    @Test func subtractingMatchesIdsRandomly() {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var a = DeleteSet(), b = DeleteSet()
            for _ in 0..<Int.random(in: 0...6, using: &g) { a.add(client: 1, clock: Clock.random(in: 0..<60, using: &g), length: Clock.random(in: 1...8, using: &g)) }
            for _ in 0..<Int.random(in: 0...6, using: &g) { b.add(client: 1, clock: Clock.random(in: 0..<60, using: &g), length: Clock.random(in: 1...8, using: &g)) }
            a.normalize()
            b.normalize()
            let d = a.subtracting(b)
            for clock in Clock(0)..<80 {
                let id = ID(client: 1, clock: clock)
                #expect(d.contains(id) == (a.contains(id) && !b.contains(id)))
            }
            var n = d
            n.normalize()
            #expect(n == d)
        }
    }
}
