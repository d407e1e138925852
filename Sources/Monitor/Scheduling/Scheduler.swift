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

    /// What a run that reached its hard deadline failed with.
    var overtime: String { "did not finish within \(JSONValue.format(hardTimeout)) s" }
}

/// Runs checks elsewhere: the agents of a location of a distributed monitor (`Cluster`).
public protocol RemoteExecutor: Sendable {
    /// Asks the agents of `scheduled.config.location` to run `scheduled` now (planned start
    /// `dueMillis`, Unix ms). `completion` gets the agent's result, or `nil` when none came
    /// within `wait` seconds (no agent took the request before it expired, the broker was
    /// away): "no data", never up. It is called exactly once, on any thread.
    func submit(_ scheduled: ScheduledCheck, dueMillis: UInt64, wait: Double, completion: @escaping @Sendable (CheckResult?) -> Void)
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
/// A check waits as an entry of one `TimerQueue` (planned starts and hard deadlines alike), not
/// as a task. When due, the timer driver begins the run (`Check.start()`): a run that needs no
/// waiting (a loopback `hostport`) ends there, one that goes on without a task (a single ping, a
/// download) ends on the thread that completes it, and any other continues as a task of its
/// own; whichever ends the run routes the result and plans the next start. So 10,000 checks
/// cost no task and no system timer while they wait (measured: 9.0 KB of memory per configured
/// check with a waiting task each, 4.8 KB without), a check never overlaps itself (the next
/// start is planned when a run ends), and a check that hangs until its hard deadline delays
/// nothing but itself: at the deadline its run ends as a failure. On graceful shutdown the
/// scheduler stops: runs in progress are cancelled and their results discarded.
///
/// A class: every run's closures (its planned start, its end) capture the scheduler, and a
/// struct of ten members was copied into each of them (a retain and a release per member).
public final class Scheduler<C: Clock>: Service, Sendable where C.Duration == Duration {
    public let checks: [ScheduledCheck]
    public let router: ResultRouter
    public let host: String
    public let clock: C
    public let observer: (any SchedulerObserver)?
    private let logger: Logger
    /// Every wait of `run()`: planned starts and hard deadlines. Its origin is the scheduler's
    /// creation; the first runs are planned relative to `run()`'s start.
    let timers: TimerQueue<C>

    /// Where checks of other locations than `local` run.
    let remote: (any RemoteExecutor)?
    /// `settings.timer_slack`: the part of its period (at most 1 s) by which a run may start
    /// early, to share a wake-up of the timers with another run.
    public let timerSlack: Double

    public init(
        checks: [ScheduledCheck], router: ResultRouter, host: String, clock: C,
        observer: (any SchedulerObserver)? = nil, remote: (any RemoteExecutor)? = nil, timerSlack: Double = 0, logger: Logger
    ) {
        self.remote = remote
        self.timerSlack = timerSlack
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
        let slots = checks.enumerated().map { index, scheduled in
            let offset = RunSchedule.firstOffset(index: index, count: checks.count, period: scheduled.config.sleep)
            return CheckSlot(
                index: index, key: scheduled.config.key, schedule: RunSchedule(period: scheduled.config.sleep, first: offset + Double(start) / 1e9),
                slack: Self.slack(period: scheduled.config.sleep, fraction: timerSlack))
        }
        let runs = RunTracker()
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await timers.run() }
                for slot in slots {
                    self.plan(SlotRun(scheduler: self, slot: slot, runs: runs), at: Int64((slot.schedule.withLock(\.planned) * 1e9).rounded()))
                }
                // Until shutdown: the runs are tasks of their own, started by the timers.
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                // Runs in progress are cancelled, and waited for; no new one starts.
                for run in runs.stop(slots) { await run.value }
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

    /// Starts `slot`'s next run at `wake` (nanoseconds on the timers' time line), or up to its
    /// slack earlier when the timers wake for another entry then.
    private func plan(_ run: SlotRun<C>, at wake: Int64) {
        // A closure of one reference: no context of its own to allocate.
        timers.schedule(at: wake, earliest: wake - run.slot.slack) { run.begin() }
    }

