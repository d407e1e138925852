import Monitor
import Report

extension StatusProvider {
    /// What the status page shows at `now` (Unix ms): every configured check's live state and,
    /// with a history, what `cache` reads from it (the report's uptimes, the last 90 days and 24
    /// hours, the open incident; see `StatusPageCache`). A history that cannot be read leaves
    /// the live state.
    public func statusPage(now: Int64, cache: StatusPageCache) async -> StatusPage {
        let states = live.snapshot()
        var checks = states.map { StatusPage.Check(state: $0) }
        guard store != nil else { return StatusPage(checks: checks, history: .off, now: now) }
        let keys = states.map(\.key)
        let rawSince = now - Int64(keepResults * 1000)
        do {
            guard let reading = try await read({ store in try cache.read(store: store, keys: keys, now: now, rawSince: rawSince) }) else {
                return StatusPage(checks: checks, history: .off, now: now)
            }
            for i in checks.indices {
                guard let history = reading.checks[checks[i].state.key] else { continue }
                checks[i].uptime = history.uptime
                checks[i].days = history.days
                checks[i].hours = history.hours
                // A check the router already saw recover has no open incident, even before the
                // recovery is written.
                if checks[i].state.status != .success { checks[i].openIncident = history.openIncident }
            }
            var page = StatusPage(checks: checks, history: .on, now: now)
            page.keptSince = reading.keptSince
            page.keptFor = cache.maxAge
            return page
        } catch {
            return StatusPage(checks: checks, history: .unreadable("\(error)"), now: now)
        }
    }
}
