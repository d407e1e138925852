import HistorySQLite
import Monitor
import Report
import Testing

/// The per-day series of the HTML report, cut from hourly rollups.
@Suite struct DaySeriesTests {
    let h = HistoryMath.hourMillis
    let d = DaySeries.dayMillis
    /// 2026-12-01 as a Unix day.
    let december1: Int64 = 20_788

    func rollup(day: Int64, hour: Int64, up: Int64, down: Int64, results: Int = 0, failures: Int = 0, latencies: [Double] = []) -> HourlyRollup {
        var r = HourlyRollup(key: "ping/x", hour: day * 24 + hour)
        r.upMillis = up
        r.downMillis = down
        r.results = results
        r.failures = failures
        r.successes = results - failures
        for value in latencies { r.latency.add(value) }
        return r
    }

    @Test func daysAreWholeUTCDaysEndingWithTheDayOfUntil() {
        let until = december1 * d + 12 * h + 30 * 60_000  // 2026-12-01 12:30
        let first = december1 - 89
        let rollups = [
            rollup(day: first - 1, hour: 23, up: 3_600_000, down: 0, results: 60),  // the day before: left out
            rollup(day: first, hour: 0, up: 3_000_000, down: 600_000, results: 60, failures: 10),
            rollup(day: first, hour: 23, up: 3_600_000, down: 0, results: 60),
            rollup(day: december1 - 1, hour: 5, up: 3_500_000, down: 100_000, results: 60, failures: 2),
            rollup(day: december1 - 1, hour: 6, up: 3_500_000, down: 100_000, results: 60, failures: 1),
            rollup(day: december1, hour: 12, up: 1_800_000, down: 0, results: 30),  // the hour of until
            rollup(day: december1, hour: 13, up: 3_600_000, down: 0, results: 60),  // after until: left out
        ]
        let series = DaySeries(key: "ping/x", rollups: rollups, newest: nil, until: until)
        #expect(series.days.count == 90)
        #expect(series.days.map(\.day) == Array(first...december1))
        #expect(series.days.first?.date == "2026-09-03" && series.days.last?.date == "2026-12-01")
        let day0 = series.days[0]
        #expect(day0.uptime == 6_600_000.0 / 7_200_000.0)
        #expect(day0.results == 120 && day0.summary.failures == 10 && day0.summary.successes == 110)
        #expect(day0.summary.upMillis == 6_600_000 && day0.summary.downMillis == 600_000)
        // A day without rollups is no data, not downtime.
        #expect(series.days[1...87].allSatisfy { $0.uptime == nil && $0.results == 0 && $0.p50 == nil })
        #expect(series.days[88].uptime == 7_000_000.0 / 7_200_000.0)
        #expect(series.days[88].results == 120 && series.days[88].summary.failures == 3)
        #expect(series.days[89].uptime == 1 && series.days[89].results == 30)
    }

    @Test func untilAtMidnightEndsWithTheDayBefore() {
        let series = DaySeries(
            key: "ping/x", rollups: [rollup(day: december1, hour: 0, up: 1000, down: 0)], newest: nil, until: december1 * d, count: 3)
        #expect(series.days.map(\.day) == [december1 - 3, december1 - 2, december1 - 1])
        #expect(series.days.allSatisfy { $0.uptime == nil })
    }

    @Test func percentilesOfADayMergeItsHoursWithinOnePercent() throws {
        // 1…100 ms over two hours, and 1000 ms in the next day (which must not leak in).
        let rollups = [
            rollup(day: december1 - 1, hour: 2, up: 3_600_000, down: 0, results: 50, latencies: (1...50).map(Double.init)),
            rollup(day: december1 - 1, hour: 3, up: 3_600_000, down: 0, results: 50, latencies: (51...100).map(Double.init)),
            rollup(day: december1, hour: 1, up: 3_600_000, down: 0, results: 1, latencies: [1000]),
        ]
        let series = DaySeries(key: "ping/x", rollups: rollups, newest: nil, until: december1 * d + 2 * h, count: 2)
        let day = series.days[0]
        #expect(day.summary.latency.count == 100)
        let p50 = try #require(day.p50)
        let p95 = try #require(day.p95)
        #expect(abs(p50 - 50) / 50 <= 0.01, "p50 \(p50)")
        #expect(abs(p95 - 95) / 95 <= 0.01, "p95 \(p95)")
        #expect(series.days[1].p50 == 1000 && series.days[1].p95 == 1000)
    }

