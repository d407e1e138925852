#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import Monitor

/// What a test's actions did, in order.
private final class Calls: Sendable {
    let made = Locked<[Int]>([])
    func record(_ index: Int) { made.withLock { $0.append(index) } }
    var count: Int { made.withLock { $0.count } }
}

@Suite struct TimerQueueTests {
    /// On an injected clock: each action runs exactly when the clock passes its deadline, in
    /// deadline order, even when later-added actions are due before the one the driver waits for.
    @Test func actionsRunInDeadlineOrderAndOnTime() async {
        let clock = ManualClock()
        let timers = TimerQueue(clock: clock, origin: clock.now)
        let calls = Calls()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await timers.run() }
            // Added latest-first, so each new action is due before the one the driver waits for.
            for index in (1...5).reversed() {
                #expect(timers.schedule(at: Int64(index) * 40_000_000) { calls.record(index) } != nil)
                #expect(timers.pendingCount == 6 - index)
            }
            for step in 1...5 {
                clock.advance(by: .milliseconds(39))
                try? await Task.sleep(for: .milliseconds(20))
                #expect(calls.count == step - 1, "ran early at step \(step)")
                clock.advance(by: .milliseconds(1))
                #expect(await eventually { calls.count == step })
            }
            group.cancelAll()
        }
        #expect(calls.made.withLock { $0 } == [1, 2, 3, 4, 5])
    }

    /// An entry with an earliest start runs with another entry the driver wakes for, once its
    /// earliest start has come; the driver never wakes for it before its deadline. A cancelled
    /// entry's deadline wakes nothing, so the next live entry is not delayed by it.
    @Test func anEntryWithSlackRunsWithAnotherOnceItsEarliestStartHasCome() async {
        let clock = ManualClock()
        let timers = TimerQueue(clock: clock, origin: clock.now)
        let calls = Calls()
        let ms: Int64 = 1_000_000
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await timers.run() }
            timers.schedule(at: 100 * ms) { calls.record(1) }
            timers.schedule(at: 130 * ms, earliest: 95 * ms) { calls.record(2) }  // early with 1
            timers.schedule(at: 160 * ms, earliest: 101 * ms) { calls.record(3) }  // not yet at 100
            let cancelled = timers.schedule(at: 140 * ms) { calls.record(99) }
            timers.cancel(cancelled)
            // The driver asleep for entry 1, so that it wakes for nothing but a deadline.
            #expect(await eventually { clock.sleeperCount == 1 })
            clock.advance(by: .milliseconds(99))
            try? await Task.sleep(for: .milliseconds(20))
            #expect(calls.count == 0, "ran before any deadline")
            clock.advance(by: .milliseconds(1))
            #expect(await eventually { calls.count == 2 })
            #expect(calls.made.withLock { $0 } == [1, 2])
            // Past 3's earliest start and past the cancelled deadline: nothing wakes the driver.
            clock.advance(by: .milliseconds(59))
            try? await Task.sleep(for: .milliseconds(20))
            #expect(calls.count == 2, "the driver woke before a deadline")
            clock.advance(by: .milliseconds(1))
            #expect(await eventually { calls.count == 3 })
            group.cancelAll()
        }
        #expect(calls.made.withLock { $0 } == [1, 2, 3])
        #expect(timers.pendingCount == 0)
    }

    /// On the real clock (the driver is a thread): a batch of due actions from `sharedFrom` on
    /// is split with the helper thread; each action still runs exactly once. Causal, not timed:
    /// the 100 actions are all due at the same instant, so the driver takes them in one batch
    /// (queued before the driver starts, due 1 ms from now).
    @Test func aLargeBatchIsSharedWithTheHelperThread() async {
        let clock = ContinuousClock()
        let timers = TimerQueue(clock: clock, origin: clock.now)
        let ran = Locked<[Int: [UInt]]>([:])
        let deadline = timers.offset(of: clock.now) + 1_000_000
        for index in 0..<100 {
            timers.schedule(at: deadline) { ran.withLock { $0[index, default: []].append(UInt(pthread_self())) } }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await timers.run() }
            #expect(await eventually { ran.withLock { $0.count } == 100 })
            group.cancelAll()
        }
        let runs = ran.withLock { $0 }
        #expect(runs.keys.sorted() == Array(0..<100))
        #expect(runs.values.allSatisfy { $0.count == 1 }, "each action runs once")
        #expect(Set(runs.values.flatMap { $0 }).count == 2, "the driver and its helper thread share the batch")
        #expect(TimerQueue<ContinuousClock>.sharedFrom <= 100)
    }

    /// On the real clock (the driver is a thread): stopping the driver drops every waiting
    /// action, and a stopped queue takes no new one.
    @Test func stoppingTheDriverDropsEveryAction() async {
        let clock = ContinuousClock()
        let timers = TimerQueue(clock: clock, origin: clock.now)
        let calls = Calls()
        let driver = Task { await timers.run() }
        for index in 0..<10 { timers.schedule(at: 60_000_000_000) { calls.record(index) } }
        try? await Task.sleep(for: .milliseconds(20))
        driver.cancel()
        await driver.value
        #expect(timers.pendingCount == 0)
        #expect(timers.schedule(at: 0) { calls.record(99) } == nil, "a stopped queue takes no entry")
        #expect(calls.count == 0)
    }
}

extension RealTimeTests {
    @Suite struct TimerQueueTimingTests {
        /// A cancelled action leaves the queue at once and never runs; one due later still does.
        @Test func cancelledActionNeverRuns() async {
            let clock = ContinuousClock()
            let timers = TimerQueue(clock: clock, origin: clock.now)
            let calls = Calls()
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await timers.run() }
                let cancelled = timers.schedule(at: timers.offset(of: clock.now) + 50_000_000) { calls.record(1) }
                timers.schedule(at: timers.offset(of: clock.now) + 100_000_000) { calls.record(2) }
                timers.cancel(cancelled)
                #expect(timers.pendingCount == 1)
                #expect(await eventually { calls.count == 1 })
                group.cancelAll()
            }
            #expect(calls.made.withLock { $0 } == [2])
        }
    }
}
