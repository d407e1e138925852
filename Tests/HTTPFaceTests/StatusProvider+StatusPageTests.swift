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
        let page = await StatusProvider(live: live, store: store, keepResults: 7 * 86400).statusPage(now: now)

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

    @Test func withoutAReadableHistoryThePageHasTheLiveState() async {
        let now = Int64(WallClock.nowMillis())
        let seen = results("hostport/db", minutes: 3, end: now, failing: { _ in true }, message: "connection refused")
        for (store, history) in [(nil, StatusPage.History.off), (UnreadableStore() as (any HistoryStore)?, .unreadable("database is locked"))] {
            let page = await StatusProvider(live: liveStatus(["hostport/db"], results: seen), store: store, keepResults: 0).statusPage(now: now)
            #expect(page.history == history)
            #expect(page.checks.count == 1)
            let check = page.checks[0]
            #expect(check.state.status == .failure && check.state.message == "connection refused" && check.state.results == 3)
            #expect(check.state.sinceMillis == seen[0].createdMillis)
            #expect(check.uptime.isEmpty && check.days == nil && check.hours.isEmpty && check.openIncident == nil)
        }
    }
}
