import Monitor
import Report

/// What the status page reads from the history, with its slow part kept for `maxAge`.
///
/// The 7, 30 and 90 day reports and the 90 days of rollups decode every hourly rollup of every
/// check: about 2 s for 100 checks × 90 days in a release build (1.35 s of it the 90-day report),
/// too much for a page reloading every 30 s. They move slowly once a check has a day of history
/// (5 minutes are at most 0.35 % of it), so they are kept per check; a check with less history
/// (a new one, or one that got its first results since) is read every time, which is cheap for
/// the same reason. What an on-call engineer watches move is read on every load: the 24 h
/// report (its uptime and the open incidents), the hourly rollups of the last 24 hours, and
/// today's bar. A new UTC day starts afresh, so the bar's days stay whole days.
///
/// Used only on the history reader thread (`StatusProvider.read`), which runs one read at a
/// time: two pages loaded at once compute the slow part once, the second finds it kept.
public final class StatusPageCache: Sendable {
    /// One check's history as the page shows it.
    struct Check: Sendable {
        /// Time-weighted uptime per window, 0…1; a window without data is absent.
        var uptime: [UptimeWindow: Double] = [:]
        /// The last 90 days (the last one read now).
        var days: DaySeries
        /// The last 24 hours, oldest first (the last one is the current, partial hour).
        var hours: [StatusPage.Hour]
        /// The incident open now, if the history has one.
        var openIncident: HistoryMath.Incident?
    }

    /// The page's history: per key, and when the oldest kept part was made (Unix ms; `nil`:
    /// everything was read now).
    struct Reading: Sendable {
        var checks: [String: Check]
        var keptSince: Int64?
    }

    /// One check's kept part.
    struct Kept: Sendable {
        /// Unix ms it was made at.
        var made: Int64
        /// Milliseconds of the 90 days that results covered then.
        var covered: Int64
        var uptime: [UptimeWindow: Double]
        var days: DaySeries
    }

    /// Milliseconds a check's slow part is kept.
    public let maxAge: Int64
    /// Milliseconds of history a check needs before its slow part is kept.
    static let matureMillis: Int64 = 86_400_000
    /// The UTC day the kept parts are of, and the parts by key.
    private let kept = Locked<(day: Int64, checks: [String: Kept])>((0, [:]))

    /// `maxAge`: seconds the 7, 30 and 90 day uptimes and the days before today are kept.
    public init(maxAge: Double = 300) {
        self.maxAge = Int64(maxAge * 1000)
    }

    /// The history of `keys` at `now` (Unix ms); `rawSince`: now − `keep_results`, as the report
    /// takes it. Blocking: call it on the history reader thread.
    func read(store: any HistoryStore, keys: [String], now: Int64, rawSince: Int64) throws -> Reading {
        let today = HistoryMath.floorDiv(now - 1, DaySeries.dayMillis)
        var slow = kept.withLock { $0 }
        if slow.day != today { slow = (today, [:]) }
        let stale = keys.filter { key in
            guard let part = slow.checks[key] else { return true }
            return now - part.made >= maxAge || now < part.made || part.covered < Self.matureMillis
        }
        if !stale.isEmpty {
            // One report per window for all the checks to read: the numbers of `healthmonitor report`.
            let known = Set(try store.checks())
            let withHistory = stale.filter(known.contains)
            var uptime: [String: [UptimeWindow: Double]] = [:]
            var covered: [String: Int64] = [:]
            for window in UptimeWindow.allCases where window != .hours24 && !withHistory.isEmpty {
                for report in try HistoryReport.build(
                    store: store, keys: withHistory, since: now - window.millis, until: now, now: now, rawSince: rawSince)
                {
                    uptime[report.key, default: [:]][window] = report.summary.uptimeTime
                    if window == .days90 { covered[report.key] = report.summary.upMillis + report.summary.downMillis }
                }
            }
            for key in stale {
                slow.checks[key] = Kept(
                    made: now, covered: covered[key] ?? 0, uptime: uptime[key] ?? [:],
                    days: known.contains(key)
                        ? try DaySeries.load(store: store, key: key, until: now, count: 90)
                        : DaySeries(key: key, rollups: [], newest: nil, until: now))
            }
            kept.withLock { $0 = slow }
        }

        let day = try HistoryReport.build(store: store, keys: [], since: now - UptimeWindow.hours24.millis, until: now, now: now, rawSince: rawSince)
        let dayByKey = Dictionary(day.map { ($0.key, $0.summary) }, uniquingKeysWith: { first, _ in first })
        let lastHour = HistoryMath.floorDiv(now - 1, HistoryMath.hourMillis)
        var checks: [String: Check] = [:]
        for key in keys {
            // Every key is kept by now: the missing ones were read above.
            guard let part = slow.checks[key] else { continue }
            var days = part.days
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
            check.uptime = part.uptime
            if let summary = dayByKey[key] {
                check.uptime[.hours24] = summary.uptimeTime
                check.openIncident = summary.incidents.last { $0.end == nil }
            }
            checks[key] = check
        }
        let keptSince = keys.compactMap { slow.checks[$0]?.made }.min()
        return Reading(checks: checks, keptSince: keptSince.flatMap { $0 < now ? $0 : nil })
    }
}
