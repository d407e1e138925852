import Logging
import Testing

@testable import Monitor

/// Records when (on the test's clock) each check started and how many ran at once.
final class RunLog: Sendable {
    private let starts = Locked<[String: [Double]]>([:])
    private let running = Locked<[String: Int]>([:])
    private let maxRunning = Locked<[String: Int]>([:])

    func start(_ key: String, at time: Double) {
        starts.withLock { $0[key, default: []].append(time) }
        running.withLock { r in
            r[key, default: 0] += 1
            let now = r[key]!
            maxRunning.withLock { $0[key] = max($0[key] ?? 0, now) }
        }
    }

    func end(_ key: String) { running.withLock { $0[key, default: 0] -= 1 } }
    func starts(_ key: String) -> [Double] { starts.withLock { $0[key] ?? [] } }
    func maxConcurrent(_ key: String) -> Int { maxRunning.withLock { $0[key] ?? 0 } }
}

/// A check that logs its start (on `clock`) and then takes `duration` of real time; with
/// `atOnce`, it ends in `start()` (as a loopback `hostport` does) and `run()` is never awaited.
struct LoggedCheck<C: Clock>: Check where C.Duration == Duration {
    var key: String
    var log: RunLog
    var clock: C
    var origin: C.Instant
    var duration: Duration = .zero
    var status: Status = .success
    var atOnce = false

    func run() async -> CheckOutcome {
        logStart()
        if duration > .zero { try? await Task.sleep(for: duration) }
        log.end(key)
        return CheckOutcome(status: status, message: "ran")
    }

    func start() -> CheckStart {
        guard atOnce else { return .pending(run) }
        logStart()
        log.end(key)
        return .finished(CheckOutcome(status: status, message: "ran at once"))
    }

    private func logStart() {
        let elapsed = origin.duration(to: clock.now).components
        log.start(key, at: Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18)
    }
}

/// Each run's `finish`, kept for the test to call.
final class Finishes: Sendable {
    private let all = Locked<[@Sendable (CheckOutcome) -> Void]>([])
    func append(_ finish: @escaping @Sendable (CheckOutcome) -> Void) { all.withLock { $0.append(finish) } }
    var count: Int { all.withLock { $0.count } }
    subscript(index: Int) -> @Sendable (CheckOutcome) -> Void { all.withLock { $0[index] } }
}

/// A check that goes on without a task and keeps each run's `finish` for the test to call.
struct LaterCheck: Check {
    let finishes: Finishes

    func run() async -> CheckOutcome { await start().outcome() }

    func start() -> CheckStart {
        .later { [finishes] finish in finishes.append(finish) }
    }
}

func checkConfig(_ label: String, sleep: Double, timeout: Double? = nil) -> CheckConfig {
    var values: [String: JSONValue] = ["sleep": .double(sleep)]
    if let timeout { values["timeout"] = .double(timeout) }
    return CheckConfig(type: "sample", label: label, sleep: sleep, threshold: nil, options: Options(values), maskedConfig: [:])
}

@Suite struct SchedulerTests {
    let logger = Logger(label: "test")

    /// A channel that queues every result (`report: always`), for the test to read.
    private func alwaysChannel() -> NotifierChannel {
        NotifierChannel(
            config: notifierConfig(report: .always), notifier: RecordingNotifier(),
            policies: PolicyBook(basePolicy: ReportPolicy(mode: .always, threshold: 1), file: nil), logger: logger)
    }