    /// The slack of a check with `period`: `fraction` of it, at most 1 s (nanoseconds).
    static func slack(period: Double, fraction: Double) -> Int64 {
        Int64((min(period * fraction, 1) * 1e9).rounded())
    }

    /// Begins one run of `slot`'s check on the timer driver (`Check.start()`). A run that needs
    /// no waiting ends right here (no task, no hard deadline), and one that goes on without a
    /// task (`.later`: a ping's reply, a download) ends on the thread that finishes it, or at its
    /// hard deadline should it not: no hop to the cooperative threads either way. Otherwise the
    /// rest of the run is a task of its own under the hard deadline.
    fileprivate func begin(_ run: SlotRun<C>) {
        let (slot, runs) = (run.slot, run.runs)
        guard !runs.stopped else { return }
        let scheduled = checks[slot.index]
        let lag = slot.schedule.withLock { $0.begin(at: seconds(since: timers.origin)) }
        observer?.runStarted(key: slot.key, lag: lag)
        let createdMillis = WallClock.nowMillis()
        if scheduled.config.isRemote {
            // An agent's run: its result (or none, "no data") ends it. It may wait for an agent
            // for a period (the request's TTL), then run for the check's hard deadline.
            guard let remote else {
                end(run, with: nil)
                return
            }
            remote.submit(scheduled, dueMillis: createdMillis, wait: scheduled.config.sleep + scheduled.hardTimeout) { [self] result in
                end(run, with: result)
            }
            return
        }
        let start = clock.now
        switch scheduled.check.start() {
        case .finished(let outcome):
            end(run, with: result(of: scheduled, outcome, createdMillis: createdMillis, start: start))
        case .later(let begin):
            // The check ends itself by its timeout; the hard deadline is the safety net should it
            // not (whichever comes first ends the run, the other is ignored).
            let later = LaterRun(run: run, createdMillis: createdMillis, start: start)
            later.deadline.store(timers.schedule(at: hardDeadline(of: scheduled, from: start, on: timers)) { later.end(nil) } ?? 0, ordering: .releasing)
            begin { outcome in later.end(outcome) }
        case let started:
            runs.start(slot) { [self] in
                let result = await finish(scheduled, started, createdMillis: createdMillis, start: start, timers: timers) { runs.cancel(slot) }
                if let result { end(run, with: result) }
            }
        }
    }

    /// Ends a run of `slot`: routes its result (an agent's run may have none) and plans the next
    /// run. The next start is planned only when a run ends, so a check never overlaps itself,
    /// and a check that hangs until its deadline delays nothing but itself.
    fileprivate func end(_ run: SlotRun<C>, with result: CheckResult?) {
        let (slot, runs) = (run.slot, run.runs)
        guard !runs.stopped else { return }
        // A local run's result has the slot's key; an agent's result names its own location.
        if let result {
            if checks[slot.index].config.isRemote {
                router.route(result)
            } else {
                router.route(result, key: slot.key, position: slot.index)
            }
        }
        let (wake, overruns) = slot.schedule.withLock { schedule -> (Double, Int?) in
            let before = schedule.overruns
            let wake = schedule.end(at: seconds(since: timers.origin))
            return (wake, schedule.overruns > before ? schedule.overruns : nil)
        }
        if let overruns {
            let config = checks[slot.index].config
            observer?.overran(key: config.key)
            logger.warning(
                "check overran its period; next run starts at once",
                metadata: [
                    "check": "\(config.key)", "elapsed": "\(result.map { "\($0.elapsed)s" } ?? "no result")", "sleep": "\(config.sleep)s",
                    "overruns": "\(overruns)",
                ])
        }
        runs.finished(slot)
        plan(run, at: Int64((wake * 1e9).rounded()))
    }

    /// Runs a check once under its hard deadline; `nil` when cancelled (shutdown), or when an
    /// agent's run has no result.
    public func execute(_ scheduled: ScheduledCheck) async -> CheckResult? {
        if scheduled.config.isRemote {
            // An agent's run (`once` of a controller): its result, or none ("no data") when no
            // agent answered within a period and the check's hard deadline.
            guard let remote else { return nil }
            return await withCheckedContinuation { continuation in
                remote.submit(scheduled, dueMillis: WallClock.nowMillis(), wait: scheduled.config.sleep + scheduled.hardTimeout) {
                    continuation.resume(returning: $0)
                }
            }
        }
        return switch begin(scheduled) {
        case .finished(let result): result
        case .running(let rest): await rest()
        }
    }