    /// The newest result's coverage is not in the rollups yet (it ends with the next result):
    /// the series adds it, split at midnight, up to `until`.
    @Test func theNewestResultCoversUntilItsCapSplitAtMidnight() {
        let newest = record(at: december1 * d - 60_000, false, sleep: 60)  // 23:59, covers 2 min
        let series = DaySeries(key: "ping/x", rollups: [], newest: newest, until: december1 * d + h, count: 2)
        #expect(series.days[0].summary.downMillis == 60_000 && series.days[1].summary.downMillis == 60_000)
        #expect(series.days[0].uptime == 0 && series.days[0].results == 0)
        // Cut at until.
        let early = DaySeries(key: "ping/x", rollups: [], newest: newest, until: december1 * d + 30_000, count: 2)
        #expect(early.days[1].summary.downMillis == 30_000)
    }

    /// Through the store: one rollup query for the days, the newest result for its coverage.
    @Test func loadsTheDaysFromAStore() throws {
        let store = try SQLiteHistoryStore(path: scratch() + "/history.sqlite")
        let newest = record(at: december1 * d + 10 * h, true, latency: 4, sleep: 300)
        var hour10 = HourlyRollup(key: "ping/x", hour: december1 * 24 + 10)
        hour10.count(newest)
        try store.append(
            [newest], changes: [newest],
            rollups: [
                rollup(day: december1 - 5, hour: 7, up: 1_000_000, down: 3_000_000, results: 4, failures: 3, latencies: [7]),
                hour10,
            ])
        let series = try DaySeries.load(store: store, key: "ping/x", until: december1 * d + 11 * h, count: 7)
        #expect(series.days.map(\.day) == Array((december1 - 6)...december1))
        #expect(series.days[1].uptime == 0.25 && series.days[1].results == 4 && series.days[1].p95 == 7)
        // The newest result: counted by its rollup, covering 2 × 300 s by itself.
        #expect(series.days[6].results == 1 && series.days[6].summary.upMillis == 600_000 && series.days[6].uptime == 1)
        #expect([0, 2, 3, 4, 5].allSatisfy { series.days[$0].uptime == nil })
    }

    /// An `until` before the newest result: the result before `until` has a next one, so its
    /// coverage is in the rollups already and is not added again.
    @Test func anEarlierUntilDoesNotCountCoverageTwice() throws {
        let store = try SQLiteHistoryStore(path: scratch() + "/history.sqlite")
        let a = record(at: december1 * d + 10 * h, true, latency: 4, sleep: 300)
        let b = record(at: december1 * d + 10 * h + 300_000, true, latency: 4, sleep: 300)
        var hour10 = HourlyRollup(key: "ping/x", hour: december1 * 24 + 10)
        hour10.count(a)
        hour10.count(b)
        hour10.upMillis = 300_000  // a, covered up to b, as the recorder writes it
        try store.append([a, b], changes: [a], rollups: [hour10])
        let series = try DaySeries.load(store: store, key: "ping/x", until: december1 * d + 10 * h + 180_000, count: 1)
        #expect(series.days[0].summary.upMillis == 300_000 && series.days[0].results == 2)
        // Up to now: b's own 600 s are added.
        let later = try DaySeries.load(store: store, key: "ping/x", until: december1 * d + 12 * h, count: 1)
        #expect(later.days[0].summary.upMillis == 900_000)
    }
}
