import Logging
import ServiceLifecycle

/// Everything built from a validated config: the checks, one channel per notifier, the router
/// and the scheduler, ready to run as services.
public struct Runtime: Sendable {
    /// The config's settings. (Its checks are `checks`: each scheduled check holds its config,
    /// kept once for the whole run.)
    public let settings: MonitorSettings
    public let checks: [ScheduledCheck]
    public let channels: [NotifierChannel]
    public let router: ResultRouter
    /// Set once the notifiers' deliveries have started: the monitor is ready (`/readyz`).
    public let notifiersStarted = Flag()
    public let logger: Logger

    /// Builds checks and notifiers; problems only visible now (a notifier that cannot start)
    /// are reported together as a `ConfigError`.
    /// `historyStores`: where history recorders write (`settings.history`), each with the name of
    /// its thread; none: no history.
    public init(
        config: MonitorConfig, checkKinds: [CheckKind] = CheckKinds.all, notifierKinds: [NotifierKind], logger: Logger,
        historyStores: [(name: String, store: any HistoryStore)] = []
    ) throws(ConfigError) {
        var problems: [ConfigDiagnostic] = []
        let checkKindsByName = Dictionary(checkKinds.map { ($0.name, $0) }, uniquingKeysWith: { _, l in l })
        let notifierKindsByName = Dictionary(notifierKinds.map { ($0.name, $0) }, uniquingKeysWith: { _, l in l })
        let policyDirectory = config.settings.stateDirectory + "/policy"
        do {
            try FileSystem.makeDirectories(policyDirectory)
            // Temporaries a killed run left behind (its state and heartbeat writes; each notifier's
            // below, its spool's in `Spool`).
            FileSystem.removeStaleTemporaries(in: policyDirectory)
            FileSystem.removeStaleTemporaries(in: config.settings.stateDirectory)
        } catch {
            problems.append(
                ConfigDiagnostic(.error, at: SourceLocation(file: config.sources.first ?? "config"), path: "settings.state_dir",
                    "cannot create state directory: \(error)"))
        }

        // Each check built, by its index in `config.checks`.
        var built: [(index: Int, check: any Check)] = []
        for (index, checkConfig) in config.checks.enumerated() {
            guard let kind = checkKindsByName[checkConfig.type] else { continue }
            do {
                built.append((index, try kind.make(CheckContext(label: checkConfig.label, options: checkConfig.options, logger: logger, key: checkConfig.key))))
            } catch let diagnostic as ConfigDiagnostic {
                problems.append(diagnostic)
            } catch {
                problems.append(checkConfig.options.problem("", "cannot set up check: \(error)"))
            }
        }

        // Every key results are recorded under: the checks, and those with a quorum as a whole
        // (`type/label`, what the notifiers see of them).
        let recorded = config.checks + QuorumBook.overallConfigs(of: config.checks)
        let overrides = Dictionary(
            recorded.compactMap { c in c.threshold.map { (c.key, $0) } }, uniquingKeysWith: { _, l in l })
        var channels: [NotifierChannel] = []
        for notifierConfig in config.notifiers {
            guard let kind = notifierKindsByName[notifierConfig.type] else { continue }
            var notifierLogger = logger
            notifierLogger[metadataKey: "notifier"] = "\(notifierConfig.name)"
            let directory = config.settings.stateDirectory + "/notifiers/" + notifierConfig.name
            do {
                try FileSystem.makeDirectories(directory)
                FileSystem.removeStaleTemporaries(in: directory)
                let notifier = try kind.make(
                    NotifierContext(name: notifierConfig.name, options: notifierConfig.options, logger: notifierLogger, stateDirectory: directory))
                let policy = ReportPolicy(
                    mode: notifierConfig.report, threshold: notifierConfig.threshold, resolved: notifierConfig.resolved,
                    repeatInterval: notifierConfig.repeatInterval)
                let book = PolicyBook(
                    basePolicy: policy, thresholdOverrides: overrides, file: "\(policyDirectory)/\(notifierConfig.name).json",
                    configuredChecks: Set(recorded.map(\.key)))
                if let problem = book.loadProblem { notifierLogger.warning("\(problem)") }
                channels.append(NotifierChannel(config: notifierConfig, notifier: notifier, policies: book, logger: notifierLogger))
            } catch let diagnostic as ConfigDiagnostic {
                problems.append(diagnostic)
            } catch {
                problems.append(notifierConfig.options.problem("", "cannot set up notifier: \(error)"))
            }
        }
        guard problems.isEmpty else { throw ConfigError(problems) }
        // What only serves the errors above is not kept for the run: where each option was
        // written (a dictionary per check) and the options' path (a string per check). The
        // values stay (the written ones' storage is the masked config's too, when nothing in
        // them is a secret; the defaults are their type's).
        self.checks = built.map { built in
            var checkConfig = config.checks[built.index]
            checkConfig.options = checkConfig.options.withoutLocations
            return ScheduledCheck(config: checkConfig, check: built.check)
        }
        self.settings = config.settings
        self.channels = channels
        self.logger = logger
        // A write-ahead log in front of the notifiers when one of them spools (see `IntakeLog`).
        let intake = channels.contains(where: \.isDurable)
            ? IntakeLog(directory: config.settings.stateDirectory + "/intake", channels: channels, logger: logger) : nil
        let sleeps = Dictionary(recorded.map { ($0.key, $0.sleep) }, uniquingKeysWith: { first, _ in first })
        let histories = config.settings.history.enabled
            ? historyStores.map { entry in
                HistoryRecorder(
                    store: entry.store, sleeps: sleeps,
                    settings: .init(keepResults: config.settings.history.keepResults, keepRollups: config.settings.history.keepRollups),
                    threadName: entry.name, logger: logger)
            } : []
        self.router = ResultRouter(
            channels: channels, logger: logger, intake: intake, histories: histories, live: LiveStatus(checks: recorded),
            metrics: MonitorMetrics(checks: recorded, channels: channels), quorum: QuorumBook(checks: config.checks), host: config.settings.host)
    }

