import Logging
import Synchronization
import Testing

@testable import Monitor

@Suite struct SchedulerTests {
    struct SlowCheck: Check {
        func run() async -> CheckOutcome {
            try? await Task.sleep(for: .seconds(30))
            return .success("finished")
        }
    }

    final class CountingCheck: Check {
        let runs = Mutex(0)

        func run() async -> CheckOutcome {
            runs.withLock { $0 += 1 }
            return .success("ok")
        }
    }

    func scheduled(_ check: any Check, sleep: Double, hardTimeout: Double) -> ScheduledCheck {
        let options = Options([:], path: "checks.test.x")
        var scheduled = ScheduledCheck(
            config: CheckConfig(type: "test", label: "x", sleep: sleep, threshold: nil, options: options, maskedConfig: [:]),
            check: check)
        scheduled.hardTimeout = hardTimeout
        return scheduled
    }

    func scheduler(_ checks: [ScheduledCheck], observer: (any SchedulerObserver)? = nil) -> Scheduler<ContinuousClock> {
        Scheduler(
            checks: checks, router: ResultRouter(channels: [], logger: Logger(label: "test")), host: "test",
            clock: ContinuousClock(), observer: observer, logger: Logger(label: "test"))
    }

    @Test func hardTimeoutCancelsTheRun() async throws {
        let start = ContinuousClock.now
        let result = try #require(await scheduler([]).execute(scheduled(SlowCheck(), sleep: 60, hardTimeout: 0.2)))
        #expect(result.status == .failure)
        #expect(result.message == "did not finish within 0.2 s; cancelled")
        #expect(start.duration(to: .now) < .seconds(2))
    }

    final class Lags: SchedulerObserver {
        let lags = Mutex<[Double]>([])
        func runStarted(key: String, lag: Double) { lags.withLock { $0.append(lag) } }
        func overran(key: String) {}
    }

    /// Two checks every 50 ms for half a second: about ten runs each, started on time.
    @Test func runsOnTheFixedRateGrid() async throws {
        let a = CountingCheck()
        let b = CountingCheck()
        let lags = Lags()
        let scheduler = scheduler(
            [scheduled(a, sleep: 0.05, hardTimeout: 5), scheduled(b, sleep: 0.05, hardTimeout: 5)], observer: lags)
        let task = Task { try await scheduler.run() }
        try await Task.sleep(for: .milliseconds(510))
        task.cancel()
        try await task.value
        for runs in [a.runs.withLock { $0 }, b.runs.withLock { $0 }] { #expect((9...11).contains(runs), "\(runs) runs") }
        let worst = lags.lags.withLock { $0 }.max() ?? 1
        // Generous: other suites load the two shared cores meanwhile.
        #expect(worst < 0.1, "worst lag \(worst) s")
    }
}
