import Monitor
import Testing

@Suite struct HandoffTests {
    @Test func itemsAreTakenInPushOrderAndNumberedFromTheFirstPush() {
        let handoff = Handoff<Int>()
        handoff.push([1, 2])
        handoff.push([3])
        #expect(handoff.waiting(from: 1) == (1, [2, 3]))
        #expect(handoff.takeNumbered() == (0, [1, 2, 3]))
        handoff.push([4])
        #expect(handoff.takeNumbered() == (3, [4]))
        #expect(handoff.count == 0)
    }

    @Test func aTakeOfAtMostNItemsLeavesTheRestInOrder() {
        let handoff = Handoff<Int>()
        handoff.push(Array(0..<5))
        #expect(handoff.takeNumbered(max: 2) == (0, [0, 1], 3))
        handoff.push([5])
        #expect(handoff.takeNumbered(max: 3) == (2, [2, 3, 4], 1))
        #expect(handoff.waiting(from: 0) == (5, [5]))
        #expect(handoff.takeNumbered(max: 3) == (5, [5], 0))
        #expect(handoff.takeNumbered(max: 3) == (6, [], 0))
        handoff.push([6])
        #expect(handoff.takeNumbered() == (6, [6]))
    }

    @Test func aWaitEndsWhenItsClockPassesTheTimeoutOrWhenItemsArrive() async throws {
        let clock = ManualClock()
        let handoff = Handoff<Int>(clock: clock)
        let thread = DedicatedThread(name: "test-handoff")
        defer { thread.stop() }
        async let first: Void = thread.run { handoff.wait(seconds: 5) }
        #expect(await eventually { clock.blockedThreads == 1 })
        let waits = clock.threadWaits
        clock.advance(seconds: 4)
        #expect(await eventually { clock.threadWaits > waits }, "woke, saw 4 s < 5 s, waits again")
        clock.advance(seconds: 1)
        try await first

        async let second: Void = thread.run { handoff.wait(seconds: 5) }
        #expect(await eventually { clock.blockedThreads == 1 })
        handoff.push([7])
        try await second
        #expect(handoff.take() == [7])
    }
}
