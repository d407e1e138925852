import Monitor
import Report

/// The status page `/`, as a pure function of what it shows: one HTML document with inline
/// style only (the report's stylesheet and a few rules of its own), no script and no external
/// URL, so it works offline and from a phone. It reloads itself every `refreshSeconds`.
///
/// What an on-call engineer needs first comes first: a summary line (how many checks, how many
/// failing) and the failing checks with since when. Then the checks grouped by label (one
/// service, several checks), groups with a failing check first. Per check: its status and since
/// when, the newest result, time-weighted uptime over 24 h, 7 d, 30 d and 90 d, the p50 latency
/// per hour of the last 24 hours (a sparkline: is it slow *now*?), the daily uptime of the last
/// 90 days, and the incident still open. Every label and message is escaped.
public struct StatusPage: Sendable {
    /// One check as the page shows it.
    public struct Check: Sendable {
        /// The live state (status, since when, newest result).
        public var state: LiveStatus.State
        /// Time-weighted uptime (`uptime_time` of the report), 0…1, per window; a window
        /// without data is absent.
        public var uptime: [UptimeWindow: Double] = [:]
        /// The last 90 days; `nil` without a history.
        public var days: DaySeries?
        /// The last 24 hours, oldest first (the last one is the current, partial hour); empty
        /// without a history.
        public var hours: [Hour] = []
        /// The incident still open, from the history (its start and first failure message).
        public var openIncident: HistoryMath.Incident?

        /// A check with its live state only (no history yet).
        public init(state: LiveStatus.State) {
            self.state = state
        }

        var kind: Kind {
            switch state.status {
            case .failure: .failing
            case .success: .up
            case nil: .pending
            }
        }
    }

    /// One hour of a check's latency.
    public struct Hour: Sendable, Hashable {
        /// Unix hour (milliseconds / 3 600 000).
        public var hour: Int64
        /// Median latency of the hour's results in ms; `nil` without latencies.
        public var p50: Double?
        /// Results that started in the hour.
        public var results: Int

        /// Hour `hour` with its median latency (ms) and number of results.
        public init(hour: Int64, p50: Double?, results: Int) {
            self.hour = hour
            self.p50 = p50
            self.results = results
        }
    }

    /// Whether the history could be read.
    public enum History: Sendable, Hashable {
        /// Read: the checks carry their uptimes, days, hours and open incidents.
        case on
        /// `settings.history.enabled: false` (or its file could not be opened).
        case off
        /// Reading it failed just now (e.g. another process holds it locked): why.
        case unreadable(String)
    }

    enum Kind: String {
        case failing, up, pending
    }

    /// Seconds between reloads (`<meta http-equiv="refresh">`).
    public static let refreshSeconds = 30

    /// Every configured check, in any order (the page groups and sorts them).
    public var checks: [Check]
    /// Whether the checks carry their history.
    public var history: History
    /// Unix milliseconds the page is made at.
    public var now: Int64
    /// Unix milliseconds the 7, 30 and 90 day uptimes were computed at, and for how many
    /// milliseconds they are kept (`StatusPageCache`); `nil`: now.
    public var keptSince: Int64?
    /// Milliseconds the slow part is kept (`StatusPageCache.maxAge`).
    public var keptFor: Int64 = 0

    /// A page of `checks` at `now` (Unix ms).
    public init(checks: [Check], history: History, now: Int64) {
        self.checks = checks
        self.history = history
        self.now = now
    }

    /// The checks by label, groups with a failing check first, then by label; in a group the
    /// failing checks first, then those without a result yet, then by key.
    func groups() -> [(label: String, checks: [Check])] {
        let order: [Kind: Int] = [.failing: 0, .pending: 1, .up: 2]
        let byLabel = Dictionary(grouping: checks, by: \.state.label)
        return byLabel.map { label, checks in
            (label, checks.sorted { (order[$0.kind]!, $0.state.key) < (order[$1.kind]!, $1.state.key) })
        }.sorted { a, b in
            let aFailing = a.checks.contains { $0.kind == .failing }
            let bFailing = b.checks.contains { $0.kind == .failing }
            return aFailing != bFailing ? aFailing : a.label < b.label
        }
    }

