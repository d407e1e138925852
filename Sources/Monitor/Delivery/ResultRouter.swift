import Logging
import Synchronization

/// Hands every result to every notifier channel; each applies its own policy and queue. With
/// an `IntakeLog`, results pass through it: on disk first when a spooling notifier wants them.
public final class ResultRouter: Sendable {
    public let channels: [NotifierChannel]
    /// The write-ahead log results pass through; `nil`: straight to the channels.
    public let intake: IntakeLog?
    /// Where every result is recorded for reports (the local store, and Mongo when configured);
    /// each its own thread, so a slow store holds back no other.
    public let histories: [HistoryRecorder]
    /// Every check's current state (the HTTP face reads it); `nil`: not kept.
    public let live: LiveStatus?
    /// Per-check metrics (swift-metrics); `nil`: none.
    public let metrics: MonitorMetrics?
    /// Checks with a quorum: their locations' results are recorded, not delivered; their overall
    /// results are both. `nil`: none.
    public let quorum: QuorumBook?
    /// The `host` of overall results.
    private let host: String
    private let logger: Logger
    private let routed = Atomic<Int>(0)
    private let lastRouted = Atomic<Int64>(0)

    public init(
        channels: [NotifierChannel], logger: Logger, intake: IntakeLog? = nil, histories: [HistoryRecorder] = [], live: LiveStatus? = nil,
        metrics: MonitorMetrics? = nil, quorum: QuorumBook? = nil, host: String = HostName.current
    ) {
        self.quorum = quorum
        self.host = host
        self.channels = channels
        self.logger = logger
        self.intake = intake
        self.histories = histories
        self.live = live
        self.metrics = metrics
    }

    /// Routes one result (`key`: its `key`, when the caller has it made; `position`: the check's
    /// place in the configured checks, when the caller knows it, a hint to the per-check tables
    /// that they confirm by the key). Never waits: queues are bounded and drop (counted) when full.
    public func route(_ result: CheckResult, key: String? = nil, position: Int = -1) {
        if logger.logLevel <= .debug {
            logger.debug(
                "result",
                metadata: ["check": "\(result.key)", "status": "\(result.status.rawValue)", "message": "\(result.message)"])
        }
        // The key made once per result, for every table and notifier policy keyed by it.
        let key = key ?? result.key
        if let quorum {
            if let overall = quorum.overall(after: result, key: key, host: host) {
                record(result, key: key)
                let overallKey = overall.key
                record(overall, key: overallKey)
                deliver(overall, key: overallKey)
                return
            }
        }
        record(result, key: key, position: position)
        deliver(result, key: key)
    }

    /// Records a result in the history, the live status and the metrics (`key`: its key;
    /// `position`: its check's place in the configured checks, if known).
    private func record(_ result: CheckResult, key: String, position: Int = -1) {
        guard !histories.isEmpty || live != nil || metrics != nil else { return }
        // All read the main time and the certificate's expiry: read once per result here.
        let readings = ResultReadings(result)
        for history in histories { history.record(result, key: key, readings: readings) }
        live?.observe(result, key: key, position: position, readings: readings)
        metrics?.checks.observe(result, key: key, position: position, readings: readings)
    }

    /// Hands a result to the notifiers.
    private func deliver(_ result: CheckResult, key: String) {
        if let intake {
            intake.submit(result, key: key)
        } else {
            for channel in channels { channel.offer(result, key: key) }
        }
        routed.add(1, ordering: .relaxed)
        lastRouted.store(result.createdMillis, ordering: .relaxed)
    }

    /// Returns once every result routed before the call is in the notifiers' queues (the
    /// intake log may hold results for a moment).
    public func flush() async {
        await intake?.flush()
        for history in histories { await history.flush() }
    }

    /// Results routed so far.
    public var resultCount: Int { routed.load(ordering: .relaxed) }

    /// Start time (Unix milliseconds) of the last result routed; 0 before the first.
    public var lastResultMillis: Int64 { lastRouted.load(ordering: .relaxed) }
}
