import Logging
import ServiceLifecycle
import Synchronization

/// Records every result (whatever the notifiers' policies) into a `HistoryStore`: raw results
/// and hourly rollups with time-weighted up/down time and a latency histogram.
///
/// `record` never waits; a thread of its own writes batched transactions every `interval`
/// seconds, or as soon as `maxBatch` results wait (and at stop), and prunes old data once an
/// hour. The rollups are written every `rollupInterval` (10 s; and at stop and `flush()`): with
/// 10,000 checks at `sleep: 1`, a batch holds at most 2,000 results instead of the 20,000 of two
/// seconds.
public final class HistoryRecorder: Service, @unchecked Sendable {
    // @unchecked: `states` and `lastPrune` are touched only on `thread`; the rest is the handoff.

    public struct Settings: Sendable {
        /// Seconds raw results are kept.
        public var keepResults: Double = 7 * 86400
        /// Seconds hourly rollups are kept.
        public var keepRollups: Double = 400 * 86400
        /// Seconds between two writes of the raw results.
        public var interval: Double = 2
        /// Seconds between two writes of the hourly rollups (by default five intervals: 10 s). A
        /// rollup write reads, merges and rewrites a row per check; every 2 s at 10,000 checks
        /// that was about a tenth of the monitor's CPU.
        public var rollupInterval: Double
        /// Results per transaction: this many waiting are written without waiting for the
        /// interval, and the rollups are written in transactions of this many checks.
        public var maxBatch = 2_000
        /// Raw results held for a store that fails (Mongo away), beyond which the oldest held
        /// raw results are dropped; counts, times and status changes are always kept.
        public var maxHeldResults = 100_000