    /// The delivery services, one per notifier, in config order.
    public func deliveryServices() -> [DeliveryService] {
        channels.map { DeliveryService(channel: $0, shutdownTimeout: settings.shutdownTimeout) }
    }

    /// Every notifier's delivery service, with the intake log in front of them.
    public func deliveryGroup() -> DeliveryGroup {
        DeliveryGroup(services: deliveryServices(), intake: router.intake, started: notifiersStarted)
    }

    /// The scheduler for all checks; `observer` (a benchmark's) replaces the metrics' lag and
    /// overrun counts.
    public func scheduler<C: Clock>(clock: C, observer: (any SchedulerObserver)? = nil, remote: (any RemoteExecutor)? = nil) -> Scheduler<C>
    where C.Duration == Duration {
        Scheduler(
            checks: checks, router: router, host: settings.host, clock: clock, observer: observer ?? router.metrics, remote: remote,
            timerSlack: settings.timerSlack, logger: logger)
    }

    /// Services for `run`, in start order: the notifiers (one group, so they drain together)
    /// first, the scheduler last, so that at shutdown (reverse order) scheduling stops before
    /// the queues drain.
    /// `remote` (the cluster controller) runs the checks of other locations; it starts before the
    /// scheduler and stops after it.
    public func services(observer: (any SchedulerObserver)? = nil, remote: (any RemoteExecutor & Service)? = nil) -> [any Service] {
        // The history recorders stop after the scheduler (which flushes them) and before the queues drain.
        var services: [any Service] = [deliveryGroup()]
        services.append(contentsOf: router.histories as [any Service])
        services.append(
            Heartbeat(
                stateDirectory: settings.stateDirectory, router: router, checks: checks.count,
                longestSleep: checks.map(\.config.sleep).max() ?? 0, logger: logger))
        if let remote { services.append(remote) }
        services.append(LiveScheduler(scheduler: scheduler(clock: ContinuousClock(), observer: observer, remote: remote)))
        return services
    }
}

/// The scheduler on the real clock as a service of its own type: `run()` calls the scheduler
/// with its clock known here, so the optimizer makes a copy of the whole run path for
/// `ContinuousClock`. Run as `any Service`, the generic `Scheduler` ran its generic code: every
/// clock reading, instant and duration went through value witnesses and runtime metadata
/// lookups (`perf`: 5 % of the process's samples with 5,000 pings a second).
struct LiveScheduler: Service, CustomStringConvertible {
    let scheduler: Scheduler<ContinuousClock>

    func run() async throws {
        try await scheduler.run()
    }

    var description: String { scheduler.description }
}
