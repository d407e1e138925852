import ServiceLifecycle

/// Runs every check once, concurrently, routes the results as a scheduled run would, and
/// returns; the results are kept for the summary. Used by `healthmonitor once`. Checks of other
/// locations go to their agents through `remote` (the cluster controller); without it, or when
/// no agent answers, such a check has no result.
public final class OnceRunner: Service, Sendable {
    private let scheduler: Scheduler<ContinuousClock>
    private let collected = Locked<[CheckResult]>([])

    public init(runtime: Runtime, remote: (any RemoteExecutor)? = nil) {
        self.scheduler = runtime.scheduler(clock: ContinuousClock(), remote: remote)
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for scheduled in scheduler.checks {
                group.addTask { [self] in
                    guard let result = await scheduler.execute(scheduled) else { return }
                    scheduler.router.route(result)
                    collected.withLock { $0.append(result) }
                }
            }
        }
        await scheduler.router.flush()
    }

    /// The results, in config order.
    public var results: [CheckResult] {
        let all = collected.withLock { $0 }
        let order = Dictionary(scheduler.checks.enumerated().map { ($1.config.key, $0) }, uniquingKeysWith: { f, _ in f })
        return all.sorted { (order[$0.key] ?? 0) < (order[$1.key] ?? 0) }
    }
}

extension OnceRunner: CustomStringConvertible {
    public var description: String { "OnceRunner(checks: \(scheduler.checks.count))" }
}
