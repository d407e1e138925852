import Monitor
import Report
import Synchronization

/// What the status page reads from the history, with its slow part kept for `maxAge`.
///
/// The 7, 30 and 90 day reports and the 90 days of rollups decode every hourly rollup of every
/// check: about 2 s for 100 checks × 90 days in a release build (1.35 s of it the 90-day report),
/// too much for a page reloading every 30 s. They move slowly (5 minutes are 0.05 % of 7 days),
/// so they are kept; what an on-call engineer watches move is read on every load: the 24 h
/// report (its uptime and the open incidents), the hourly rollups of the last 24 hours, and
/// today's bar. A new UTC day starts afresh, so the bar's days stay whole days.
///
/// Used only on the history reader thread (`StatusProvider.read`), which runs one read at a
/// time: two pages loaded at once compute the slow part once, the second finds it kept.
public final class StatusPageCache: Sendable {
    /// One check's history as the page shows it.
    public struct Check: Sendable {
        /// Time-weighted uptime per window, 0…1; a window without data is absent.
        public var uptime: [UptimeWindow: Double] = [:]
        /// The last 90 days (the last one read now).
        public var days: DaySeries
        /// The last 24 hours, oldest first (the last one is the current, partial hour).
        public var hours: [StatusPage.Hour]
        /// The incident open now, if the history has one.
        public var openIncident: HistoryMath.Incident?
    }

    /// The page's history: per key, and when the kept part was made (Unix ms).
    public struct Reading: Sendable {
        public var checks: [String: Check]
        public var keptSince: Int64
    }

    /// The kept part.
    struct Slow: Sendable {
        /// Unix ms it was made at.
        var made: Int64
        /// The UTC day it was made on.
        var day: Int64
        var uptime: [String: [UptimeWindow: Double]]
        var days: [String: DaySeries]
    }

    /// Milliseconds the slow part is kept.
    public let maxAge: Int64
    private let slow = Mutex<Slow?>(nil)

    /// `maxAge`: seconds the 7, 30 and 90 day uptimes and the days before today are kept.
    public init(maxAge: Double = 300) {
        self.maxAge = Int64(maxAge * 1000)
    }

    /// The history of `keys` at `now` (Unix ms); `rawSince`: now − `keep_results`, as the report
    /// takes it. Blocking: call it on the history reader thread.
    func read(store: any HistoryStore, keys: [String], now: Int64, rawSince: Int64) throws -> Reading {
        let today = HistoryMath.floorDiv(now - 1, DaySeries.dayMillis)
        var kept = slow.withLock { $0 }
        if let current = kept, current.day != today || now - current.made >= maxAge || now < current.made { kept = nil }
        let slowPart: Slow
        if let kept {
            slowPart = kept
        } else {
            // One report per window for all checks: the same numbers as `healthmonitor report`.
            var uptime: [String: [UptimeWindow: Double]] = [:]
            for window in UptimeWindow.allCases where window != .hours24 {
                for report in try HistoryReport.build(store: store, keys: [], since: now - window.millis, until: now, now: now, rawSince: rawSince) {
                    uptime[report.key, default: [:]][window] = report.summary.uptimeTime
                }
            }
            var days: [String: DaySeries] = [:]
            for key in keys { days[key] = try DaySeries.load(store: store, key: key, until: now, count: 90) }
            slowPart = Slow(made: now, day: today, uptime: uptime, days: days)
            slow.withLock { $0 = slowPart }
        }

        let day = try HistoryReport.build(store: store, keys: [], since: now - UptimeWindow.hours24.millis, until: now, now: now, rawSince: rawSince)
        let dayByKey = Dictionary(day.map { ($0.key, $0.summary) }, uniquingKeysWith: { first, _ in first })
        let lastHour = HistoryMath.floorDiv(now - 1, HistoryMath.hourMillis)
        var checks: [String: Check] = [:]
        for key in keys {
            var days = slowPart.days[key] ?? DaySeries(key: key, rollups: [], newest: nil, until: now)
            // Today, read now (at most 24 rollups): the bar's last day is never stale.
            if let fresh = try DaySeries.load(store: store, key: key, until: now, count: 1).days.last, days.days.last?.day == fresh.day {
                days.days[days.days.count - 1] = fresh
            }
            let byHour = Dictionary(
                try store.rollups(key: key, fromHour: lastHour - 23, toHour: lastHour + 1).map { ($0.hour, $0) }, uniquingKeysWith: { first, _ in first })
            var check = Check(
                days: days,
                hours: (lastHour - 23...lastHour).map { hour in
                    StatusPage.Hour(hour: hour, p50: byHour[hour]?.latency.quantile(0.5), results: byHour[hour]?.results ?? 0)
                })
            check.uptime = slowPart.uptime[key] ?? [:]
            if let summary = dayByKey[key] {
                check.uptime[.hours24] = summary.uptimeTime
                check.openIncident = summary.incidents.last { $0.end == nil }
            }
            checks[key] = check
        }
        return Reading(checks: checks, keptSince: slowPart.made)
    }
}
