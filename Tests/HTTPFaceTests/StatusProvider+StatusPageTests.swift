@testable import HTTPFace
import Monitor
import Report
import Testing

/// What the status page reads: the live state, and from a real recorded history the report's
/// uptimes, the 90 days, the last 24 hours and the open incident.
@Suite struct StatusProviderStatusPageTests {
    let h = HistoryMath.hourMillis

    @Test func thePageHasTheReportsNumbersAndTheHistoryOfEachCheck() async throws {
        let now = Int64(WallClock.nowMillis())
        let api = results("hostport/api", minutes: 180, end: now, latency: { Double($0 / 60) + 1 })
        let failing = results("download/api", minutes: 180, end: now, failing: { $0 >= 150 }, message: "HTTP 503 from api")
        let store = try await recordedStore(api + failing)
        let live = liveStatus(["hostport/api", "download/api", "ping/new"], results: api + failing)
        let page = await StatusProvider(live: live, store: store, keepResults: 7 * 86400).statusPage(now: now, cache: StatusPageCache())

        #expect(page.history == .on && page.now == now)
        #expect(page.checks.map(\.state.key) == ["download/api", "hostport/api", "ping/new"])
        for window in UptimeWindow.allCases {
            let reports = try HistoryReport.build(
                store: store, keys: [], since: now - window.millis, until: now, now: now, rawSince: now - 7 * 86_400_000)
            for report in reports {
                let check = try #require(page.checks.first { $0.state.key == report.key })
                #expect(check.uptime[window] == report.summary.uptimeTime, "\(report.key) \(window)")
            }
        }
        let byKey = Dictionary(uniqueKeysWithValues: page.checks.map { ($0.state.key, $0) })
        #expect(byKey["hostport/api"]?.uptime[.hours24] == 1)
        // 30 of 180 minutes down.
        #expect(abs((byKey["download/api"]?.uptime[.days90] ?? 0) - 150.0 / 180) < 1e-9)
        #expect(byKey["ping/new"]?.uptime.isEmpty == true, "no history: no data in any window")

        // The open incident: since the first failure, with its message; none for the check that is up.
        let incident = try #require(byKey["download/api"]?.openIncident)
        #expect(incident.start == failing[150].createdMillis && incident.end == nil && incident.message == "HTTP 503 from api")
        #expect(byKey["hostport/api"]?.openIncident == nil)

        // 90 days and 24 hours, the last ones now; the hours' p50 from the rollups.
        for check in page.checks {
            #expect(check.days?.days.count == 90)
            #expect(check.hours.map(\.hour) == Array((now - 1) / h - 23...(now - 1) / h), "\(check.state.key)")
        }
        #expect(byKey["hostport/api"]?.days?.days.last?.uptime == 1)
        #expect(byKey["ping/new"]?.days?.days.allSatisfy { $0.uptime == nil } == true)
        let rollups = try store.rollups(key: "hostport/api", fromHour: (now - 1) / h - 23, toHour: (now - 1) / h + 1)
        #expect(rollups.count >= 3)
        for rollup in rollups {
            let hour = byKey["hostport/api"]?.hours.first { $0.hour == rollup.hour }
            #expect(hour?.p50 == rollup.latency.quantile(0.5) && hour?.results == rollup.results, "hour \(rollup.hour)")
        }
        #expect(byKey["ping/new"]?.hours.allSatisfy { $0.p50 == nil && $0.results == 0 } == true)
    }

    /// Records `results` through the monitor's recorder into `store` and shows them to `live`.
    func record(_ results: [CheckResult], into store: any HistoryStore, live: LiveStatus) async {
        let recorder = HistoryRecorder(store: store, sleeps: Dictionary(uniqueKeysWithValues: Set(results.map(\.key)).map { ($0, 60.0) }), logger: .init(label: "test"))
        let running = Task { try await recorder.run() }
        for result in results { recorder.record(result) }
        await recorder.flush()
        running.cancel()
        for result in results { live.observe(result) }
    }

