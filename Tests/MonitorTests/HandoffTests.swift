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

    /// A consumer waiting on something else (a socket) is woken once by the next push or
    /// `wake()`, and is told not to wait when items are there already.
    @Test func anArmedWakeFiresOnceOnTheNextPushOrWakeAndNotWhenItemsWait() {
        let handoff = Handoff<Int>()
        let fired = FireCount()
        let action: @Sendable () -> Void = { fired.add() }

        #expect(handoff.armWake(action))
        #expect(fired.value == 0)
        handoff.push([1])
        #expect(fired.value == 1)
        handoff.push(one: 2)
        #expect(fired.value == 1, "one push fires it, and disarms it")

        #expect(!handoff.armWake(action), "items wait: take them instead of waiting")
        handoff.push([3])
        #expect(fired.value == 1)
        #expect(handoff.take() == [1, 2, 3])

        #expect(handoff.armWake(action))
        handoff.push([])
        #expect(fired.value == 1, "an empty push brings nothing to wake for")
        handoff.push(one: 4)
        #expect(fired.value == 2)
        _ = handoff.take()

        #expect(handoff.armWake(action))
        handoff.wake()
        #expect(fired.value == 3, "a stop request wakes it too")

        #expect(handoff.armWake(action))
        handoff.disarmWake()
        handoff.push([5])
        #expect(fired.value == 3, "disarmed: nothing fires")
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

    @Test func aCountedPauseEndsWhenThatManyItemsWaitNotBefore() async throws {
        let clock = ManualClock()
        let handoff = Handoff<Int>(clock: clock)
        let thread = DedicatedThread(name: "test-handoff")
        defer { thread.stop() }
        async let first: Bool = thread.run { handoff.pause(seconds: 60, orCount: 3) }
        #expect(await eventually { clock.blockedThreads == 1 })
        handoff.push(one: 1)
        handoff.push([2])
        try await Task.sleep(for: .milliseconds(50))
        #expect(clock.blockedThreads == 1, "2 of 3 items: still paused")
        handoff.push([3, 4])
        #expect(try await first == false, "ended by the count, not by wake()")
        #expect(handoff.take() == [1, 2, 3, 4])

        // Woken: reported as such; a plain pause is not ended by items.
        async let second: Bool = thread.run { handoff.pause(seconds: 60, orCount: 2) }
        #expect(await eventually { clock.blockedThreads == 1 })
        handoff.wake()
        #expect(try await second == true)
        async let third: Void = thread.run { handoff.pause(seconds: 5) }
        #expect(await eventually { clock.blockedThreads == 1 })
        handoff.push([5, 6, 7])
        try await Task.sleep(for: .milliseconds(50))
        #expect(clock.blockedThreads == 1, "a pause without a count ignores items")
        clock.advance(seconds: 5)
        try await third
    }
}

/// How often an armed action ran.
private final class FireCount: Sendable {
    private let count = Locked(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
