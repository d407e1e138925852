import Logging
import ServiceLifecycle
import Synchronization

/// Records every result (whatever the notifiers' policies) into a `HistoryStore`: raw results
/// and hourly rollups with time-weighted up/down time and a latency histogram.
///
/// `record` never waits; a thread of its own writes batched transactions every `interval`
/// seconds (and at stop), and prunes old data once an hour.
public final class HistoryRecorder: Service, @unchecked Sendable {
    // @unchecked: `last` and `lastPrune` are touched only on `thread`; the rest is the handoff.

    public struct Settings: Sendable {
        /// Seconds raw results are kept.
        public var keepResults: Double = 7 * 86400
        /// Seconds hourly rollups are kept.
        public var keepRollups: Double = 400 * 86400
        /// Seconds between two writes.
        public var interval: Double = 1

        public init(keepResults: Double = 7 * 86400, keepRollups: Double = 400 * 86400, interval: Double = 1) {
            self.keepResults = keepResults
            self.keepRollups = keepRollups
            self.interval = interval
        }
    }

    public let store: any HistoryStore
    public let settings: Settings
    private let sleeps: [String: Double]
    private let logger: Logger
    private let inbox = Handoff<CheckResult>()
    private let thread = DedicatedThread(name: "history")
    private let stopping = Atomic<Bool>(false)
    private let written = Atomic<Int>(0)
    private let submitted = Atomic<Int>(0)
    private let handled = Atomic<Int>(0)
    /// The newest result of each check seen so far (its coverage ends with the next one).
    private var last: [String: HistoryRecord] = [:]
    private var lastPrune = 0.0

    /// `sleeps`: each check's period by `check/label`.
    public init(store: any HistoryStore, sleeps: [String: Double], settings: Settings = Settings(), logger: Logger) {
        self.store = store
        self.sleeps = sleeps
        self.settings = settings
        self.logger = logger
    }

    /// Takes a result. Never waits.
    public func record(_ result: CheckResult) {
        submitted.add(1, ordering: .sequentiallyConsistent)
        inbox.push([result])
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
            write(inbox.take())
            let now = MonotonicClock().seconds()
            if now - lastPrune >= 3600 {
                lastPrune = now
                prune()
            }
            if stop { return }
            // Whatever arrives while a batch is written is the next batch.
            inbox.wait(seconds: settings.interval)
        }
    }

    private func write(_ batch: [CheckResult]) {
        guard !batch.isEmpty else { return }
        defer { handled.add(batch.count, ordering: .sequentiallyConsistent) }
        var records: [HistoryRecord] = []
        records.reserveCapacity(batch.count)
        var rollups: [String: [Int64: HourlyRollup]] = [:]
        for result in batch.sorted(by: { $0.createdMillis < $1.createdMillis }) {
            let record = HistoryRecord(result, sleep: sleeps[result.key] ?? 60)
            let key = record.key
            if last[key] == nil { last[key] = try? store.last(key: key, before: record.createdMillis) }
            if let previous = last[key], previous.createdMillis <= record.createdMillis {
                let end = min(record.createdMillis, previous.createdMillis + previous.capMillis)
                if end > previous.createdMillis {
                    HistoryMath.addCoverage(
                        HistoryMath.Interval(start: previous.createdMillis, end: end, success: previous.success), key: key,
                        to: &rollups[key, default: [:]])
                }
            }
            let hour = HistoryMath.floorDiv(record.createdMillis, HistoryMath.hourMillis)
            var rollup = rollups[key, default: [:]][hour] ?? HourlyRollup(key: key, hour: hour)
            rollup.results += 1
            if record.success { rollup.successes += 1 } else { rollup.failures += 1 }
            if let latency = record.latencyMs { rollup.latency.add(latency) }
            rollups[key, default: [:]][hour] = rollup
            if (last[key]?.createdMillis ?? .min) <= record.createdMillis { last[key] = record }
            records.append(record)
        }
        do {
            try store.append(records, rollups: rollups.values.flatMap(\.values))
            written.add(records.count, ordering: .relaxed)
        } catch {
            logger.error("cannot write history; these results are not in it", metadata: ["results": "\(records.count)", "error": "\(error)"])
        }
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