    /// With timer slack (2 % of 10 s: 200 ms), a check planned 1 ms after another starts with it,
    /// early, and so do its next runs: one wake-up for both. The timetable stays on its grid.
    @Test func timerSlackStartsACheckEarlyWithAnother() async throws {
        let clock = ManualClock()
        let log = RunLog()
        let channel = alwaysChannel()
        let router = ResultRouter(channels: [channel], logger: logger)
        let checks = ["a", "b"].map { label in
            ScheduledCheck(config: checkConfig(label, sleep: 10), check: LoggedCheck(key: label, log: log, clock: clock, origin: clock.now))
        }
        let scheduler = Scheduler(checks: checks, router: router, host: "test-host", clock: clock, timerSlack: 0.02, logger: logger)
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }
        for round in 1...3 {
            // Both runs planned and the driver asleep for them: only a deadline wakes it now.
            #expect(await eventually { channel.queue.count == 2 * round && scheduler.timers.pendingCount == 2 && clock.sleeperCount == 1 })
            clock.advance(seconds: 9.9)
            try await Task.sleep(for: .milliseconds(5))
            #expect(channel.queue.count == 2 * round, "ran before its deadline")
            clock.advance(seconds: 0.1)
            #expect(await eventually { channel.queue.count == 2 * round + 2 })
        }
        #expect(log.starts("a") == [0, 10, 20, 30])
        #expect(log.starts("b") == [0, 10, 20, 30], "b (planned at 0.001 + 10k s) starts with a, 1 ms early")
    }

    /// Four checks on one fixed-rate timetable; with `someAtOnce`, two of them end in `start()`
    /// on the timer driver (no task) and keep the same timetable, ids and order as the others.
    @Test(arguments: [false, true]) func runsOnAFixedRateWithAnInjectedClock(someAtOnce: Bool) async throws {
        let clock = ManualClock()
        let log = RunLog()
        let channel = alwaysChannel()
        let router = ResultRouter(channels: [channel], logger: logger)
        let labels = ["a", "b", "c", "d"]
        let atOnce: Set = someAtOnce ? ["b", "c"] : []
        let checks = labels.map { label in
            ScheduledCheck(
                config: checkConfig(label, sleep: 10),
                check: LoggedCheck(key: label, log: log, clock: clock, origin: clock.now, atOnce: atOnce.contains(label)))
        }
        let scheduler = Scheduler(checks: checks, router: router, host: "test-host", clock: clock, logger: logger)
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }

        // At time 0 check a has run and every check waits in the scheduler's timer queue, whose
        // driver sleeps on the injected clock. Check i is planned at i ms (1 ms apart), then every
        // 10 s exactly: the clock goes to just before each planned start (nothing new runs), then
        // to it (one more result).
        #expect(await eventually { log.starts("a").count == 1 && scheduler.timers.pendingCount == 4 && clock.sleeperCount == 1 })
        let planned = (0..<4).flatMap { round in labels.indices.map { Double($0) * RunSchedule.firstSpacing + Double(round) * 10 } }.sorted()
        var now = 0.0
        for (done, start) in planned.enumerated().dropFirst() {
            clock.advance(seconds: start - 0.0004 - now)
            try await Task.sleep(for: .milliseconds(2))
            #expect(channel.queue.count == done, "ran before \(start) s")
            clock.advance(seconds: 0.0004)
            now = start
            #expect(await eventually { channel.queue.count == done + 1 })
        }
        for (i, label) in labels.enumerated() {
            let offset = Double(i) * RunSchedule.firstSpacing
            let starts = log.starts(label)
            #expect(starts.count == 4)
            #expect(zip(starts, [offset, offset + 10, offset + 20, offset + 30]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(label): \(starts)")
        }
        let results = await channel.queue.next(max: 100).map(\.result)
        #expect(results.count == 16)
        #expect(results.allSatisfy { $0.host == "test-host" && $0.check == "sample" && $0.status == .success })
        #expect(Set(results.map(\.id)).count == 16)
        #expect(results.map(\.id) == results.map(\.id).sorted())
        #expect(results.map(\.label) == (0..<4).flatMap { _ in labels })
        #expect(results.map(\.message) == results.map { atOnce.contains($0.label) ? "ran at once" : "ran" })
    }

    /// A check that goes on without a task (`.later`) and never finishes ends as a failure at
    /// its hard deadline, and still runs again on its timetable; its late `finish` is ignored.
    @Test func aLaterRunThatNeverFinishesEndsAtItsHardDeadline() async throws {
        let clock = ManualClock()
        let finishes = Finishes()
        let channel = alwaysChannel()
        var scheduled = ScheduledCheck(config: checkConfig("stuck", sleep: 10), check: LaterCheck(finishes: finishes))
        scheduled.hardTimeout = 0.1
        let scheduler = Scheduler(
            checks: [scheduled], router: ResultRouter(channels: [channel], logger: logger), host: "h", clock: clock, logger: logger)
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }
        #expect(await eventually { finishes.count == 1 && clock.sleeperCount == 1 })
        clock.advance(by: .milliseconds(99))
        #expect(await eventually { clock.sleeperCount == 1 })
        #expect(channel.queue.count == 0, "ended before its hard deadline")
        clock.advance(by: .milliseconds(1))
        #expect(await eventually { channel.queue.count == 1 })
        // Too late: ignored.
        finishes[0](.success("late"))
        clock.advance(by: .milliseconds(9_900))
        #expect(await eventually { finishes.count == 2 })
        finishes[1](.success("in time"))
        #expect(await eventually { channel.queue.count == 2 })
        let results = await channel.queue.next(max: 10).map(\.result)
        #expect(results.map(\.status) == [.failure, .success])
        #expect(results.map(\.message) == ["did not finish within 0.1 s", "in time"])
    }

    /// On an injected clock: the run ends as a failure exactly at its hard deadline, not before,
    /// and its elapsed time is measured on the scheduler's clock.
    @Test func aRunPastItsHardTimeoutIsAFailure() async {
        let clock = ManualClock()
        var config = checkConfig("stuck", sleep: 60, timeout: 0.05)
        config.options.values["timeout"] = .double(0.05)
        var scheduled = ScheduledCheck(config: config, check: FixedCheck(outcome: .success("never"), delay: .seconds(3600)))
        scheduled.hardTimeout = 0.1
        let scheduler = Scheduler(
            checks: [scheduled], router: ResultRouter(channels: [], logger: logger), host: "h", clock: clock, logger: logger)
        let finished = Locked(false)
        let run = Task {
            let result = await scheduler.execute(scheduled)
            finished.withLock { $0 = true }
            return result
        }
        // The deadline's timer driver sleeps on the clock.
        #expect(await eventually { clock.sleeperCount == 1 })
        clock.advance(by: .milliseconds(99))
        #expect(await eventually { clock.sleeperCount == 1 })
        #expect(!finished.withLock { $0 }, "ended before its deadline")
        clock.advance(by: .milliseconds(1))
        let result = await run.value
        #expect(result?.status == .failure)
        #expect(result?.message == "did not finish within 0.1 s; cancelled")
        #expect(abs((result?.elapsed ?? 0) - 0.1) < 1e-9, "elapsed \(result?.elapsed ?? 0)")
    }
}

