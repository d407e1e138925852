import Monitor
import Report

extension StatusProvider {
    /// What the status page shows at `now` (Unix ms): every configured check's live state and,
    /// with a history, one report per uptime window for all checks at once (the same numbers as
    /// `healthmonitor report`), then in one read per check its last 90 days and the hourly
    /// rollups of its last 24 hours. A history that cannot be read leaves the live state.
    public func statusPage(now: Int64) async -> StatusPage {
        let states = live.snapshot()
        var checks = states.map { StatusPage.Check(state: $0) }
        guard store != nil else { return StatusPage(checks: checks, history: .off, now: now) }
        do {
            for window in UptimeWindow.allCases {
                let reports = try await report(keys: [], since: now - window.millis, until: now) ?? []
                let byKey = Dictionary(reports.map { ($0.key, $0.summary) }, uniquingKeysWith: { first, _ in first })
                for i in checks.indices {
                    guard let summary = byKey[checks[i].state.key] else { continue }
                    checks[i].uptime[window] = summary.uptimeTime
                    // An incident open now is open in every window: the shortest reads fewest
                    // changes. A check the router already saw recover has none, even if the
                    // recovery is not written yet.
                    if window == .hours24, checks[i].state.status != .success {
                        checks[i].openIncident = summary.incidents.last { $0.end == nil }
                    }
                }
            }
            let keys = states.map(\.key)
            let lastHour = HistoryMath.floorDiv(now - 1, HistoryMath.hourMillis)
            let history = try await read { store in
                try keys.map { key in
                    (
                        try DaySeries.load(store: store, key: key, until: now, count: 90),
                        try store.rollups(key: key, fromHour: lastHour - 23, toHour: lastHour + 1)
                    )
                }
            } ?? []
            for (i, (days, rollups)) in history.enumerated() {
                checks[i].days = days
                let byHour = Dictionary(rollups.map { ($0.hour, $0) }, uniquingKeysWith: { first, _ in first })
                checks[i].hours = (lastHour - 23...lastHour).map { hour in
                    let rollup = byHour[hour]
                    return StatusPage.Hour(hour: hour, p50: rollup?.latency.quantile(0.5), results: rollup?.results ?? 0)
                }
            }
            return StatusPage(checks: checks, history: .on, now: now)
        } catch {
            return StatusPage(checks: states.map { StatusPage.Check(state: $0) }, history: .unreadable("\(error)"), now: now)
        }
    }
}
