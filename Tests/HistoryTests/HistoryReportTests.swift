import Monitor
@testable import Report
import Testing

@Suite struct HistoryReportTests {
    /// The text table is read line by line: a message a server wrote (or a label stored before
    /// labels were checked) stays on its line.
    @Test func tableKeepsEachMessageOnItsLine() {
        let hour = HistoryMath.hourMillis
        let now: Int64 = 20_788 * 86_400_000
        var summary = HistoryMath.Summary()
        summary.results = 2
        summary.failures = 2
        summary.windowMillis = 2 * hour
        summary.incidents = [HistoryMath.Incident(start: now - hour, end: nil, message: "HTTP 500\r\nINC forged\u{1B}[2J")]
        let table = HistoryReport.table(
            [CheckReport(key: "download/a\nb", summary: summary, fromRollups: false)], since: now - 2 * hour, until: now, now: now)
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.contains { $0.hasPrefix("download/a\\nb ") })
        #expect(lines.contains("  download/a\\nb  60 min"))
        #expect(lines.contains("    HTTP 500\\r\\nINC forged\\u{1B}[2J"))
        #expect(!table.contains("\r") && !table.contains("\u{1B}"))
    }
}
