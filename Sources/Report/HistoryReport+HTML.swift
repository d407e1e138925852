import Foundation
import Monitor

extension HistoryReport {
    /// One self-contained HTML document: inline `<style>` only, no script, no external URL, no
    /// web font, so the file can be mailed or archived and opens the same anywhere.
    ///
    /// A header with the window and the generation time and an overview of the checks, then
    /// per check a `<section class="check">`: the numbers of the other formats for the window,
    /// the daily uptime bar and the latency chart of `series` (matched by key; a check without
    /// one shows days without data), and the window's incidents, newest first (at most
    /// `maxIncidents`; the JSON format lists them all). Every label and message is escaped.
    /// `since`, `until`, `now`: Unix milliseconds, as given to `build`.
    public static func html(
        _ reports: [CheckReport], series: [DaySeries], since: Int64, until: Int64, now: Int64, maxIncidents: Int = 100
    ) -> String {
        let end = min(until, now)
        let byKey = Dictionary(series.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        var out = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Health report \(HTML.escape(displayTime(since))) – \(HTML.escape(displayTime(end)))</title>
            <style>\(style)</style>
            </head>
            <body>
            <main>
            <header class="page">
            <h1>Health report</h1>
            <p class="window">Window <time>\(HTML.escape(displayTime(since)))</time> – <time>\(HTML.escape(displayTime(end)))</time> \
            (\(HTML.escape(span(end - since))))</p>
            <p class="generated">Generated <time>\(HTML.escape(displayTime(now)))</time> by healthmonitor · \
            \(reports.count) check\(reports.count == 1 ? "" : "s")</p>

            """
        out += overview(reports)
        out += "</header>\n"
        for (index, report) in reports.enumerated() {
            let days = byKey[report.key] ?? DaySeries(key: report.key, rollups: [], newest: nil, until: end)
            out += section(report, days: days, id: "check-\(index + 1)", now: end, maxIncidents: maxIncidents)
        }
        if reports.isEmpty { out += "<p class=\"none\">No check has history in this window.</p>\n" }
        out += "</main>\n</body>\n</html>\n"
        return out
    }

    /// A table of every check: status, uptimes, incidents, each linking to its section.
    private static func overview(_ reports: [CheckReport]) -> String {
        guard !reports.isEmpty else { return "" }
        var out = "<table class=\"overview\">\n<thead><tr><th>Check</th><th>Status</th><th class=\"num\">Results</th>"
        out += "<th class=\"num\">Uptime</th><th class=\"num\">Uptime (time)</th><th class=\"num\">Coverage</th>"
        out += "<th class=\"num\">p95 ms</th><th class=\"num\">Incidents</th></tr></thead>\n<tbody>\n"
        for (index, report) in reports.enumerated() {
            let s = report.summary
            let state = status(report)
            out += "<tr><td><a href=\"#check-\(index + 1)\">\(HTML.escape(report.key))</a></td>"
            out += "<td><span class=\"badge \(state.kind)\">\(HTML.escape(state.text))</span></td>"
            out += "<td class=\"num\">\(s.results)</td><td class=\"num\">\(percent(s.uptime))</td>"
            out += "<td class=\"num\">\(percent(s.uptimeTime))</td><td class=\"num\">\(percent(s.coverage))</td>"
            out += "<td class=\"num\">\(milliseconds(s.latency.quantile(0.95)))</td><td class=\"num\">\(s.incidents.count)</td></tr>\n"
        }
        out += "</tbody>\n</table>\n"
        return out + "<p class=\"legend\">Daily uptime (time-weighted): " + uptimeLegend() + "</p>\n"
    }

    /// One check: its numbers, its days and its incidents.
    private static func section(_ report: CheckReport, days: DaySeries, id: String, now: Int64, maxIncidents: Int) -> String {
        let s = report.summary
        let state = status(report)
        var out = "<section class=\"check\" id=\"\(id)\" data-key=\"\(HTML.escape(report.key))\">\n"
        out += "<div class=\"check-head\"><h2>\(HTML.escape(report.key))</h2>"
        out += "<span class=\"badge \(state.kind)\">\(HTML.escape(state.text))</span></div>\n"
        if report.fromRollups {
            out += "<p class=\"note\">Part of the window is older than the raw results kept: those hours come from the hourly "
            out += "rollups, whole, and show no incidents.</p>\n"
        }
        let mttr = HistoryMath.mttr(s.incidents).map { duration(Int64($0.rounded())) } ?? "-"
        let mtbf = HistoryMath.mtbf(s).map { duration(Int64($0.rounded())) } ?? "-"
        let latency = [0.5, 0.95, 0.99].map { milliseconds(s.latency.quantile($0)) }.joined(separator: " / ")
        let stats: [(String, String, String)] = [
            ("Results", "\(s.results)", "\(s.successes) ok · \(s.failures) failed"),
            ("Uptime", percent(s.uptime), "of results"),
            ("Uptime (time)", percent(s.uptimeTime), "of the time covered"),
            ("Coverage", percent(s.coverage), "of the window with data"),
            ("Latency p50 / p95 / p99", latency, "ms"),
            ("Latency max / avg", milliseconds(s.latency.count > 0 ? s.latency.max : nil) + " / " + milliseconds(s.latency.average), "ms"),
            ("MTTR / MTBF", "\(mttr) / \(mtbf)", "mean time to recovery / between failures"),
            ("Incidents", "\(s.incidents.count)", s.incidents.contains { $0.end == nil } ? "one ongoing" : "in the window"),
        ]
        out += "<dl class=\"stats\">\n"
        for (name, value, detail) in stats {
            out += "<div><dt>\(HTML.escape(name))</dt><dd>\(HTML.escape(value))</dd><dd class=\"detail\">\(HTML.escape(detail))</dd></div>\n"
        }
        out += "</dl>\n"

        var up: Int64 = 0
        var covered: Int64 = 0
        for day in days.days {
            up += day.summary.upMillis
            covered += day.summary.upMillis + day.summary.downMillis
        }
        let overall = covered > 0 ? percent(Double(up) / Double(covered)) + " up over the days with data" : "no data in these days"
        out += "<h3>Daily uptime, last \(days.days.count) days <span class=\"aside\">\(HTML.escape(overall))</span></h3>\n"
        out += "<div class=\"chart\">" + SVG.uptimeBar(days.days) + "</div>\n"
        if let first = days.days.first, let last = days.days.last {
            out += "<div class=\"bar-scale\"><span>\(HTML.escape(first.date))</span><span>\(HTML.escape(last.date)) (UTC)</span></div>\n"
        }
        out += "<h3>Latency per day <span class=\"aside\">p50 and p95, ms</span></h3>\n"
        out += "<div class=\"chart\">" + SVG.latencyChart(days.days) + "</div>\n"

        let incidents = Array(s.incidents.reversed())
        out += "<h3>Incidents in the window <span class=\"aside\">\(incidents.count), newest first</span></h3>\n"
        if incidents.isEmpty {
            out += "<p class=\"none\">No incidents in the window.</p>\n"
        } else {
            // No failure count: the report reads incidents from status changes only, which do not have it.
            out += "<table class=\"incidents\">\n<thead><tr><th>Start</th><th>End</th><th class=\"num\">Duration</th>"
            out += "<th>First failure message</th></tr></thead>\n<tbody>\n"
            for incident in incidents.prefix(max(0, maxIncidents)) {
                let end = incident.end.map { "<time>\(HTML.escape(displayTime($0)))</time>" } ?? "<span class=\"ongoing\">ongoing</span>"
                out += "<tr class=\"incident\(incident.end == nil ? " open" : "")\"><td><time>\(HTML.escape(displayTime(incident.start)))</time></td>"
                out += "<td>\(end)</td><td class=\"num\">\(HTML.escape(duration(incident.duration(now: now))))</td>"
                out += "<td class=\"message\">\(HTML.escape(incident.message))</td></tr>\n"
            }
            out += "</tbody>\n</table>\n"
            if incidents.count > maxIncidents {
                out += "<p class=\"note\">\(incidents.count - maxIncidents) older incidents not shown: "
                out += "<code>--format json</code> lists them all.</p>\n"
            }
        }
        return out + "</section>\n"
    }

    /// The badge of a check: failing (an incident still open), no results, or up.
    private static func status(_ report: CheckReport) -> (kind: String, text: String) {
        if let open = report.summary.incidents.last(where: { $0.end == nil }) {
            return ("failing", "failing since " + displayTime(open.start))
        }
        if report.summary.results == 0 { return ("idle", "no results in the window") }
        return ("up", "up")
    }

    /// The uptime bar's colours, each a swatch (`<span class="swatch">`) and its threshold.
    public static func uptimeLegend() -> String {
        var out = ""
        for (colour, text) in [
            (SVG.Palette.up, "≥ 99.9 %"), (SVG.Palette.degraded, "≥ 99 %"), (SVG.Palette.impaired, "≥ 95 %"),
            (SVG.Palette.down, "< 95 %"), (SVG.Palette.noData, "no data"),
        ] {
            out += "<span class=\"swatch\" style=\"background:\(colour)\"></span>\(HTML.escape(text)) "
        }
        return out
    }

    /// The length of a window: `duration`'s units, and days from two days on (`30.0 days`).
    public static func span(_ millis: Int64) -> String {
        millis >= 2 * DaySeries.dayMillis ? String(format: "%.1f days", Double(millis) / Double(DaySeries.dayMillis)) : duration(millis)
    }

    /// `2026-11-25 13:05:09 UTC` for Unix milliseconds.
    public static func displayTime(_ millis: Int64) -> String {
        let iso = WallClock.iso8601(millis: millis)
        return String(iso.prefix(10)) + " " + String(iso.dropFirst(11).prefix(8)) + " UTC"
    }

    /// The page's only styling: system fonts, a column readable from 1280 px wide down to a phone.
    /// The status page builds on it, so both pages look alike.
    public static let style = """
        :root{color-scheme:light;--ink:#212529;--muted:#6c757d;--line:#dee2e6;--bg:#f1f3f5;--card:#fff}
        *{box-sizing:border-box}
        body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
        main{max-width:1200px;margin:0 auto;padding:24px 20px 48px}
        h1{font-size:26px;margin:0 0 4px}
        h2{font-size:18px;margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
        h3{font-size:14px;margin:22px 0 8px;color:#343a40}
        .aside{font-weight:normal;color:var(--muted);margin-left:8px}
        header.page,section.check{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin-bottom:20px}
        .window,.generated{margin:2px 0;color:var(--muted)}
        .window time{color:var(--ink);font-weight:600}
        table{border-collapse:collapse;width:100%;margin-top:14px}
        th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
        th{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);font-weight:600}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        tbody tr:nth-child(even){background:#f8f9fa}
        a{color:#1864ab;text-decoration:none}
        a:hover{text-decoration:underline}
        .badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
        .badge.up{background:#d3f9d8;color:#2b8a3e}
        .badge.failing{background:#ffe3e3;color:#c92a2a}
        .badge.idle{background:#e9ecef;color:#495057}
        .legend{margin:14px 0 0;color:var(--muted);font-size:12px}
        .swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin:0 4px 0 10px;vertical-align:-1px}
        .check-head{display:flex;align-items:center;justify-content:space-between;gap:16px}
        .stats{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:10px;margin:16px 0 0}
        .stats>div{border:1px solid var(--line);border-radius:8px;padding:8px 12px;min-width:0}
        .stats dt{font-size:12px;color:var(--muted)}
        .stats dd{margin:0;font-size:18px;font-weight:600;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
        .stats dd.detail{font-size:12px;font-weight:normal;color:var(--muted)}
        .chart svg{display:block;width:100%;height:auto}
        .bar-scale{display:flex;justify-content:space-between;font-size:12px;color:var(--muted);margin-top:4px}
        table.incidents td{font-size:13px}
        td time{white-space:nowrap;font-variant-numeric:tabular-nums}
        td.message{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere;width:55%}
        .ongoing{color:#c92a2a;font-weight:600}
        .note{background:#fff9db;border:1px solid #ffe066;border-radius:6px;padding:6px 10px;font-size:13px}
        .none{color:var(--muted)}
        @media (max-width:800px){.stats{grid-template-columns:repeat(2,minmax(0,1fr))}}
        """
}
