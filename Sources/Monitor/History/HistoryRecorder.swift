import Logging
import ServiceLifecycle
import Synchronization

/// Records every result (whatever the notifiers' policies) into a `HistoryStore`: raw results
/// and hourly rollups with time-weighted up/down time and a latency histogram.
///
/// `record` never waits; a thread of its own writes batched transactions every `interval`
/// seconds (and at stop), and prunes old data once an hour.
public final class HistoryRecorder: Service, @unchecked Sendable {
    // @unchecked: `states` and `lastPrune` are touched only on `thread`; the rest is the handoff.

    public struct Settings: Sendable {
        /// Seconds raw results are kept.
        public var keepResults: Double = 7 * 86400
        /// Seconds hourly rollups are kept.
        public var keepRollups: Double = 400 * 86400
        /// Seconds between two writes.
        public var interval: Double = 2
        /// Raw results held for a store that fails (Mongo away), beyond which the oldest held
        /// raw results are dropped; counts, times and status changes are always kept.
        public var maxHeldResults = 100_000

        public init(keepResults: Double = 7 * 86400, keepRollups: Double = 400 * 86400, interval: Double = 2, maxHeldResults: Int = 100_000) {
            self.keepResults = keepResults
            self.keepRollups = keepRollups
            self.interval = interval
            self.maxHeldResults = maxHeldResults
        }
    }

    public let store: any HistoryStore
    public let settings: Settings
    private let sleeps: [String: Double]
    private let logger: Logger
    /// Results as the history keeps them (`sleep` filled in on the thread): a recorder holds
    /// no `CheckResult` (its measurement and details) while a batch waits.
    private let inbox = Handoff<HistoryRecord>()
    private let thread: DedicatedThread
    private let stopping = Atomic<Bool>(false)
    private let written = Atomic<Int>(0)
    private let submitted = Atomic<Int>(0)
    private let handled = Atomic<Int>(0)
    private var lastPrune = 0.0
    private var lastTrim = -Double.infinity

    /// `sleeps`: each check's period by `check/label`; `threadName`: the writing thread's name
    /// (at most 15 characters, as `top -H` shows it).
    public init(store: any HistoryStore, sleeps: [String: Double], settings: Settings = Settings(), threadName: String = "history", logger: Logger) {
        self.store = store
        // Nice 5: when the cores are busy the scheduler's timer thread comes first; the batches
        // only grow (a transaction every `interval` holds what arrived meanwhile).
        self.thread = DedicatedThread(name: threadName, niceness: 5)
        self.sleeps = sleeps
        self.settings = settings
        self.logger = logger
    }

    /// Takes a result. Never waits.
    public func record(_ result: CheckResult) {
        record(result, key: result.key, responseTimeMs: ResponseTime.of(result)?.avg)
    }

    /// Takes a result whose `key` and main time (`ResponseTime`, ms) the caller has. Never waits.
    public func record(_ result: CheckResult, key: String, responseTimeMs: Double?) {
        submitted.add(1, ordering: .sequentiallyConsistent)
        inbox.push(one: HistoryRecord(result, key: key, latencyMs: responseTimeMs, sleep: 0))
    }

    /// Results written so far.
    public var writtenCount: Int { written.load(ordering: .relaxed) }

    public func run() async throws {
        try? await withGracefulShutdownHandler {
            try await thread.run { [self] in loop() }
        } onGracefulShutdown: { [self] in
            stopping.store(true, ordering: .sequentiallyConsistent)
            inbox.wake()
        }
    }