    /// The whole document.
    public func html() -> String {
        let groups = groups()
        // Ids in page order, so the summary's links find the cards.
        var ids: [String: String] = [:]
        for check in groups.flatMap(\.checks) { ids[check.state.key] = "check-\(ids.count + 1)" }
        let failing = groups.flatMap(\.checks).filter { $0.kind == .failing }
        let pending = checks.filter { $0.kind == .pending }.count
        let title = failing.isEmpty ? "All up" : "\(failing.count) failing"

        var out = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="\(Self.refreshSeconds)">
            <title>\(title) · healthmonitor status</title>
            <style>\(HistoryReport.style)\n\(Self.style)</style>
            </head>
            <body>
            <main>
            <header class="page">
            <h1>Status</h1>

            """
        // The summary line: what is wrong, at once.
        var summary = "\(checks.count) check\(checks.count == 1 ? "" : "s")"
        if checks.isEmpty {
            summary = "No checks configured"
        } else if failing.isEmpty {
            summary = (checks.count == 1 ? "The check is" : "All \(checks.count) checks are") + (pending == checks.count ? " waiting for a first result" : " up")
        } else {
            summary = "\(failing.count) of \(summary) failing"
        }
        if pending > 0 && pending < checks.count { summary += " · \(pending) waiting for a first result" }
        out += "<p class=\"summary \(failing.isEmpty ? "up" : "failing")\">\(HTML.escape(summary))</p>\n"
        if !failing.isEmpty {
            out += "<ul class=\"failing-list\">\n"
            for check in failing {
                let state = check.state
                out += "<li><a href=\"#\(ids[state.key]!)\">\(HTML.escape(state.key))</a> "
                if let since = state.sinceMillis {
                    out += "failing for <strong>\(HTML.escape(HistoryReport.span(max(0, now - since))))</strong>, "
                    out += "since <time>\(HTML.escape(HistoryReport.displayTime(since)))</time>"
                }
                if !state.message.isEmpty { out += "<div class=\"message\">\(HTML.escape(state.message))</div>" }
                out += "</li>\n"
            }
            out += "</ul>\n"
        }
        out += "<p class=\"generated\">Updated <time>\(HTML.escape(HistoryReport.displayTime(now)))</time> · "
        out += "reloads every \(Self.refreshSeconds) s · healthmonitor</p>\n"
        switch history {
        case .on:
            out += "<p class=\"legend\">Uptime is time-weighted"
            if let kept = keptSince, kept < now {
                out += "; 7, 30 and 90 days as of <time>\(HTML.escape(String(HistoryReport.displayTime(kept).dropFirst(11))))</time>"
                out += " (recomputed every \(HTML.escape(HistoryReport.duration(keptFor))))"
            }
            out += ". Daily uptime: " + HistoryReport.uptimeLegend() + "</p>\n"
        case .off:
            out += "<p class=\"note history-off\">History is off (<code>settings.history.enabled: false</code>): this page shows "
            out += "the live state since the monitor started, without uptime, daily bars, latency or incidents.</p>\n"
        case .unreadable(let reason):
            out += "<p class=\"note history-off\">The history cannot be read just now (\(HTML.escape(reason))): this page "
            out += "shows the live state only.</p>\n"
        }
        out += "</header>\n"

        for group in groups {
            let down = group.checks.filter { $0.kind == .failing }.count
            out += "<section class=\"group\(down > 0 ? " failing" : "")\" data-label=\"\(HTML.escape(group.label))\">\n"
            out += "<div class=\"group-head\"><h2>\(HTML.escape(group.label))</h2>"
            let count = "\(group.checks.count) check\(group.checks.count == 1 ? "" : "s")"
            out += "<span class=\"aside\">\(down > 0 ? "\(down) of \(count) failing" : count)</span></div>\n"
            for check in group.checks { out += card(check, id: ids[check.state.key]!) }
            out += "</section>\n"
        }
        out += "</main>\n</body>\n</html>\n"
        return out
    }

    /// One check's card.
    private func card(_ check: Check, id: String) -> String {
        let state = check.state
        let kind = check.kind
        var out = "<article class=\"check \(kind.rawValue)\" id=\"\(id)\" data-key=\"\(HTML.escape(state.key))\" data-status=\"\(kind.rawValue)\">\n"
        var badge = kind == .pending ? "waiting for a first result" : kind == .up ? "up" : "failing"
        if kind != .pending, let since = state.sinceMillis { badge += " for " + HistoryReport.span(max(0, now - since)) }
        out += "<div class=\"check-head\"><h3>\(HTML.escape(state.check)) <span class=\"key\">\(HTML.escape(state.key))</span></h3>"
        out += "<span class=\"badge \(kind == .pending ? "idle" : kind.rawValue)\">\(HTML.escape(badge))</span></div>\n"

        var facts: [String] = []
        if kind != .pending, let since = state.sinceMillis {
            facts.append("\(kind == .up ? "up" : "failing") since <time>\(HTML.escape(HistoryReport.displayTime(since)))</time>")
        }
        if let last = state.lastMillis {
            facts.append("last result \(HTML.escape(HistoryReport.span(max(0, now - last)))) ago")
        }
        if let time = state.responseTimeMs { facts.append("\(HTML.escape(HistoryReport.milliseconds(time))) ms") }
        facts.append("every \(HTML.escape(HistoryReport.duration(Int64((state.sleep * 1000).rounded()))))")
        if let expiry = state.certExpiresMillis { facts.append(Self.certificateFact(expiry: expiry, now: now)) }
        if state.results > 0 {
            facts.append("\(state.results) result\(state.results == 1 ? "" : "s"), \(state.failures) failed since start")
        }
        out += "<p class=\"meta\">\(facts.joined(separator: " · "))</p>\n"
        if !state.message.isEmpty { out += "<p class=\"message\">\(HTML.escape(state.message))</p>\n" }

        guard history == .on else { return out + "</article>\n" }
        out += "<div class=\"figures\">\n<table class=\"uptime\"><thead><tr>"
        for window in UptimeWindow.allCases { out += "<th class=\"num\">Uptime \(window.title)</th>" }
        out += "</tr></thead><tbody><tr>"
        for window in UptimeWindow.allCases {
            let value = check.uptime[window]
            out += "<td class=\"num uptime\" data-window=\"\(window.rawValue)\"><span class=\"swatch\" style=\"background:"
            out += "\(SVG.color(uptime: value))\"></span>\(HTML.escape(value == nil ? "no data" : HistoryReport.percent(value)))</td>"
        }
        out += "</tr></tbody></table>\n"
        let latencies = check.hours.compactMap(\.p50)
        out += "<div class=\"latency\"><div class=\"latency-head\">Latency p50 per hour, last 24 h</div>"
        let points = check.hours.map { hour in
            let start = HistoryReport.displayTime(hour.hour * HistoryMath.hourMillis)
            let time = String(start.dropFirst(11).prefix(5))
            return (value: hour.p50, title: "\(time) UTC: p50 \(HistoryReport.milliseconds(hour.p50)) ms, \(hour.results) results")
        }
        out += SVG.sparkline(points, label: "Latency p50 per hour, last 24 hours", width: 300, height: 44, empty: "no latency data in 24 h")
        if let newest = check.hours.last(where: { $0.p50 != nil })?.p50, let high = latencies.max() {
            out += "<div class=\"latency-scale\"><span>latest hour <strong>\(HTML.escape(HistoryReport.milliseconds(newest))) ms</strong></span>"
            out += "<span>24 h max \(HTML.escape(HistoryReport.milliseconds(high))) ms</span></div>"
        }
        out += "</div>\n</div>\n"
        if let days = check.days {
            out += "<div class=\"chart\">" + SVG.uptimeBar(days.days) + "</div>\n"
            if let first = days.days.first, let last = days.days.last {
                out += "<div class=\"bar-scale\"><span>\(HTML.escape(first.date))</span><span>daily uptime, \(days.days.count) days</span>"
                out += "<span>\(HTML.escape(last.date)) (UTC)</span></div>\n"
            }
        }
        if let incident = check.openIncident {
            out += "<table class=\"incidents\">\n<thead><tr><th>Open incident since</th><th class=\"num\">Duration so far</th>"
            out += "<th>First failure message</th></tr></thead>\n<tbody>\n"
            out += "<tr class=\"incident open\"><td><time>\(HTML.escape(HistoryReport.displayTime(incident.start)))</time></td>"
            out += "<td class=\"num\">\(HTML.escape(HistoryReport.span(max(0, incident.duration(now: now)))))</td>"
            out += "<td class=\"message\">\(HTML.escape(incident.message))</td></tr>\n</tbody>\n</table>\n"
        }
        return out + "</article>\n"
    }

    /// `certificate expires in 89 days (2027-03-01)`, marked when fewer than 14 days are left
    /// (the default `min_cert_days`) or the certificate has expired.
    static func certificateFact(expiry: Int64, now: Int64) -> String {
        let date = String(HistoryReport.displayTime(expiry).prefix(10))
        let days = Double(expiry - now) / 86_400_000
        let text = days < 0
            ? "certificate expired \(HistoryReport.span(now - expiry)) ago (\(date))"
            : "certificate expires in \(days >= 2 ? "\(Int(days)) days" : HistoryReport.span(expiry - now)) (\(date))"
        return "<span class=\"cert\(days < 14 ? " soon" : "")\">\(HTML.escape(text))</span>"
    }

    /// The page's own rules, on top of the report's stylesheet.
    static let style = """
        .summary{font-size:20px;font-weight:700;margin:12px 0 0;padding:10px 16px;border-radius:8px}
        .summary.up{background:#d3f9d8;color:#2b8a3e}
        .summary.failing{background:#ffe3e3;color:#c92a2a}
        .failing-list{list-style:none;margin:8px 0 0;padding:0}
        .failing-list li{padding:8px 16px;border-bottom:1px solid var(--line)}
        .failing-list a{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-weight:600;color:#c92a2a;margin-right:8px}
        .failing-list .message{margin:2px 0 0}
        .generated{margin-top:12px}
        section.group{margin-bottom:26px}
        .group-head{display:flex;align-items:baseline;gap:4px;margin:0 0 8px 4px}
        article.check{background:var(--card);border:1px solid var(--line);border-left:6px solid #2f9e44;border-radius:10px;padding:14px 20px;margin-bottom:12px}
        article.check.failing{border-left-color:#e03131;background:#fff8f8}
        article.check.pending{border-left-color:#adb5bd}
        .check-head h3{margin:0;font-size:16px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
        .check-head .key{font-weight:normal;font-size:12px;color:var(--muted);margin-left:8px}
        .meta{color:var(--muted);font-size:13px;margin:6px 0 0}
        .meta time{color:var(--ink)}
        .meta .cert.soon{color:#c92a2a;font-weight:600}
        .message{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere;margin:4px 0 0;color:#495057}
        .figures{display:grid;grid-template-columns:minmax(0,1fr) 300px;gap:24px;align-items:end;margin:10px 0 10px}
        table.uptime{margin-top:0}
        table.uptime th{text-transform:none;letter-spacing:0}
        table.uptime td{font-size:16px;font-weight:600;border-bottom:none}
        table.uptime .swatch{margin:0 6px 0 0}
        tbody tr:nth-child(even) td.uptime{background:none}
        .latency-head{font-size:12px;color:var(--muted);margin-bottom:2px}
        .latency-scale{display:flex;justify-content:space-between;font-size:12px;color:var(--muted);margin-top:2px}
        .latency-scale strong{color:var(--ink)}
        .latency svg{display:block;width:100%;height:auto}
        table.incidents{margin-top:10px}
        .history-off{margin-top:12px}
        @media (max-width:800px){.figures{grid-template-columns:1fr}}
        """
}
