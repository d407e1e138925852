import Logging
import ServiceLifecycle
import Synchronization

/// A check ready to be scheduled: its configuration and the instance that runs it.
public struct ScheduledCheck: Sendable {
    public var config: CheckConfig
    public var check: any Check
    /// Hard deadline for one run, in seconds: the check's `timeout` (or its period) plus a
    /// grace period, after which the run is cancelled and reported as a failure.
    public var hardTimeout: Double

    public init(config: CheckConfig, check: any Check) {
        self.config = config
        self.check = check
        self.hardTimeout = (config.options.double("timeout") ?? max(config.sleep, 30)) + 5
    }
}

/// Receives scheduling figures (for benchmarks and metrics).
public protocol SchedulerObserver: Sendable {
    /// A run of `key` started `lag` seconds after its planned start.
    func runStarted(key: String, lag: Double)
    /// A run of `key` ended after an overrun of its period.
    func overran(key: String)
}

/// Runs every check on its own fixed-rate timetable, forever, and routes each result.
///
/// Each check is one child task that waits until its planned start, runs, and plans the next
/// start, so thousands of checks share the cooperative thread pool with no thread per check, and
/// a check that hangs until its timeout delays nothing but itself. All waits (planned starts and
/// hard deadlines) share one `TimerQueue`, so 10,000 runs a second cost no system timer each.
/// On graceful shutdown the scheduler stops: runs in progress are cancelled and their results
/// discarded.
public struct Scheduler<C: Clock>: Service where C.Duration == Duration {
    public let checks: [ScheduledCheck]
    public let router: ResultRouter
    public let host: String
    public let clock: C
    public let observer: (any SchedulerObserver)?
    private let logger: Logger
    /// Every wait of `run()`: planned starts and hard deadlines. Its origin is the scheduler's
    /// creation; the first runs are planned relative to `run()`'s start.
    let timers: TimerQueue<C>

    public init(
        checks: [ScheduledCheck], router: ResultRouter, host: String, clock: C,
        observer: (any SchedulerObserver)? = nil, logger: Logger
    ) {
        self.checks = checks
        self.router = router
        self.host = host
        self.clock = clock
        self.observer = observer
        self.logger = logger
        self.timers = TimerQueue(clock: clock, origin: clock.now)
    }

    public func run() async throws {
        let timers = self.timers
        let start = timers.offset(of: clock.now)
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await timers.run() }
                await withDiscardingTaskGroup { checksGroup in
                    for (index, scheduled) in checks.enumerated() {
                        let offset = RunSchedule.firstOffset(index: index, count: checks.count, period: scheduled.config.sleep)
                        checksGroup.addTask { await loop(scheduled, timers: timers, offset: offset + Double(start) / 1e9) }
                    }
                }
                // The check loops only end on cancellation; stop the driver with them.
                group.cancelAll()
            }
        }
        // Results the intake log still holds reach the queues before the notifiers drain them.
        await router.flush()
        logger.info("scheduler stopped")
    }

    private func seconds(since origin: C.Instant) -> Double {
        let d = origin.duration(to: clock.now).components
        return Double(d.seconds) + Double(d.attoseconds) * 1e-18
    }

    private func loop(_ scheduled: ScheduledCheck, timers: TimerQueue<C>, offset: Double) async {
        var schedule = RunSchedule(period: scheduled.config.sleep, first: offset)
        var wake = offset
        while !Task.isCancelled {
            guard await timers.sleep(until: Int64((wake * 1e9).rounded())) else { return }
            let lag = schedule.begin(at: seconds(since: timers.origin))
            observer?.runStarted(key: scheduled.config.key, lag: lag)
            guard let result = await execute(scheduled, timers: timers) else { return }
            router.route(result)
            let previousOverruns = schedule.overruns
            wake = schedule.end(at: seconds(since: timers.origin))
            if schedule.overruns > previousOverruns {
                observer?.overran(key: scheduled.config.key)
                logger.warning(
                    "check overran its period; next run starts at once",
                    metadata: [
                        "check": "\(scheduled.config.key)", "elapsed": "\(result.elapsed)s",
                        "sleep": "\(scheduled.config.sleep)s", "overruns": "\(schedule.overruns)",
                    ])
            }
        }
    }

    /// Runs a check once under its hard deadline; `nil` when cancelled (shutdown).
    public func execute(_ scheduled: ScheduledCheck) async -> CheckResult? {
        let timers = TimerQueue(clock: clock, origin: clock.now)
        return await withTaskGroup(of: Void.self) { group in
            group.addTask { await timers.run() }
            let result = await execute(scheduled, timers: timers)
            group.cancelAll()
            return result
        }
    }

    /// Runs a check once, its hard deadline kept by `timers`; `nil` when cancelled (shutdown).
    func execute(_ scheduled: ScheduledCheck, timers: TimerQueue<C>) async -> CheckResult? {
        let createdMillis = WallClock.nowMillis()
        // Elapsed time is read on the scheduler's clock, the one its deadlines are kept on.
        let start = clock.now
        let check = scheduled.check
        let hardTimeout = scheduled.hardTimeout
        let deadline = timers.offset(of: clock.now) + Int64((hardTimeout * 1e9).rounded())
        let outcome: CheckOutcome? = await withTaskGroup(of: CheckOutcome?.self) { group in
            group.addTask { await check.run() }
            group.addTask {
                guard await timers.sleep(until: deadline) else { return nil }
                return .failure("did not finish within \(JSONValue.format(hardTimeout)) s; cancelled")
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let outcome, !Task.isCancelled else { return nil }
        let elapsed = start.duration(to: clock.now).components
        return CheckResult(
            id: ResultID.next(millis: createdMillis), status: outcome.status, check: scheduled.config.type,
            label: scheduled.config.label, message: outcome.message, measurement: outcome.measurement,
            createdMillis: Int64(createdMillis),
            elapsed: Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18,
            config: scheduled.config.maskedConfig, host: host)
    }
}

/// How service-lifecycle logs the service (its default would print every check's options).
extension Scheduler: CustomStringConvertible {
    public var description: String { "Scheduler(checks: \(checks.count))" }
}
