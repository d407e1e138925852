@testable import HTTPFace
import Report
import Testing

/// The README badges: their text, their colour thresholds and their exact SVG.
@Suite struct BadgeTests {
    @Test(arguments: [
        (1.0, "100%"), (0.99999, "99.99%"), (0.9995, "99.95%"), (0.99953, "99.95%"), (0.995, "99.5%"), (0.5, "50%"),
        (0.123456, "12.34%"), (0.00001, "0%"), (0.0, "0%"),
    ])
    func uptimeIsCutToTwoDecimalsWithoutTrailingZeros(uptime: Double, text: String) {
        #expect(Badge.uptimeText(uptime) == text)
    }

    /// The uptime badge takes the colours of the daily bar, at the same thresholds.
    @Test(arguments: [
        (1.0, SVG.Palette.up), (0.999, SVG.Palette.up), (0.9989, SVG.Palette.degraded), (0.99, SVG.Palette.degraded),
        (0.9899, SVG.Palette.impaired), (0.95, SVG.Palette.impaired), (0.9499, SVG.Palette.down), (0.0, SVG.Palette.down),
    ])
    func uptimeColour(uptime: Double, colour: String) {
        #expect(Badge.uptime(uptime, window: .days30).color == colour)
    }

    @Test(arguments: [
        (0.2, SVG.Palette.up), (199.9, SVG.Palette.up), (200.0, SVG.Palette.degraded), (499.9, SVG.Palette.degraded),
        (500.0, SVG.Palette.impaired), (999.9, SVG.Palette.impaired), (1000.0, SVG.Palette.down), (30_000.0, SVG.Palette.down),
    ])
    func latencyColour(milliseconds: Double, colour: String) {
        #expect(Badge.latencyColor(milliseconds) == colour)
        #expect(Badge.latency(p95: milliseconds).color == colour)
    }

    @Test(arguments: [(1.234, "1.23 ms"), (12.34, "12.3 ms"), (999.94, "999.9 ms"), (1234.0, "1.23 s"), (61_000.0, "61.00 s")])
    func latencyText(milliseconds: Double, text: String) {
        #expect(Badge.latencyText(milliseconds) == text)
    }

    @Test func withoutDataOrHistoryTheBadgeIsGreyAndSaysSo() {
        #expect(Badge.uptime(nil, window: .days7) == Badge(label: "uptime 7d", message: "no data", color: SVG.Palette.noData))
        #expect(Badge.uptime(0.5, window: .days90, history: false) == Badge(label: "uptime 90d", message: "history off", color: SVG.Palette.noData))
        #expect(Badge.latency(p95: nil) == Badge(label: "latency p95 24h", message: "no data", color: SVG.Palette.noData))
        #expect(Badge.latency(p95: 3, history: false).message == "history off")
    }

    /// The whole document for one badge: widths from the estimated text widths (`uptime 7d`
    /// 56 px, `99.95%` 43 px, plus 10 each), white text with a shadow on green.
    @Test func anUptimeBadgeIsExactlyThisSVG() {
        let svg = Badge.uptime(0.99953, window: .days7).svg()
        #expect(
            svg == """
                <svg xmlns="http://www.w3.org/2000/svg" width="119" height="20" viewBox="0 0 119 20" role="img" aria-label="uptime 7d: 99.95%">\
                <title>uptime 7d: 99.95%</title>\
                <linearGradient id="shine" x2="0" y2="100%"><stop offset="0" stop-color="#bbbbbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>\
                <clipPath id="round"><rect width="119" height="20" rx="3" fill="#ffffff"/></clipPath>\
                <g clip-path="url(#round)"><rect width="66" height="20" fill="#555555"/><rect x="66" width="53" height="20" fill="#2f9e44"/>\
                <rect width="119" height="20" fill="url(#shine)"/></g>\
                <g text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">\
                <text x="33" y="15" fill="#010101" fill-opacity=".3">uptime 7d</text><text x="33" y="14" fill="#ffffff">uptime 7d</text>\
                <text x="92.5" y="15" fill="#010101" fill-opacity=".3">99.95%</text><text x="92.5" y="14" fill="#ffffff">99.95%</text>\
                </g></svg>
                """)
    }

    /// Yellow and grey are light: their text is dark, without the shadow white text has.
    @Test func lightColoursGetDarkText() {
        let yellow = Badge.uptime(0.995, window: .hours24).svg()
        #expect(yellow.contains("<rect x=\"73\" width=\"46\" height=\"20\" fill=\"\(SVG.Palette.degraded)\"/>"))
        #expect(yellow.contains("<text x=\"96\" y=\"14\" fill=\"#212529\">99.5%</text>"))
        #expect(!yellow.contains("fill-opacity=\".3\">99.5%"))
        #expect(Badge.isLight(SVG.Palette.noData) && Badge.isLight(SVG.Palette.degraded))
        #expect(!Badge.isLight(SVG.Palette.up) && !Badge.isLight(SVG.Palette.impaired) && !Badge.isLight(SVG.Palette.down))
        #expect(!Badge.isLight(Badge.labelColor))
    }

    @Test func textIsEscapedAndWiderCharactersMakeAWiderBadge() {
        let svg = Badge(label: "a<b", message: "\"Tom\" & 'Jerry'", color: "#2f9e44").svg()
        #expect(svg.contains(">a&lt;b</text>") && svg.contains(">&quot;Tom&quot; &amp; &#39;Jerry&#39;</text>"))
        #expect(!svg.contains("a<b") && !svg.contains("\"Tom\""))
        #expect(Badge.textWidth("iiii") < Badge.textWidth("0000") && Badge.textWidth("0000") < Badge.textWidth("mmmm"))
        #expect(Badge.textWidth("") == 0)
    }

    @Test func windowsFromTheQuery() throws {
        #expect(try UptimeWindow(query: nil) == .days7)
        for window in UptimeWindow.allCases { #expect(try UptimeWindow(query: window.rawValue) == window) }
        #expect(UptimeWindow.allCases.map(\.millis) == [86_400_000, 604_800_000, 2_592_000_000, 7_776_000_000])
        #expect(UptimeWindow.allCases.map(\.title) == ["24 h", "7 d", "30 d", "90 d"])
        for bad in ["2d", "", "7D", "24"] {
            #expect(throws: UptimeWindow.ParseError(found: bad)) { try UptimeWindow(query: bad) }
        }
        #expect(UptimeWindow.ParseError(found: "2d").description == "window: found \"2d\", expected 24h, 7d, 30d or 90d")
    }
}