        public init(
            keepResults: Double = 7 * 86400, keepRollups: Double = 400 * 86400, interval: Double = 2, rollupInterval: Double? = nil,
            maxHeldResults: Int = 100_000, maxBatch: Int = 2_000
        ) {
            self.keepResults = keepResults
            self.keepRollups = keepRollups
            self.interval = interval
            self.rollupInterval = max(interval, rollupInterval ?? 5 * interval)
            self.maxHeldResults = maxHeldResults
            self.maxBatch = max(1, maxBatch)
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
    private var lastRollups = 0.0
    private var lastWrite = 0.0
    /// Results written (or held) whose rollups are not yet: `handled` counts them once they are.
    private var unflushed = 0
    /// Results written since the last trim of the heap.
    private var sinceTrim = 0

    /// `sleeps`: each check's period by `check/label`; `threadName`: the writing thread's name
    /// (at most 15 characters, as `top -H` shows it).
    public init(store: any HistoryStore, sleeps: [String: Double], settings: Settings = Settings(), threadName: String = "history", logger: Logger) {
        self.store = store
        // Nice 5: when the cores are busy the scheduler's timer thread comes first; the batches
        // only grow (a transaction every `interval` holds what arrived meanwhile).
        self.thread = DedicatedThread(name: threadName, niceness: 5)
        self.sleeps = sleeps
        self.states = KeyedArray(capacity: sleeps.count)
        self.settings = settings
        self.logger = logger
    }

    /// Takes a result. Never waits.
    public func record(_ result: CheckResult) {
        record(result, key: result.key, readings: ResultReadings(result))
    }

    /// Takes a result whose `key` and readings the caller has. Never waits.
    public func record(_ result: CheckResult, key: String, readings: ResultReadings) {
        submitted.add(1, ordering: .sequentiallyConsistent)
        inbox.push(one: HistoryRecord(result, key: key, readings: readings, sleep: 0))
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
        lastRollups = MonotonicClock().seconds()
        lastWrite = lastRollups
        var woken = false
        while true {
            let stop = stopping.load(ordering: .sequentiallyConsistent)
            let (_, batch, left) = inbox.takeNumbered(max: settings.maxBatch)
            var now = MonotonicClock().seconds()
            // The rollups go with the last batch of a round: at the interval, and when a stop or
            // `flush()` asks for everything.
            let rollupsDue = left == 0 && (woken || stop || now - lastRollups >= settings.rollupInterval)
            sinceTrim += write(batch, withRollups: rollupsDue)
            lastWrite = now
            if rollupsDue { lastRollups = now }
            retry()
            now = MonotonicClock().seconds()
            // Freed working memory (rows, rollups, SQL) is given back rather than kept resident
            // at its peak (at most once a minute: a trim walks the heap).
            if sinceTrim >= 5000 && now - lastTrim >= 60 {
                lastTrim = now
                sinceTrim = 0
                MemoryTuning.returnFreeMemory()
            }
            if now - lastPrune >= 3600 {
                lastPrune = now
                prune()
            }
            // More than a batch waited: the next one now, and the rollups after the last.
            if left > 0 { continue }
            if stop { return }
            // Until the next rollups, or a batch: a wake-up per result would make a
            // transaction per result.
            let next = min(lastWrite + settings.interval, lastRollups + settings.rollupInterval)
            woken = inbox.pause(seconds: max(0.001, next - now), orCount: settings.maxBatch)
        }
    }

    /// What the recorder keeps per check between batches (one dictionary lookup per result).
    private struct KeyState {
        var sleep: Double
        /// The newest result so far: its coverage ends with the next one.
        var last: HistoryRecord?
        /// The rollup deltas not yet written, one per hour (an array: mostly one hour).
        var rollups: [HourlyRollup] = []
    }

    /// Room for every configured check from the start (grown by doubling, 10,000 checks' states
    /// would have room for 16,384).
    private var states: KeyedArray<String, KeyState>

    /// Where `key`'s state is; a check's first result reads its last one from the store.
    private func slot(_ key: String, at millis: Int64) -> Int {
        states.position(of: key) { KeyState(sleep: sleeps[key] ?? 60, last: try? store.last(key: key, before: millis)) }
    }

    /// Checks whose rollups hold deltas not yet written.
    private var touched: [Int] = []

    /// Writes a batch (or holds it behind a failed one), with the rollups when `withRollups`;
    /// returns its size.
    @discardableResult
    private func write(_ batch: consuming [HistoryRecord], withRollups: Bool) -> Int {
        // Completed in place (each record's `sleep`): no second array of a batch.
        var records = consume batch
        let count = records.count
        unflushed += count
        defer {
            if withRollups {
                handled.add(unflushed, ordering: .sequentiallyConsistent)
                unflushed = 0
            }
        }
        guard count > 0 || (withRollups && !touched.isEmpty) else { return 0 }
        var changes: [HistoryRecord] = []
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
            let at = states.values[index].rollups.slot(hour: hour, key: key)
            states.values[index].rollups[at].count(record)
            if (states.values[index].last?.createdMillis ?? .min) <= record.createdMillis { states.values[index].last = record }
        }
        guard withRollups else {
            submit(Pending(records: records, changes: changes, rollups: []))
            return count
        }
        // The rollups in transactions of at most `maxBatch` checks, the first with the results.
        var pending = Pending(records: records, changes: changes, rollups: [])
        var start = 0
        repeat {
            let end = min(touched.count, start + settings.maxBatch)
            for index in touched[start..<end] {
                pending.rollups.append(contentsOf: states.values[index].rollups)
                // Not keeping the capacity: 10,000 checks would each hold an array between rounds.
                states.values[index].rollups = []
            }
            submit(pending)
            pending = Pending(records: [], changes: [], rollups: [])
            start = end
        } while start < touched.count
        touched = []
        return count
    }

    /// Writes `pending`, or holds it behind a batch that failed.
    private func submit(_ pending: Pending) {
        if failed == nil && waiting == nil {
            if !append(pending) { failed = pending }
        } else {
            // Behind a failed batch: wait, merged into one batch not yet tried.
            if waiting == nil { waiting = pending } else { waiting!.merge(pending) }
            dropHeldResultsBeyondLimit()
        }
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
