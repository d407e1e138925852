@testable import HTTPFace
import Monitor
import Report
import Testing

/// The badges' numbers come from the report, over a real recorded history.
@Suite struct StatusProviderBadgesTests {
    @Test func theBadgesShowTheReportsUptimeAndP95() async throws {
        let now = Int64(WallClock.nowMillis())
        // Up for 2 hours but for 12 minutes in the middle; latency 1-7 ms and one slow 900 ms.
        let flaky = results("hostport/db", minutes: 120, end: now, latency: { $0 == 5 ? 900 : Double($0 % 7) + 1 }, failing: { (50..<62).contains($0) })
        let store = try await recordedStore(flaky)
        let status = StatusProvider(live: liveStatus(["hostport/db", "ping/new"], results: flaky), store: store, keepResults: 7 * 86400)

        for window in UptimeWindow.allCases {
            let report = try HistoryReport.build(
                store: store, keys: ["hostport/db"], since: now - window.millis, until: now, now: now, rawSince: now - 7 * 86_400_000)
            let badge = await status.uptimeBadge(key: "hostport/db", window: window, now: now)
            #expect(badge == Badge.uptime(report[0].summary.uptimeTime, window: window), "\(window)")
            // 12 of 120 minutes down.
            #expect(badge.message == "90%" && badge.color == SVG.Palette.down, "\(window): \(badge)")
        }
        let day = try HistoryReport.build(store: store, keys: ["hostport/db"], since: now - 86_400_000, until: now, now: now, rawSince: 0)
        let latency = await status.latencyBadge(key: "hostport/db", now: now)
        #expect(latency == Badge.latency(p95: day[0].summary.latency.quantile(0.95)))
        #expect(latency.label == "latency p95 24h" && latency.color == SVG.Palette.up, "\(latency)")

        // Configured, no history yet.
        #expect(await status.uptimeBadge(key: "ping/new", window: .days7, now: now).message == "no data")
        #expect(await status.latencyBadge(key: "ping/new", now: now).message == "no data")
        // History off, and a history that cannot be read.
        let off = StatusProvider(live: liveStatus(["hostport/db"]), store: nil, keepResults: 0)
        #expect(await off.uptimeBadge(key: "hostport/db", window: .days7, now: now).message == "history off")
        #expect(await off.latencyBadge(key: "hostport/db", now: now).message == "history off")
        let locked = StatusProvider(live: liveStatus(["hostport/db"]), store: UnreadableStore(), keepResults: 0)
        #expect(await locked.uptimeBadge(key: "hostport/db", window: .days7, now: now) == Badge(label: "uptime 7d", message: "unavailable", color: SVG.Palette.noData))
        #expect(await locked.latencyBadge(key: "hostport/db", now: now).message == "unavailable")
    }
}