    /// Returns once every result recorded before the call was handled (written, or its
    /// failure logged), or the task is cancelled.
    public func flush() async {
        let target = submitted.load(ordering: .sequentiallyConsistent)
        while handled.load(ordering: .sequentiallyConsistent) < target && !Task.isCancelled {
            inbox.wake()
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    private func loop() {
        while true {
            let stop = stopping.load(ordering: .sequentiallyConsistent)
            let count = write(inbox.take())
            retry()
            let now = MonotonicClock().seconds()
            // A large batch's working memory (its rows, rollups and SQL) is freed now; give it
            // back rather than keep the peak resident (at most once a minute: a trim walks the
            // heap). Measured with 10,000 idle checks: 3.6-4.2 KB per check, 4.0-4.6 without.
            if count >= 5000 && now - lastTrim >= 60 {
                lastTrim = now
                MemoryTuning.returnFreeMemory()
            }
            if now - lastPrune >= 3600 {
                lastPrune = now
                prune()
            }
            if stop { return }
            // One batch per interval: a wake-up per result would make a transaction per result.
            inbox.pause(seconds: settings.interval)
        }
    }

    /// What the recorder keeps per check between batches (one dictionary lookup per result).
    private struct KeyState {
        var sleep: Double
        /// The newest result so far: its coverage ends with the next one.
        var last: HistoryRecord?
        /// This batch's rollup deltas, by hour.
        var rollups: [Int64: HourlyRollup] = [:]
    }

    private var states = KeyedArray<String, KeyState>()

    /// Where `key`'s state is; a check's first result reads its last one from the store.
    private func slot(_ key: String, at millis: Int64) -> Int {
        states.position(of: key) { KeyState(sleep: sleeps[key] ?? 60, last: try? store.last(key: key, before: millis)) }
    }

    /// Writes a batch (or holds it behind a failed one); returns its size.
    @discardableResult
    private func write(_ batch: consuming [HistoryRecord]) -> Int {
        // Completed in place (each record's `sleep`): no second array of a batch that can
        // hold 20,000 results.
        var records = consume batch
        let count = records.count
        guard count > 0 else { return 0 }
        defer { handled.add(count, ordering: .sequentiallyConsistent) }
        var changes: [HistoryRecord] = []
        var touched: [Int] = []
        // In arrival order: per check, results arrive in start order (a check never overlaps
        // itself); one that does not is stored but adds no coverage.
        for position in records.indices {
            let key = records[position].key
            let index = slot(key, at: records[position].createdMillis)
            records[position].sleep = states.values[index].sleep
            let record = records[position]
            if states.values[index].rollups.isEmpty { touched.append(index) }
            if HistoryMath.isChange(record, after: states.values[index].last) { changes.append(record) }
            if let previous = states.values[index].last, previous.createdMillis <= record.createdMillis {
                let end = min(record.createdMillis, previous.createdMillis + previous.capMillis)
                if end > previous.createdMillis {
                    HistoryMath.addCoverage(
                        HistoryMath.Interval(start: previous.createdMillis, end: end, success: previous.success), key: key,
                        source: record.id, to: &states.values[index].rollups)
                }
            }
            let hour = HistoryMath.floorDiv(record.createdMillis, HistoryMath.hourMillis)
            let at = states.values[index].rollups.index(forKey: hour) { HourlyRollup(key: key, hour: hour) }
            states.values[index].rollups.values[at].count(record)
            if (states.values[index].last?.createdMillis ?? .min) <= record.createdMillis { states.values[index].last = record }
        }
        var rollups: [HourlyRollup] = []
        for index in touched {
            rollups.append(contentsOf: states.values[index].rollups.values)
            // Not keeping the capacity: 10,000 checks would each hold a dictionary between batches.
            states.values[index].rollups = [:]
        }
        let pending = Pending(records: records, changes: changes, rollups: rollups)
        if failed == nil && waiting == nil {
            if !append(pending) { failed = pending }
        } else {
            // Behind a failed batch: wait, merged into one batch not yet tried.
            if waiting == nil { waiting = pending } else { waiting!.merge(pending) }
            dropHeldResultsBeyondLimit()
        }
        return count
    }

    // MARK: A store that fails

    /// One write: results, status changes and rollup deltas.
    struct Pending {
        var records: [HistoryRecord]
        var changes: [HistoryRecord]
        var rollups: [HourlyRollup]

        /// Adds a later batch: its results and changes after ours, its rollup deltas merged
        /// into ours by check and hour (the merged delta takes the later result's id).
        mutating func merge(_ later: Pending) {
            records += later.records
            changes += later.changes
            var index: [String: Int] = [:]
            for (i, rollup) in rollups.enumerated() { index["\(rollup.key)@\(rollup.hour)"] = i }
            for rollup in later.rollups {
                if let i = index["\(rollup.key)@\(rollup.hour)"] {
                    rollups[i].merge(rollup)
                    rollups[i].source = rollup.source ?? rollups[i].source
                } else {
                    rollups.append(rollup)
                }
            }
        }
    }

    /// A batch the store refused, perhaps partly written: sent again unchanged (the store's
    /// idempotence on result ids makes that safe), never merged with another.
    private var failed: Pending?
    /// Batches that came while `failed` waits, merged into one never tried.
    private var waiting: Pending?
    private var failingSince: Double?
    private var droppedResults = 0

    /// Writes `pending`; `false` (and a log line when the store starts failing) when it fails.
    private func append(_ pending: Pending) -> Bool {
        do {
            try store.append(pending.records, changes: pending.changes, rollups: pending.rollups)
            written.add(pending.records.count, ordering: .relaxed)
            if let since = failingSince {
                logger.notice(
                    "history written again", metadata: ["seconds failing": "\(Int(MonotonicClock().seconds() - since))", "raw results dropped": "\(droppedResults)"])
                failingSince = nil
                droppedResults = 0
            }
            return true
        } catch {
            if failingSince == nil {
                failingSince = MonotonicClock().seconds()
                logger.error(
                    "cannot write history; holding the results and trying again every interval", metadata: ["error": "\(error)", "results": "\(pending.records.count)"])
            }
            return false
        }
    }

    /// Tries the held batches again, in order.
    private func retry() {
        if let pending = failed {
            guard append(pending) else { return }
            failed = nil
        }
        if let pending = waiting {
            waiting = nil
            if !append(pending) { failed = pending }
        }
    }

    /// Holds at most `maxHeldResults` raw results: the oldest of those not yet tried go first.
    private func dropHeldResultsBeyondLimit() {
        let held = (failed?.records.count ?? 0) + (waiting?.records.count ?? 0)
        guard held > settings.maxHeldResults, let count = waiting?.records.count, count > 0 else { return }
        let drop = min(count, held - settings.maxHeldResults)
        if droppedResults == 0 {
            logger.warning(
                "history store still failing: dropping the oldest held raw results (counts, times and incidents are kept)",
                metadata: ["held": "\(held)", "limit": "\(settings.maxHeldResults)"])
        }
        waiting!.records.removeFirst(drop)
        droppedResults += drop
    }

    private func prune() {
        let now = Int64(WallClock.nowMillis())
        do {
            try store.prune(
                resultsBefore: now - Int64(settings.keepResults * 1000),
                rollupsBefore: HistoryMath.floorDiv(now - Int64(settings.keepRollups * 1000), HistoryMath.hourMillis))
        } catch {
            logger.warning("cannot prune history", metadata: ["error": "\(error)"])
        }
    }
}
