import Monitor
import Report

extension StatusProvider {
    /// The uptime badge of `key` over `window` up to `now` (Unix ms): the time-weighted uptime
    /// of the report. A check without history in the window says `no data`; a history that
    /// cannot be read just now, `unavailable`.
    public func uptimeBadge(key: String, window: UptimeWindow, now: Int64) async -> Badge {
        guard store != nil else { return .uptime(nil, window: window, history: false) }
        do {
            let summary = try await summary(key: key, since: now - window.millis, until: now)
            return .uptime(summary?.uptimeTime, window: window)
        } catch {
            var badge = Badge.uptime(nil, window: window)
            badge.message = "unavailable"
            return badge
        }
    }

    /// The latency badge of `key`: the p95 of the last 24 hours up to `now` (Unix ms).
    public func latencyBadge(key: String, now: Int64) async -> Badge {
        guard store != nil else { return .latency(p95: nil, history: false) }
        do {
            let summary = try await summary(key: key, since: now - UptimeWindow.hours24.millis, until: now)
            return .latency(p95: summary?.latency.quantile(0.95))
        } catch {
            var badge = Badge.latency(p95: nil)
            badge.message = "unavailable"
            return badge
        }
    }

    /// The report's summary of one check; `nil` when the check has no history yet.
    private func summary(key: String, since: Int64, until: Int64) async throws -> HistoryMath.Summary? {
        do {
            return try await report(keys: [key], since: since, until: until)?.first?.summary
        } catch is HistoryReport.UnknownCheck {
            return nil
        }
    }
}
