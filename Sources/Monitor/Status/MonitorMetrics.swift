import CoreMetrics
import Foundation

/// The monitor's metrics. Through the swift-metrics API (the executable chooses the backend:
/// Prometheus): scheduling lag (histogram); per notifier, sampled before each scrape: queue
/// depth, delivered, failed, dropped, spooled entries and bytes; the process: CPU, memory, open
/// files, start time. Per check (up, run duration histogram, results by status, main time,
/// overruns): `CheckMetricsTable`, which writes its own exposition (see why there).
public final class MonitorMetrics: SchedulerObserver, Sendable {
    /// Histogram buckets (seconds) for scheduling lag.
    public static let lagBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    /// The `# HELP` text of every metric family (swift-metrics has no help text: the exposition
    /// adds these lines).
    public static let help: [String: String] = [
        "healthmonitor_scheduler_lag_seconds": "How late runs started after their planned start",
        "healthmonitor_notifier_queue_depth": "Results waiting in the notifier's queue",
        "healthmonitor_notifier_delivered_total": "Results handed to the notifier and accepted",
        "healthmonitor_notifier_failed_total": "Results given up after the notifier's retries",
        "healthmonitor_notifier_dropped_total": "Results dropped because the notifier's queue was full",
        "healthmonitor_notifier_spooled_entries": "Results held in the notifier's spool (memory and disk)",
        "healthmonitor_notifier_spooled_bytes": "Bytes of the notifier's spool files",
        "process_cpu_seconds_total": "Total user and system CPU time spent in seconds",
        "process_resident_memory_bytes": "Resident memory size in bytes",
        "process_virtual_memory_bytes": "Virtual memory size in bytes",
        "process_open_fds": "Number of open file descriptors",
        "process_max_fds": "Maximum number of open file descriptors",
        "process_start_time_seconds": "Start time of the process since unix epoch in seconds",
    ]

    private struct PerNotifier: Sendable {
        let channel: NotifierChannel
        let queueDepth: Gauge
        let delivered: Counter
        let failed: Counter
        let dropped: Counter
        let spooledEntries: Gauge
        let spooledBytes: Gauge
    }

    /// The per-check families (written by the table itself, not through swift-metrics).
    public let checks: CheckMetricsTable
    private let notifiers: [PerNotifier]
    private let lag = CoreMetrics.Timer(label: "healthmonitor_scheduler_lag_seconds")
    private let lastCounts = Locked<[String: NotifierChannel.Counters]>([:])
    private let process = ProcessMetrics()

    public init(checks: [CheckConfig], channels: [NotifierChannel]) {
        self.checks = CheckMetricsTable(checks: checks)
        self.notifiers = channels.map { channel in
            let labels = [("notifier", channel.config.name)]
            return PerNotifier(
                channel: channel,
                queueDepth: Gauge(label: "healthmonitor_notifier_queue_depth", dimensions: labels),
                delivered: Counter(label: "healthmonitor_notifier_delivered_total", dimensions: labels),
                failed: Counter(label: "healthmonitor_notifier_failed_total", dimensions: labels),
                dropped: Counter(label: "healthmonitor_notifier_dropped_total", dimensions: labels),
                spooledEntries: Gauge(label: "healthmonitor_notifier_spooled_entries", dimensions: labels),
                spooledBytes: Gauge(label: "healthmonitor_notifier_spooled_bytes", dimensions: labels))
        }
    }

    public func runStarted(key: String, lag seconds: Double) {
        lag.recordNanoseconds(Int64((max(0, seconds) * 1e9).rounded()))
    }

    public func overran(key: String) {
        checks.overran(key)
    }

    /// Reads the notifiers' counters and the process figures into their metrics: call before
    /// each scrape.
    public func sample() {
        lastCounts.withLock { last in
            for notifier in notifiers {
                let name = notifier.channel.config.name
                let now = notifier.channel.stats
                let before = last[name] ?? .init()
                if now.delivered > before.delivered { notifier.delivered.increment(by: now.delivered - before.delivered) }
                if now.failed > before.failed { notifier.failed.increment(by: now.failed - before.failed) }
                if now.overflowed > before.overflowed { notifier.dropped.increment(by: now.overflowed - before.overflowed) }
                last[name] = now
                notifier.queueDepth.record(notifier.channel.queue.count)
                if let sink = notifier.channel.notifier as? any SinkStatsReporting {
                    let stats = sink.stats
                    notifier.spooledEntries.record(stats.spooled)
                    notifier.spooledBytes.record(stats.spooledBytes)
                }
            }
        }
        process.sample()
    }
}

/// The standard `process_*` metrics of the Prometheus client libraries, read from /proc.
final class ProcessMetrics: Sendable {
    private let cpu = FloatingPointCounter(label: "process_cpu_seconds_total")
    private let resident = Gauge(label: "process_resident_memory_bytes")
    private let virtual = Gauge(label: "process_virtual_memory_bytes")
    private let openFiles = Gauge(label: "process_open_fds")
    private let maxFiles = Gauge(label: "process_max_fds")
    private let startTime = Gauge(label: "process_start_time_seconds")
    private let lastCPU = Locked<Double>(0)
    private let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    private let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))

    func sample() {
        // /proc/self/stat: fields after the command name; utime 14, stime 15, starttime 22,
        // vsize 23, rss 24 (pages), counted from 1.
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state).
        func field(_ n: Int) -> Double? { n - 3 < fields.count ? Double(fields[n - 3]) : nil }
        if let user = field(14), let system = field(15) {
            let total = (user + system) / ticks
            lastCPU.withLock { last in
                if total > last { cpu.increment(by: total - last) }
                last = max(last, total)
            }
        }
        if let vsize = field(23) { virtual.record(vsize) }
        if let rss = field(24) { resident.record(rss * pageSize) }
        if let start = field(22), let boot = Self.bootTime { startTime.record(boot + start / ticks) }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") { openFiles.record(entries.count) }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFiles.record(Double(limit.rlim_cur)) }
    }

    /// Seconds since the epoch at boot (`btime` of /proc/stat).
    static let bootTime: Double? = {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") { return Double(line.dropFirst(6)) }
        return nil
    }()
}
