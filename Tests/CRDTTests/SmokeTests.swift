import Testing
@testable import CRDT
@Test func smoke() { #expect(ID(client: 1, clock: 2).clock == 2) }