    /// A check with a day of history keeps its 7, 30 and 90 day uptimes and the days before
    /// today for `maxAge`; the 24 h uptime, the open incident, the hours and today's bar are read
    /// on every load.
    @Test func theSlowPartOfAMatureCheckIsKeptAndTheRestIsReadEveryTime() async throws {
        let t0 = Int64(WallClock.nowMillis())
        let up = results("hostport/db", minutes: 25 * 60, end: t0)
        let store = try await recordedStore(up)
        let status = StatusProvider(live: liveStatus(["hostport/db"], results: up), store: store, keepResults: 7 * 86400)
        let cache = StatusPageCache(maxAge: 600)
        let first = await status.statusPage(now: t0, cache: cache)
        #expect(first.keptSince == nil && first.keptFor == 600_000, "all read now")
        #expect(first.checks[0].uptime == [.hours24: 1, .days7: 1, .days30: 1, .days90: 1])

        // Five failures in the next minutes, then a load 6 minutes on.
        let t1 = t0 + 6 * 60_000
        let down = results("hostport/db", minutes: 5, end: t1, failing: { _ in true }, message: "connection refused")
        await record(down, into: store, live: status.live)

        let second = await status.statusPage(now: t1, cache: cache)
        let check = second.checks[0]
        let day = try HistoryReport.build(store: store, keys: [], since: t1 - 86_400_000, until: t1, now: t1, rawSince: 0)[0].summary
        #expect(check.uptime[.hours24] == day.uptimeTime && day.uptimeTime! < 1, "24 h read now")
        #expect(check.openIncident?.start == down[0].createdMillis && check.openIncident?.message == "connection refused")
        #expect(check.hours.last?.hour == (t1 - 1) / HistoryMath.hourMillis)
        let sameDay = (t0 - 1) / DaySeries.dayMillis == (t1 - 1) / DaySeries.dayMillis
        if sameDay {
            #expect(second.keptSince == t0)
            #expect(check.uptime[.days7] == 1 && check.uptime[.days90] == 1, "kept from the first load")
            #expect(check.days?.days.last?.summary.failures == 5, "today read now")
        } else {
            #expect(second.keptSince == nil, "a new UTC day starts afresh")
        }

        // Another cache, or the same one past maxAge, reads it all now. Past midnight UTC the
        // second load filled the cache afresh: its maxAge runs from then.
        let filled = sameDay ? t0 : t1
        for (cache, now) in [(StatusPageCache(), t1), (cache, filled + 600_000)] {
            let fresh = await status.statusPage(now: now, cache: cache)
            #expect(fresh.keptSince == nil)
            let week = try HistoryReport.build(store: store, keys: [], since: now - 7 * 86_400_000, until: now, now: now, rawSince: 0)[0].summary
            #expect(fresh.checks[0].uptime[.days7] == week.uptimeTime && week.uptimeTime! < 1)
        }
    }

    /// A check with less than a day of history, or none at the last load, is read every time:
    /// its 7 days never say less than its 24 hours.
    @Test func aYoungCheckIsReadEveryTime() async throws {
        let t0 = Int64(WallClock.nowMillis())
        let young = results("hostport/young", minutes: 60, end: t0)
        let store = try await recordedStore(young)
        let status = StatusProvider(live: liveStatus(["hostport/young", "ping/new"], results: young), store: store, keepResults: 7 * 86400)
        let cache = StatusPageCache(maxAge: 600)
        let first = await status.statusPage(now: t0, cache: cache)
        #expect(first.checks.first { $0.state.key == "ping/new" }?.uptime.isEmpty == true)

        let t1 = t0 + 2 * 60_000
        let down = results("hostport/young", minutes: 1, end: t1, failing: { _ in true })
        let new = results("ping/new", minutes: 2, end: t1, latency: { _ in 9 })
        await record(down + new, into: store, live: status.live)
        let second = await status.statusPage(now: t1, cache: cache)
        #expect(second.keptSince == nil)
        for key in ["hostport/young", "ping/new"] {
            let check = try #require(second.checks.first { $0.state.key == key })
            for window in UptimeWindow.allCases {
                let report = try HistoryReport.build(store: store, keys: [key], since: t1 - window.millis, until: t1, now: t1, rawSince: 0)[0]
                #expect(check.uptime[window] == report.summary.uptimeTime, "\(key) \(window)")
            }
            #expect(check.days?.days.last?.uptime != nil, "\(key)")
        }
    }

    @Test func withoutAReadableHistoryThePageHasTheLiveState() async {
        let now = Int64(WallClock.nowMillis())
        let seen = results("hostport/db", minutes: 3, end: now, failing: { _ in true }, message: "connection refused")
        for (store, history) in [(nil, StatusPage.History.off), (UnreadableStore() as (any HistoryStore)?, .unreadable("database is locked"))] {
            let page = await StatusProvider(live: liveStatus(["hostport/db"], results: seen), store: store, keepResults: 0)
                .statusPage(now: now, cache: StatusPageCache())
            #expect(page.history == history)
            #expect(page.checks.count == 1)
            let check = page.checks[0]
            #expect(check.state.status == .failure && check.state.message == "connection refused" && check.state.results == 3)
            #expect(check.state.sinceMillis == seen[0].createdMillis)
            #expect(check.uptime.isEmpty && check.days == nil && check.hours.isEmpty && check.openIncident == nil)
        }
    }
}
