import Monitor

/// One check's last days, one entry per UTC day, from its hourly rollups: what the uptime bar
/// and the latency chart of a report or status page show.
///
/// A day is the sum of its hours' rollups (whole hours; the hour holding `until` counts whole,
/// as the rollups keep it). The newest result's coverage reaches the rollups only when the next
/// result comes, so it is added here, as `HistoryReport.report` adds it to a window.
public struct DaySeries: Sendable, Hashable {
    /// Milliseconds in a day (UTC days have no leap seconds in Unix time).
    public static let dayMillis: Int64 = 86_400_000

    /// One UTC day of one check.
    public struct Day: Sendable, Hashable {
        /// Unix day: the day that starts at `day × 86 400 000` ms (UTC midnight).
        public var day: Int64
        /// Results, successes, failures, milliseconds up and down and latencies of the day
        /// (no incidents, no window: the rollups have neither).
        public var summary = HistoryMath.Summary()

        /// An empty day.
        public init(day: Int64) {
            self.day = day
        }

        /// Unix milliseconds of the day's start.
        public var startMillis: Int64 { day * DaySeries.dayMillis }
        /// The UTC date, `yyyy-mm-dd`.
        public var date: String { String(WallClock.iso8601(millis: startMillis).prefix(10)) }
        /// Time-weighted uptime, 0…1: time covered by successes / time covered; `nil` when no
        /// result covered any of the day (no data, which is not downtime).
        public var uptime: Double? { summary.uptimeTime }
        /// Results that started on the day.
        public var results: Int { summary.results }
        /// Median latency of the day's results in ms (≤ 1 % error); `nil` without latencies.
        public var p50: Double? { summary.latency.quantile(0.5) }
        /// 95th percentile latency of the day's results in ms (≤ 1 % error); `nil` without latencies.
        public var p95: Double? { summary.latency.quantile(0.95) }
    }

    /// `check/label`.
    public var key: String
    /// Exactly the requested number of days, oldest first; the last is the day holding the
    /// millisecond before `until` (so an `until` at midnight ends with the day before it).
    public var days: [Day]

    /// The series from `rollups` (one check, any order; hours outside the days are ignored)
    /// and the check's `newest` result, whose coverage (up to `until`) the rollups do not have yet.
    ///
    /// `until`: Unix milliseconds, the end of the report (at most now). `count`: days, ≥ 1.
    public init(key: String, rollups: [HourlyRollup], newest: HistoryRecord?, until: Int64, count: Int = 90) {
        self.key = key
        let range = Self.hours(until: until, count: count)
        let firstDay = HistoryMath.floorDiv(range.fromHour, 24)
        days = (0..<Int64(max(1, count))).map { Day(day: firstDay + $0) }
        func add(_ rollup: HourlyRollup) {
            guard rollup.hour >= range.fromHour, rollup.hour < range.toHour else { return }
            days[Int(HistoryMath.floorDiv(rollup.hour, 24) - firstDay)].summary.add(rollup)
        }
        for rollup in rollups { add(rollup) }
        if let newest {
            var open: [Int64: HourlyRollup] = [:]
            let end = min(newest.createdMillis + newest.capMillis, until)
            HistoryMath.addCoverage(.init(start: newest.createdMillis, end: end, success: newest.success), key: key, to: &open)
            for rollup in open.values { add(rollup) }
        }
    }

    /// The last `count` days of `key` up to `until` (Unix ms, at most now): one rollup query for
    /// all of them and one for the newest result.
    public static func load(store: any HistoryStore, key: String, until: Int64, count: Int = 90) throws -> DaySeries {
        let range = hours(until: until, count: count)
        let rollups = try store.rollups(key: key, fromHour: range.fromHour, toHour: range.toHour)
        // The check's newest, not the newest before `until`: a result with one after it has its
        // coverage in the rollups already. One from `until` on adds nothing.
        let newest = try store.last(key: key, before: .max)
        return DaySeries(key: key, rollups: rollups, newest: newest, until: until, count: count)
    }

    /// The Unix hours `fromHour..<toHour` of the last `count` days up to `until`: from the first
    /// day's midnight to the hour holding the millisecond before `until`, included.
    static func hours(until: Int64, count: Int) -> (fromHour: Int64, toHour: Int64) {
        let lastDay = HistoryMath.floorDiv(until - 1, dayMillis)
        let firstDay = lastDay - Int64(max(1, count)) + 1
        return (firstDay * 24, HistoryMath.floorDiv(until - 1, HistoryMath.hourMillis) + 1)
    }
}