    /// A run begun by `begin(_:)`.
    public enum Begun: Sendable {
        /// It needed no waiting (a loopback `hostport`): here is its result.
        case finished(CheckResult)
        /// The rest of it, to be awaited (under the run's hard deadline; `nil` when cancelled).
        case running(@Sendable () async -> CheckResult?)
    }

    /// Begins one run of `scheduled` now, on the calling thread, outside `run()` (an agent's
    /// requests): a run that needs no waiting ends here, without a task.
    public func begin(_ scheduled: ScheduledCheck) -> Begun {
        let createdMillis = WallClock.nowMillis()
        let start = clock.now
        let started = scheduled.check.start()
        if case .finished(let outcome) = started { return .finished(result(of: scheduled, outcome, createdMillis: createdMillis, start: start)) }
        return .running { [self] in
            let timers = TimerQueue(clock: clock, origin: start)
            return await withTaskGroup(of: Void.self) { group in
                group.addTask { await timers.runOnClock() }
                let run = TaskBox<CheckResult?>()
                let task = run.task.withLock { task in
                    let new = Task {
                        await finish(scheduled, started, createdMillis: createdMillis, start: start, timers: timers) { run.task.withLock { $0?.cancel() } }
                    }
                    task = new
                    return new
                }
                let result = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
                group.cancelAll()
                return result
            }
        }
    }

    /// Awaits the rest of a run begun at `start` (`.pending` or `.later`) under its hard
    /// deadline: at the deadline `cancelRun` cancels the task and the run ends as a failure.
    /// `nil` when the task was cancelled otherwise (shutdown).
    private func finish(
        _ scheduled: ScheduledCheck, _ started: CheckStart, createdMillis: UInt64, start: C.Instant,
        timers: TimerQueue<C>, cancelRun: @escaping @Sendable () -> Void
    ) async -> CheckResult? {
        let timedOut = Flag()
        let deadline = timers.schedule(at: hardDeadline(of: scheduled, from: start, on: timers)) {
            timedOut.set()
            cancelRun()
        }
        var outcome = await started.outcome()
        timers.cancel(deadline)
        if timedOut.isSet {
            outcome = .failure(scheduled.overtime + "; cancelled")
        } else if Task.isCancelled {
            return nil
        }
        return result(of: scheduled, outcome, createdMillis: createdMillis, start: start)
    }

    /// The hard deadline of `scheduled`'s run begun at `start`, on `timers`' time line.
    private func hardDeadline(of scheduled: ScheduledCheck, from start: C.Instant, on timers: TimerQueue<C>) -> Int64 {
        timers.offset(of: start) + Int64((scheduled.hardTimeout * 1e9).rounded())
    }

    /// The result of a run begun at `start` (elapsed time read on the scheduler's clock, the one
    /// its deadlines are kept on).
    fileprivate func result(of scheduled: ScheduledCheck, _ outcome: CheckOutcome, createdMillis: UInt64, start: C.Instant) -> CheckResult {
        let elapsed = start.duration(to: clock.now).components
        var result = CheckResult(
            id: ResultID.next(millis: createdMillis), status: outcome.status, check: scheduled.config.type,
            label: scheduled.config.label, message: outcome.message, measurement: outcome.measurement,
            createdMillis: Int64(createdMillis),
            elapsed: Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18,
            config: scheduled.config.maskedConfig, host: host)
        // `local` in a quorum's group (a run in this process has no location otherwise).
        result.location = scheduled.config.location
        return result
    }
}

/// A run that ends itself (`CheckStart.later`), or at its hard deadline: one object for both
/// ends, which the two closures capture alone (a closure of one reference has no context of its
/// own; a flag and two closures each copying the run's state were three allocations a run).
private final class LaterRun<C: Clock>: Sendable where C.Duration == Duration {
    let run: SlotRun<C>
    let createdMillis: UInt64
    let start: C.Instant
    /// The hard deadline's timer entry (0: none, the queue had stopped).
    let deadline = Atomic<UInt64>(0)
    private let ended = Atomic<Bool>(false)