func notifierConfig(
    name: String = "test", report: ReportMode, threshold: Int = 1, queueSize: Int = 10000, overflow: OverflowPolicy = .dropOldest,
    retries: Int = 0, batchSize: Int = 100
) -> NotifierConfig {
    NotifierConfig(
        name: name, type: "test", report: report, threshold: threshold, resolved: false, repeatInterval: nil,
        queueSize: queueSize, overflow: overflow, retries: retries, batchSize: batchSize, options: Options([:]))
}

extension RealTimeTests {
    @Suite struct SchedulerTimingTests {
        let logger = Logger(label: "test")

        @Test func aHangingCheckDelaysNoOtherAndNoCheckOverlapsItself() async throws {
            let clock = ContinuousClock()
            let origin = clock.now
            let log = RunLog()
            let channel = NotifierChannel(
                config: notifierConfig(report: .always), notifier: RecordingNotifier(),
                policies: PolicyBook(basePolicy: ReportPolicy(mode: .always, threshold: 1), file: nil), logger: logger)
            let checks = [
                ScheduledCheck(config: checkConfig("hang", sleep: 0.05, timeout: 30), check: LoggedCheck(key: "hang", log: log, clock: clock, origin: origin, duration: .seconds(30))),
                ScheduledCheck(config: checkConfig("slow", sleep: 0.05), check: LoggedCheck(key: "slow", log: log, clock: clock, origin: origin, duration: .milliseconds(120))),
                ScheduledCheck(config: checkConfig("fast", sleep: 0.05), check: LoggedCheck(key: "fast", log: log, clock: clock, origin: origin)),
            ]
            let scheduler = Scheduler(
                checks: checks, router: ResultRouter(channels: [channel], logger: logger), host: "h", clock: clock, logger: logger)
            let task = Task { try await scheduler.run() }
            // The exact grid is asserted on the injected clock (SchedulerTests); in real time, only
            // causality: the fast and slow checks go on running while the hung one has not ended
            // (it sleeps 30 s), and the slow one (120 ms per run) never overlaps itself.
            let progressed = await eventually(within: 25) { log.starts("fast").count >= 10 && log.starts("slow").count >= 4 }
            task.cancel()
            _ = try? await task.value

            #expect(progressed, "fast: \(log.starts("fast").count) runs, slow: \(log.starts("slow").count) runs")
            #expect(log.starts("hang").count == 1)
            #expect(log.maxConcurrent("hang") == 1)
            #expect(log.maxConcurrent("slow") == 1)
            let slow = log.starts("slow")
            for (a, b) in zip(slow, slow.dropFirst()) { #expect(b - a >= 0.119, "a run started before the previous one ended") }
        }
    }
}
