import Synchronization
import Testing

@testable import Monitor

@Suite struct TimerQueueTests {
    /// On an injected clock: each sleeper wakes exactly when the clock passes its deadline, in
    /// deadline order, even when later-added sleepers are due before the one the driver waits for.
    @Test func sleepersWakeInDeadlineOrderAndOnTime() async {
        let clock = ManualClock()
        let timers = TimerQueue(clock: clock, origin: clock.now)
        final class Order: Sendable {
            let woken = Mutex<[Int]>([])
        }
        let order = Order()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await timers.run() }
            await withTaskGroup(of: Void.self) { sleepers in
                // Added latest-first, so each new sleeper is due before the one the driver waits for.
                for index in (1...5).reversed() {
                    sleepers.addTask {
                        let woke = await timers.sleep(until: Int64(index) * 40_000_000)
                        #expect(woke)
                        order.woken.withLock { $0.append(index) }
                    }
                    #expect(await eventually { timers.pendingCount == 6 - index })
                }
                for step in 1...5 {
                    clock.advance(by: .milliseconds(39))
                    try? await Task.sleep(for: .milliseconds(20))
                    #expect(order.woken.withLock { $0.count } == step - 1, "woke early at step \(step)")
                    clock.advance(by: .milliseconds(1))
                    #expect(await eventually { order.woken.withLock { $0.count } == step })
                }
            }
            group.cancelAll()
        }
        #expect(order.woken.withLock { $0 } == [1, 2, 3, 4, 5])
    }

    @Test func stoppingTheDriverReleasesEverySleeper() async {
        let clock = ContinuousClock()
        let timers = TimerQueue(clock: clock, origin: clock.now)
        let driver = Task { await timers.run() }
        let sleepers = (0..<10).map { _ in Task { await timers.sleep(until: 60_000_000_000) } }
        try? await Task.sleep(for: .milliseconds(20))
        driver.cancel()
        for sleeper in sleepers { #expect(await sleeper.value == false) }
        #expect(await timers.sleep(until: 0) == false, "a stopped queue does not wait")
    }
}

extension RealTimeTests {
    @Suite struct TimerQueueTimingTests {
        @Test func cancelledSleeperReturnsFalseAtOnce() async {
            let clock = ContinuousClock()
            let timers = TimerQueue(clock: clock, origin: clock.now)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await timers.run() }
                let sleeper = Task { await timers.sleep(until: 60_000_000_000) }
                try? await Task.sleep(for: .milliseconds(20))
                let start = ContinuousClock.now
                sleeper.cancel()
                #expect(await sleeper.value == false)
                // Far below the 60 s the sleep was for.
                #expect(start.duration(to: .now) < .seconds(10))
                group.cancelAll()
            }
        }
    }
}
