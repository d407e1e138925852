import Monitor
import Testing

@Suite struct ConditionLockTests {
    @Test func aWaitWhoseDeadlineHasPassedTimesOutAtOnce() {
        let lock = ConditionLock()
        let timedOut = lock.withLock { lock.wait(until: MonotonicClock().seconds() - 1) }
        #expect(timedOut)
    }

    @Test func aSignalWakesAWaiterLongBeforeItsDeadline() async throws {
        let lock = ConditionLock()
        let flag = Flag()
        let waiter = DedicatedThread(name: "test-waiter")
        defer { waiter.stop() }
        // A deadline no test run reaches: returning at all shows the signal woke it.
        let deadline = MonotonicClock().seconds() + 3600
        async let outcome = waiter.run {
            lock.withLock { () -> Bool in
                var timedOut = false
                while !flag.isSet && !timedOut { timedOut = lock.wait(until: deadline) }
                return timedOut
            }
        }
        lock.withLock {
            flag.set()
            lock.signal()
        }
        #expect(try await outcome == false)
    }

    /// A flag read and written under the test's lock.
    final class Flag: @unchecked Sendable {
        // @unchecked: only touched while holding the test's `ConditionLock`.
        private(set) var isSet = false
        func set() { isSet = true }
    }
}