    init(run: SlotRun<C>, createdMillis: UInt64, start: C.Instant) {
        self.run = run
        self.createdMillis = createdMillis
        self.start = start
    }

    /// Ends the run with the check's `outcome`, or (`nil`) at its hard deadline; only the first
    /// call counts.
    func end(_ outcome: CheckOutcome?) {
        guard !ended.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let scheduler = run.scheduler
        if outcome != nil {
            let id = deadline.load(ordering: .acquiring)
            scheduler.timers.cancel(id == 0 ? nil : id)
        }
        let scheduled = scheduler.checks[run.slot.index]
        scheduler.end(run, with: scheduler.result(of: scheduled, outcome ?? .failure(scheduled.overtime), createdMillis: createdMillis, start: start))
    }
}

/// One check's slot in a run of the scheduler, with what its planned starts call: made once per
/// check. A planned start's closure captures it alone, so it has no context of its own; one
/// capturing the scheduler, the slot and the run tracker was an allocation per run.
fileprivate final class SlotRun<C: Clock>: Sendable where C.Duration == Duration {
    let scheduler: Scheduler<C>
    let slot: CheckSlot
    let runs: RunTracker

    init(scheduler: Scheduler<C>, slot: CheckSlot, runs: RunTracker) {
        self.scheduler = scheduler
        self.slot = slot
        self.runs = runs
    }

    /// Begins the slot's next run.
    func begin() { scheduler.begin(self) }
}

/// A task, once made: what cancels it may run before its maker has the handle.
final class TaskBox<T: Sendable>: Sendable {
    let task = Locked<Task<T, Never>?>(nil)
}

/// One check's timetable and its run in progress, if any.
final class CheckSlot: Sendable {
    /// Its check's position in `Scheduler.checks` (a copy here would be 200 bytes a check).
    let index: Int
    /// The check's `config.key`, made once (it is built from its parts on every read).
    let key: String
    /// Touched by the check's own runs only, one at a time (a run plans the next as it ends).
    let schedule: Locked<RunSchedule>
    /// The run in progress (cancelled at its hard deadline, or at shutdown).
    let run = Locked<Task<Void, Never>?>(nil)
    /// Nanoseconds by which a run may start before its planned start (`Scheduler.timerSlack`).
    let slack: Int64

    init(index: Int, key: String, schedule: RunSchedule, slack: Int64 = 0) {
        self.index = index
        self.key = key
        self.schedule = Locked(schedule)
        self.slack = slack
    }
}

/// The scheduler's runs in progress: started by the timers, stopped all at once at shutdown.
final class RunTracker: Sendable {
    private let stopping = Atomic<Bool>(false)

    /// Whether `stop` was called: no run starts, and a run that ends routes nothing.
    var stopped: Bool { stopping.load(ordering: .sequentiallyConsistent) }

    /// Starts `operation` as `slot`'s run, unless stopped.
    func start(_ slot: CheckSlot, _ operation: @escaping @Sendable () async -> Void) {
        slot.run.withLock { run in
            guard !stopped else { return }
            run = Task(operation: operation)
        }
    }

    /// `slot`'s run has ended.
    func finished(_ slot: CheckSlot) {
        slot.run.withLock { $0 = nil }
    }

    /// Cancels `slot`'s run in progress (its hard deadline).
    func cancel(_ slot: CheckSlot) {
        slot.run.withLock { $0?.cancel() }
    }

    /// Stops: cancels every run of `slots` in progress and returns them, to be waited for.
    func stop(_ slots: [CheckSlot]) -> [Task<Void, Never>] {
        stopping.store(true, ordering: .sequentiallyConsistent)
        let running = slots.compactMap { slot in slot.run.withLock { $0 } }
        for run in running { run.cancel() }
        return running
    }
}

/// How service-lifecycle logs the service (its default would print every check's options).
extension Scheduler: CustomStringConvertible {
    public var description: String { "Scheduler(checks: \(checks.count))" }
}
