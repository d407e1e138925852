@testable import Report
import Monitor
import Testing

/// The uptime bar and the latency chart, on days built by hand.
@Suite struct SVGTests {
    /// 2026-12-01 as a Unix day.
    let december1: Int64 = 20_788

    func day(_ offset: Int64, up: Int64 = 0, down: Int64 = 0, results: Int = 0, failures: Int = 0, latencies: [Double] = []) -> DaySeries.Day {
        var day = DaySeries.Day(day: december1 + offset)
        day.summary.upMillis = up
        day.summary.downMillis = down
        day.summary.results = results
        day.summary.failures = failures
        day.summary.successes = results - failures
        for value in latencies { day.summary.latency.add(value) }
        return day
    }

    @Test(arguments: [
        (1.0, SVG.Palette.up), (0.999, SVG.Palette.up), (0.9989, SVG.Palette.degraded), (0.99, SVG.Palette.degraded),
        (0.9899, SVG.Palette.impaired), (0.95, SVG.Palette.impaired), (0.9499, SVG.Palette.down), (0.0, SVG.Palette.down),
    ])
    func colourByUptime(uptime: Double, colour: String) {
        #expect(SVG.color(uptime: uptime) == colour)
    }

    @Test func noDataIsGrey() {
        #expect(SVG.color(uptime: nil) == SVG.Palette.noData)
        #expect(SVG.color(uptime: day(0).uptime) == SVG.Palette.noData)
        #expect(SVG.color(uptime: day(0, up: 9_167, down: 833).uptime) == SVG.Palette.down)
    }

    @Test func theBarHasOneRectPerDayWithItsColourAndTooltip() {
        var days = (-89...0).map { day(Int64($0)) }
        days[89] = day(0, up: 86_313_600, down: 86_400, results: 2000, failures: 1)  // 99.9 %
        days[88] = day(-1, up: 900, down: 100, results: 10, failures: 1)  // 90 %
        let svg = SVG.uptimeBar(days, width: 900, height: 34)
        #expect(svg.hasPrefix("<svg class=\"uptime-bar\" viewBox=\"0 0 900 34\"") && svg.hasSuffix("</svg>"))
        #expect(svg.components(separatedBy: "<rect class=\"day\"").count - 1 == 90)
        #expect(svg.components(separatedBy: "fill=\"\(SVG.Palette.noData)\"").count - 1 == 88)
        #expect(svg.contains(
            "<rect class=\"day\" data-date=\"2026-12-01\" x=\"890\" y=\"0\" width=\"8\" height=\"34\" rx=\"2\" fill=\"\(SVG.Palette.up)\">"
                + "<title>2026-12-01: 99.900% up, 2000 results, 1 failed</title></rect>"))
        #expect(svg.contains("fill=\"\(SVG.Palette.down)\"><title>2026-11-30: 90.000% up, 10 results, 1 failed</title>"))
        #expect(svg.contains("<rect class=\"day\" data-date=\"2026-09-03\" x=\"0\" "))
        #expect(svg.contains("<title>2026-09-03: no data</title>"))
    }

    @Test func theChartDrawsLinesWithGapsAndADotForALoneDay() {
        // Days 0-2 with latencies, day 3 without, day 4 alone, day 5 without.
        let days = [
            day(-5, latencies: [1, 2]), day(-4, latencies: [1, 2]), day(-3, latencies: [1, 2]), day(-2),
            day(-1, latencies: [2.1]), day(0),
        ]
        let svg = SVG.latencyChart(days, width: 600, height: 200)
        #expect(svg.hasPrefix("<svg class=\"latency-chart\" viewBox=\"0 0 600 200\"") && svg.hasSuffix("</svg>"))
        // One line of three days per percentile, one dot each for the lone day.
        #expect(svg.components(separatedBy: "<polyline ").count - 1 == 2)
        #expect(svg.components(separatedBy: "<circle ").count - 1 == 2)
        // Highest value 2.1 ms: gridlines every 0.5 ms up to 2.5 ms.
        for label in ["0 ms", "0.5 ms", "1 ms", "1.5 ms", "2 ms", "2.5 ms"] { #expect(svg.contains(">\(label)</text>"), "\(label)") }
        #expect(!svg.contains(">3 ms</text>"))
        #expect(svg.contains(">2026-11-26</text>") && svg.contains(">2026-12-01</text>"))
        #expect(svg.contains("<title>2026-11-30: p50 2.10 ms, p95 2.10 ms</title>"))
        let empty = SVG.latencyChart([day(0), day(1)])
        #expect(empty.contains("no latency data") && !empty.contains(" ms</text>") && !empty.contains(">p50</text>"))
        #expect(empty.hasPrefix("<svg class=\"latency-chart\" viewBox=\"0 0 900 72\""))
    }

    @Test func theSparklineScalesFromZeroToTheHighestWithGapsDotsAndTitles() {
        // Four slots of 60 wide in 240 × 40: 2 ms, 4 ms, none, 1 ms alone.
        let svg = SVG.sparkline(
            [(2, "00:00: 2 ms"), (4, "01:00: 4 ms"), (nil, "02:00: none"), (1, "03:00: 1 <ms> & \"more\"")], label: "p50 per hour",
            width: 240, height: 40)
        #expect(svg.hasPrefix("<svg class=\"sparkline\" viewBox=\"0 0 240 40\" width=\"240\" height=\"40\" role=\"img\" aria-label=\"p50 per hour\">"))
        #expect(svg.hasSuffix("</svg>"))
        // y: 4 (top padding) + 32 × (1 − value / 4); x: slot centres.
        #expect(svg.contains("<polyline points=\"30,20 90,4\" fill=\"none\" stroke=\"\(SVG.Palette.p50)\""))
        #expect(svg.contains("<circle cx=\"210\" cy=\"28\" r=\"2.5\""))
        #expect(svg.components(separatedBy: "<title>").count - 1 == 3, "a title per slot with a value")
        #expect(svg.contains("<title>03:00: 1 &lt;ms&gt; &amp; &quot;more&quot;</title>"))
        #expect(!svg.contains("02:00"))

        let empty = SVG.sparkline([(nil, "a"), (nil, "b")], label: "x", empty: "no latency data in 24 h")
        #expect(empty.contains(">no latency data in 24 h</text>"))
        #expect(!empty.contains("<polyline") && !empty.contains("<circle") && !empty.contains("<title>"))
    }

    @Test(arguments: [
        (2.1, 2.5, 0.5), (0.9, 1.0, 0.2), (1234.0, 1250.0, 250.0), (5.0, 5.0, 1.0), (0.0, 1.0, 0.25), (0.013, 0.015, 0.005),
    ])
    func axisStepsAreOneTwoTwoAndAHalfOrFive(highest: Double, top: Double, step: Double) {
        let axis = SVG.scale(highest)
        #expect(abs(axis.top - top) < 1e-9 && abs(axis.step - step) < 1e-12, "\(axis)")
    }
}
