import Logging
import Synchronization

/// One notifier with its policy book, its bounded queue and its delivery counters.
public final class NotifierChannel: Sendable {
    /// Delivery counters, for logs, `once` and benchmarks.
    public struct Counters: Sendable, Hashable {
        /// Results handed to the notifier and accepted.
        public var delivered = 0
        /// Results given up after retries.
        public var failed = 0
        /// Results dropped because the queue was full.
        public var overflowed = 0
    }

    public let config: NotifierConfig
    public let notifier: any Notifier
    public let policies: PolicyBook
    public let queue: DeliveryQueue
    public let logger: Logger
    /// Whether the notifier keeps what it accepted on disk (`DurableNotifier`): the intake log
    /// then keeps each result it wants until `settle` says it is safe.
    public let isDurable: Bool
    private let observer: (any ObservingNotifier)?
    private let counters = Locked(Counters())
    private let lastOverflowLog = Locked<UInt64>(0)
    private let intake = Locked(IntakeMarks())
    private let journaledFlag = Atomic<Bool>(false)

    /// Intake numbers (see `IntakeLog`) of this notifier's deliveries.
    private struct IntakeMarks {
        /// The highest one queued.
        var queued: UInt64 = 0
        /// The highest one the notifier holds on disk or confirmed, with all before it.
        var settled: UInt64 = 0
    }

    public init(config: NotifierConfig, notifier: any Notifier, policies: PolicyBook, logger: Logger) {
        self.config = config
        self.notifier = notifier
        self.policies = policies
        self.queue = DeliveryQueue(capacity: config.queueSize, overflow: config.overflow)
        self.logger = logger
        self.observer = notifier as? any ObservingNotifier
        let durable = notifier as? any DurableNotifier
        self.isDurable = durable != nil
        durable?.onDurable { [weak self] number in self?.settle(upTo: number) }
    }

    /// Whether an intake log keeps this notifier's results until they are settled.
    public var journaled: Bool {
        get { journaledFlag.load(ordering: .relaxed) }
        set { journaledFlag.store(newValue, ordering: .relaxed) }
    }

    /// The notifier settled every result with an intake number up to `number`.
    public func settle(upTo number: UInt64) {
        intake.withLock { $0.settled = max($0.settled, number) }
    }

    /// The highest intake number up to `dispatched` (the last one the log handed out) below
    /// which nothing this notifier was given is unsettled. Results are queued and settled in
    /// order, so once the last one queued is settled, so is everything handed out so far.
    public func covered(upTo dispatched: UInt64) -> UInt64 {
        intake.withLock { $0.settled >= $0.queued ? dispatched : $0.settled }
    }

    /// Applies the report policy and queues the result if it is to be sent. Never waits.
    /// `key`: the result's `key`, when the caller has it.
    public func offer(_ result: CheckResult, key: String? = nil) {
        guard let reason = decide(result, key: key) else { return }
        enqueue(Delivery(result: result, reason: reason))
    }

    /// Shows the result to an observing notifier, then applies the report policy: why to
    /// deliver it, or `nil`. Never waits. `key`: the result's `key`, when the caller has it.
    public func decide(_ result: CheckResult, key: String? = nil) -> ReportReason? {
        observer?.observe(result)
        return policies.observe(result, key: key)
    }

    /// Queues a delivery regardless of policy (used by `once` and tests). Never waits.
    public func enqueue(_ delivery: Delivery) {
        let outcome = queue.push(delivery)
        if delivery.intake > 0 && outcome != .dropped {
            intake.withLock { $0.queued = max($0.queued, delivery.intake) }
        }
        if outcome != .queued {
            let total = counters.withLock { c in
                c.overflowed += 1
                return c.overflowed
            }
            // Log the first overflow and then at most once a second, with the running total.
            let now = WallClock.nowMillis()
            let shouldLog = lastOverflowLog.withLock { last in
                guard now - last >= 1000 else { return false }
                last = now
                return true
            }
            if shouldLog {
                logger.warning(
                    "notifier queue full, result dropped",
                    metadata: [
                        "notifier": "\(config.name)", "capacity": "\(queue.capacity)",
                        "overflow": "\(config.overflow.rawValue)", "dropped_total": "\(total)",
                    ])
            }
        }
    }

    /// A snapshot of the counters.
    public var stats: Counters { counters.withLock { $0 } }

    func count(delivered: Int = 0, failed: Int = 0) {
        counters.withLock {
            $0.delivered += delivered
            $0.failed += failed
        }
    }
}
