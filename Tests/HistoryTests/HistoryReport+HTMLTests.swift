import Monitor
@testable import Report
import Testing

/// The HTML report as a document: self-contained, escaped, one section per check.
@Suite struct HistoryReportHTMLTests {
    let h = HistoryMath.hourMillis
    /// 2026-12-01 00:00 UTC.
    let midnight: Int64 = 20_788 * 86_400_000

    func reports() -> (reports: [CheckReport], series: [DaySeries], now: Int64) {
        let now = midnight + 12 * h
        var up = HistoryMath.Summary()
        up.results = 1440
        up.successes = 1437
        up.failures = 3
        up.upMillis = 86_280_000
        up.downMillis = 120_000
        up.windowMillis = 86_400_000
        for i in 0..<1440 { up.latency.add(Double(i % 10) + 1) }
        up.incidents = [HistoryMath.Incident(start: now - 5 * h, end: now - 5 * h + 120_000, message: "Failed to connect to db:5432: connection refused")]
        var down = HistoryMath.Summary()
        down.results = 2
        down.failures = 2
        down.downMillis = 120_000
        down.windowMillis = 86_400_000
        down.incidents = [
            HistoryMath.Incident(start: now - h, end: nil, message: "<script>alert(1)</script> \"quotes\" & ampersands")
        ]
        var rollup = HourlyRollup(key: "hostport/db", hour: midnight / h + 3)
        rollup.results = 60
        rollup.upMillis = 3_600_000
        rollup.latency.add(2)
        return (
            [
                CheckReport(key: "hostport/db", summary: up, fromRollups: false),
                CheckReport(key: "filewrite/<i>probe</i>", summary: down, fromRollups: false),
            ],
            [DaySeries(key: "hostport/db", rollups: [rollup], newest: nil, until: now)],
            now
        )
    }

    @Test func oneSelfContainedDocumentWithASectionPerCheck() {
        let (reports, series, now) = reports()
        let html = HistoryReport.html(reports, series: series, since: now - 24 * h, until: now, now: now)
        #expect(html.hasPrefix("<!doctype html>\n<html lang=\"en\">"))
        #expect(html.hasSuffix("</html>\n"))
        // Nothing to fetch, nothing to run.
        for banned in ["<script", "http:", "https:", "src=", "url(", "@import", "@font-face", "<link", "<iframe", "<object"] {
            #expect(!html.contains(banned), "\(banned)")
        }
        #expect(html.components(separatedBy: "<style>").count == 2)
        #expect(html.contains("<title>Health report 2026-11-30 12:00:00 UTC – 2026-12-01 12:00:00 UTC</title>"))
        #expect(html.contains("Window <time>2026-11-30 12:00:00 UTC</time> – <time>2026-12-01 12:00:00 UTC</time> (24.0 h)"))
        #expect(html.contains("Generated <time>2026-12-01 12:00:00 UTC</time> by healthmonitor · 2 checks"))
        #expect(html.components(separatedBy: "<section class=\"check\"").count - 1 == 2)
        #expect(html.components(separatedBy: "<rect class=\"day\"").count - 1 == 180)
        // The series of the first check is in its bar: 2026-12-01 up; the second check has none.
        #expect(html.contains("<title>2026-12-01: 100.000% up, 60 results</title>"))
        #expect(html.components(separatedBy: "no latency data").count - 1 == 1)
    }

    @Test func numbersAndIncidentsOfEachCheck() throws {
        let (reports, series, now) = reports()
        let html = HistoryReport.html(reports, series: series, since: now - 24 * h, until: now, now: now)
        let parts = html.components(separatedBy: "<section class=\"check\"")
        try #require(parts.count == 3)
        let db = parts[1]
        #expect(db.hasPrefix(" id=\"check-1\" data-key=\"hostport/db\">"))
        #expect(db.contains("<span class=\"badge up\">up</span>"))
        for value in ["<dd>1440</dd>", "1437 ok · 3 failed", "<dd>99.792%</dd>", "<dd>99.861%</dd>", "<dd>100.000%</dd>", "<dd>2 min / 24.0 h</dd>"] {
            #expect(db.contains(value), "\(value)")
        }
        // Latencies 1…10 ms evenly: p50 5 (5.02: the histogram's bucket, within 1 %), p95 and
        // p99 10 (clamped to the exact max), max 10, avg 5.5 (exact).
        #expect(db.contains("<dd>5.02 / 10.0 / 10.0</dd>"))
        #expect(db.contains("<dd>10.0 / 5.50</dd>"))
        #expect(db.components(separatedBy: "<tr class=\"incident\">").count - 1 == 1)
        #expect(db.contains(
            "<td><time>2026-12-01 07:00:00 UTC</time></td><td><time>2026-12-01 07:02:00 UTC</time></td><td class=\"num\">2 min</td>"
                + "<td class=\"message\">Failed to connect to db:5432: connection refused</td>"))

        let probe = parts[2]
        #expect(probe.hasPrefix(" id=\"check-2\" data-key=\"filewrite/&lt;i&gt;probe&lt;/i&gt;\">"))
        #expect(probe.contains("<h2>filewrite/&lt;i&gt;probe&lt;/i&gt;</h2>"))
        #expect(probe.contains("<span class=\"badge failing\">failing since 2026-12-01 11:00:00 UTC</span>"))
        #expect(probe.contains(
            "<tr class=\"incident open\"><td><time>2026-12-01 11:00:00 UTC</time></td><td><span class=\"ongoing\">ongoing</span></td>"
                + "<td class=\"num\">60 min</td><td class=\"message\">&lt;script&gt;alert(1)&lt;/script&gt; &quot;quotes&quot; &amp; ampersands</td></tr>"))
        #expect(!html.contains("<i>probe"))
        #expect(probe.contains("<dd>0.000%</dd>") && probe.contains("<dd>- / - / -</dd>"))
    }

    @Test func atMostMaxIncidentsNewestFirst() {
        var (reports, series, now) = reports()
        reports[0].summary.incidents = (0..<5).map {
            HistoryMath.Incident(start: now - 10 * h + Int64($0) * h, end: now - 10 * h + Int64($0) * h + 60_000, message: "m\($0)")
        }
        let html = HistoryReport.html(Array(reports.prefix(1)), series: series, since: now - 24 * h, until: now, now: now, maxIncidents: 3)
        #expect(html.components(separatedBy: "<tr class=\"incident\">").count - 1 == 3)
        let shown = ["m4", "m3", "m2"].map { html.range(of: ">\($0)</td>")?.lowerBound }
        #expect(shown.allSatisfy { $0 != nil } && shown[0]! < shown[1]! && shown[1]! < shown[2]!)
        #expect(!html.contains(">m1</td>"))
        #expect(html.contains("2 older incidents not shown"))
        #expect(HistoryReport.html([], series: [], since: now - h, until: now, now: now).contains("No check has history in this window."))
    }
}
