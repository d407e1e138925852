import CoreMetrics
import Foundation
import Synchronization

/// The monitor's metrics, through the swift-metrics API (the executable chooses the backend:
/// Prometheus). Per check: up (0/1), run duration (histogram), results by status, the main
/// time; scheduling: lag (histogram) and overruns; per notifier, sampled before each scrape:
/// queue depth, delivered, failed, dropped, spooled entries and bytes; the process: CPU,
/// memory, open files, start time.
///
/// Metric objects are made once per check (a factory lookup per result would cost a lock and
/// a dictionary search each time).
public final class MonitorMetrics: SchedulerObserver, Sendable {
    /// Histogram buckets (seconds) for run durations: loopback connects to slow downloads.
    public static let durationBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// Histogram buckets (seconds) for scheduling lag.
    public static let lagBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    /// The `# HELP` text of every metric family (swift-metrics has no help text: the exposition
    /// adds these lines).
    public static let help: [String: String] = [
        "healthmonitor_check_up": "1 when the check's newest result succeeded, else 0",
        "healthmonitor_check_duration_seconds": "How long each run of the check took",
        "healthmonitor_check_results_total": "Results of the check since the monitor started, by status",
        "healthmonitor_check_response_time_seconds":
            "The check's main time in its newest successful result: ping average RTT, hostport connect, download total, filewrite write",
        "healthmonitor_scheduler_lag_seconds": "How late runs started after their planned start",
        "healthmonitor_scheduler_overruns_total": "Runs that took longer than the check's sleep",
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

    private struct PerCheck: Sendable {
        let up: Gauge
        let duration: CoreMetrics.Timer
        let successes: Counter
        let failures: Counter
        /// `nil` for a check type without a main time (`random`).
        let responseTime: Gauge?
        let overruns: Counter
    }

    private struct PerNotifier: Sendable {
        let channel: NotifierChannel
        let queueDepth: Gauge
        let delivered: Counter
        let failed: Counter
        let dropped: Counter
        let spooledEntries: Gauge
        let spooledBytes: Gauge
    }

    private let checks: [String: PerCheck]
    private let notifiers: [PerNotifier]
    private let lag = CoreMetrics.Timer(label: "healthmonitor_scheduler_lag_seconds")
    private let lastCounts = Mutex<[String: NotifierChannel.Counters]>([:])
    private let process = ProcessMetrics()

    public init(checks: [CheckConfig], channels: [NotifierChannel]) {
        var perCheck: [String: PerCheck] = [:]
        for check in checks {
            let labels = [("check", check.type), ("label", check.label)]
            perCheck[check.key] = PerCheck(
                up: Gauge(label: "healthmonitor_check_up", dimensions: labels),
                duration: CoreMetrics.Timer(label: "healthmonitor_check_duration_seconds", dimensions: labels),
                successes: Counter(label: "healthmonitor_check_results_total", dimensions: labels + [("status", "success")]),
                failures: Counter(label: "healthmonitor_check_results_total", dimensions: labels + [("status", "failure")]),
                responseTime: ["ping", "hostport", "download", "filewrite"].contains(check.type)
                    ? Gauge(label: "healthmonitor_check_response_time_seconds", dimensions: labels) : nil,
                overruns: Counter(label: "healthmonitor_scheduler_overruns_total", dimensions: labels))
        }
        self.checks = perCheck
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

    /// Counts a routed result.
    public func observe(_ result: CheckResult) {
        guard let check = checks[result.key] else { return }
        let up = result.status == .success
        check.up.record(up ? 1 : 0)
        (up ? check.successes : check.failures).increment()
        check.duration.recordNanoseconds(Int64((result.elapsed * 1e9).rounded()))
        if let time = ResponseTime.of(result)?.avg { check.responseTime?.record(time / 1000) }
    }

    public func runStarted(key: String, lag seconds: Double) {
        lag.recordNanoseconds(Int64((max(0, seconds) * 1e9).rounded()))
    }

    public func overran(key: String) {
        checks[key]?.overruns.increment()
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
    private let lastCPU = Mutex<Double>(0)
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
