import Foundation

/// Inline SVG charts of a check's days, for embedding in an HTML page (the report, later a
/// status page). Each is one `<svg>` element that needs nothing around it: colours, fonts and
/// sizes are presentation attributes, no CSS class is required, no script, no external
/// reference. It has a `viewBox`, so the page may scale it (`width: 100%; height: auto`).
/// (A standalone `.svg` file would also need `xmlns="http://www.w3.org/2000/svg"`; HTML does not.)
public enum SVG {
    /// Fill colours of the uptime bar, by time-weighted uptime.
    public enum Palette {
        /// ≥ 99.9 %.
        public static let up = "#2f9e44"
        /// ≥ 99 % and < 99.9 %.
        public static let degraded = "#f2c94c"
        /// ≥ 95 % and < 99 %.
        public static let impaired = "#f08c00"
        /// < 95 %.
        public static let down = "#e03131"
        /// No data: no result covered any of the day.
        public static let noData = "#d0d5dc"
        /// The p50 line of the latency chart.
        public static let p50 = "#1c7ed6"
        /// The p95 line of the latency chart.
        public static let p95 = "#ae3ec9"
    }

    /// The colour of a day with `uptime` (0…1, `nil`: no data): green from 99.9 %, yellow from
    /// 99 %, orange from 95 %, red below, grey without data.
    public static func color(uptime: Double?) -> String {
        guard let uptime else { return Palette.noData }
        if uptime >= 0.999 { return Palette.up }
        if uptime >= 0.99 { return Palette.degraded }
        if uptime >= 0.95 { return Palette.impaired }
        return Palette.down
    }

    /// A status-page uptime bar: one `<rect class="day">` per day, oldest on the left, coloured
    /// by `color(uptime:)`, each with a `<title>` tooltip (date, uptime, results, failures) and
    /// `data-date="yyyy-mm-dd"`. `width` and `height` in SVG user units (pixels unscaled).
    public static func uptimeBar(_ days: [DaySeries.Day], width: Int = 900, height: Int = 34) -> String {
        let slot = Double(width) / Double(max(days.count, 1))
        let gap = min(2, slot / 4)
        var svg = "<svg class=\"uptime-bar\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\""
        svg += " role=\"img\" aria-label=\"Daily uptime, last \(days.count) days\">"
        for (i, day) in days.enumerated() {
            var tip = "\(day.date): "
            if let uptime = day.uptime {
                tip += "\(HistoryReport.percent(uptime)) up, \(day.results) results"
                if day.summary.failures > 0 { tip += ", \(day.summary.failures) failed" }
            } else {
                tip += day.results > 0 ? "\(day.results) results, no time covered" : "no data"
            }
            svg += "<rect class=\"day\" data-date=\"\(day.date)\" x=\"\(number(Double(i) * slot))\" y=\"0\""
            svg += " width=\"\(number(slot - gap))\" height=\"\(height)\" rx=\"2\" fill=\"\(color(uptime: day.uptime))\">"
            svg += "<title>\(HTML.escape(tip))</title></rect>"
        }
        return svg + "</svg>"
    }

    /// A line chart of each day's p50 and p95 latency: y in ms from 0 (labelled gridlines), x
    /// the days (dates below), a gap where a day has no latency, a dot for a day between two
    /// gaps. Each day with data has a transparent column whose `<title>` gives both values.
    /// Without any latency (e.g. a `random` check) it says so in a strip at most 72 high instead
    /// of drawing an empty scale.
    /// `width` and `height` in SVG user units.
    public static func latencyChart(_ days: [DaySeries.Day], width: Int = 900, height: Int = 200) -> String {
        let p50 = days.map(\.p50)
        let p95 = days.map(\.p95)
        let highest = (p50 + p95).compactMap { $0 }.max() ?? 0
        // Without data, a strip for the sentence and the dates, not an empty plot.
        let height = highest > 0 ? height : min(height, 72)
        let (left, right, top, bottom) = (58.0, 10.0, 22.0, 24.0)
        let plotWidth = Double(width) - left - right
        let plotHeight = Double(height) - top - bottom
        let slot = plotWidth / Double(max(days.count, 1))
        let axis = scale(highest)
        func x(_ i: Int) -> Double { left + (Double(i) + 0.5) * slot }
        func y(_ value: Double) -> Double { top + plotHeight * (1 - value / axis.top) }

        var svg = "<svg class=\"latency-chart\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\""
        svg += " font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\" font-size=\"11\" fill=\"#495057\""
        svg += " role=\"img\" aria-label=\"Latency p50 and p95 per day, in ms\">"
        // Gridlines with their values (without data only the baseline: a scale of nothing misleads).
        for k in 0...(highest > 0 ? Int((axis.top / axis.step).rounded()) : 0) {
            let value = Double(k) * axis.step
            let at = number(y(value))
            svg += "<line x1=\"\(number(left))\" x2=\"\(number(left + plotWidth))\" y1=\"\(at)\" y2=\"\(at)\""
            svg += " stroke=\"\(value == 0 ? "#adb5bd" : "#e9ecef")\" stroke-width=\"1\"/>"
            if highest > 0 { svg += "<text x=\"\(number(left - 6))\" y=\"\(at)\" dy=\"0.35em\" text-anchor=\"end\">\(label(value)) ms</text>" }
        }
        // Dates under the first, a third, two thirds and the last day.
        if !days.isEmpty {
            let marks = Array(Set(days.count < 4 ? Array(days.indices) : [0, days.count / 3, 2 * days.count / 3, days.count - 1])).sorted()
            for i in marks {
                let anchor = i == 0 && days.count > 1 ? "start" : i == days.count - 1 && days.count > 1 ? "end" : "middle"
                let at = anchor == "start" ? left : anchor == "end" ? left + plotWidth : x(i)
                svg += "<line x1=\"\(number(x(i)))\" x2=\"\(number(x(i)))\" y1=\"\(number(top + plotHeight))\""
                svg += " y2=\"\(number(top + plotHeight + 4))\" stroke=\"#adb5bd\"/>"
                svg += "<text x=\"\(number(at))\" y=\"\(number(Double(height) - 6))\" text-anchor=\"\(anchor)\">\(days[i].date)</text>"
            }
        }
        if highest == 0 {
            svg += "<text x=\"\(number(left + plotWidth / 2))\" y=\"\(number(top + plotHeight / 2))\" text-anchor=\"middle\""
            svg += " font-size=\"13\">no latency data in these days</text>"
        }
        // The lines: p95 first, so p50 is drawn over it where they meet.
        svg += line(p95, x: x, y: y, colour: Palette.p95, width: 2, dot: 3)
        svg += line(p50, x: x, y: y, colour: Palette.p50, width: 2, dot: 3)
        // Hover columns.
        for (i, day) in days.enumerated() {
            // From the arrays: a quantile sorts the day's buckets, once per day is enough.
            guard let median = p50[i], let high = p95[i] else { continue }
            let tip = "\(day.date): p50 \(HistoryReport.milliseconds(median)) ms, p95 \(HistoryReport.milliseconds(high)) ms"
            svg += "<rect x=\"\(number(left + Double(i) * slot))\" y=\"\(number(top))\" width=\"\(number(slot))\""
            svg += " height=\"\(number(plotHeight))\" fill=\"transparent\"><title>\(HTML.escape(tip))</title></rect>"
        }
        // Legend, top right.
        var legendX = left + plotWidth - 110
        for (name, colour) in highest > 0 ? [("p50", Palette.p50), ("p95", Palette.p95)] : [] {
            svg += "<line x1=\"\(number(legendX))\" x2=\"\(number(legendX + 18))\" y1=\"10\" y2=\"10\" stroke=\"\(colour)\" stroke-width=\"2.5\"/>"
            svg += "<text x=\"\(number(legendX + 23))\" y=\"10\" dy=\"0.35em\">\(name)</text>"
            legendX += 55
        }
        return svg + "</svg>"
    }

    /// A sparkline: one value per slot, oldest on the left, for the shape of a trend at a glance
    /// (a status page's latency of the last hours). The y scale runs from 0 to the highest value,
    /// so a flat line means steady, not zero. A slot without a value leaves a gap; a value
    /// between two gaps is a dot. Each slot with a value has a transparent column whose `<title>`
    /// is its `title`. Without any value it says `empty` instead. `label`: what it shows, for
    /// screen readers. `width` and `height` in SVG user units.
    ///
    /// `SVG.sparkline([(1.5, "13:00: 1.5 ms"), (nil, "14:00: none"), (2, "15:00: 2 ms")], label: "p50 per hour")`
    public static func sparkline(
        _ points: [(value: Double?, title: String)], label: String, width: Int = 240, height: Int = 40, empty: String = "no data"
    ) -> String {
        let highest = points.compactMap(\.value).max() ?? 0
        let pad = 4.0
        let slot = Double(width) / Double(max(points.count, 1))
        func x(_ i: Int) -> Double { (Double(i) + 0.5) * slot }
        func y(_ value: Double) -> Double { pad + (Double(height) - 2 * pad) * (1 - (highest > 0 ? value / highest : 0)) }
        var svg = "<svg class=\"sparkline\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\""
        svg += " role=\"img\" aria-label=\"\(HTML.escape(label))\">"
        svg += "<line x1=\"0\" x2=\"\(width)\" y1=\"\(number(Double(height) - pad))\" y2=\"\(number(Double(height) - pad))\" stroke=\"#dee2e6\"/>"
        guard highest > 0 else {
            svg += "<text x=\"\(number(Double(width) / 2))\" y=\"\(number(Double(height) / 2))\" dy=\"0.35em\" text-anchor=\"middle\""
            svg += " font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\" font-size=\"11\" fill=\"#868e96\">"
            return svg + HTML.escape(empty) + "</text></svg>"
        }
        svg += line(points.map(\.value), x: x, y: y, colour: Palette.p50, width: 1.5, dot: 2.5)
        for (i, point) in points.enumerated() where point.value != nil {
            svg += "<rect x=\"\(number(Double(i) * slot))\" y=\"0\" width=\"\(number(slot))\" height=\"\(height)\" fill=\"transparent\">"
            svg += "<title>\(HTML.escape(point.title))</title></rect>"
        }
        return svg + "</svg>"
    }

    /// `values` (one per slot, `nil`: none) as a line in `colour`: a polyline through each run
    /// of values, a dot of radius `dot` for a value between two gaps, nothing for a gap. `x`
    /// places a slot, `y` a value, in SVG user units.
    static func line(_ values: [Double?], x: (Int) -> Double, y: (Double) -> Double, colour: String, width: Double, dot: Double) -> String {
        var svg = ""
        var run: [(Int, Double)] = []
        func flush() {
            if run.count == 1 {
                svg += "<circle cx=\"\(number(x(run[0].0)))\" cy=\"\(number(y(run[0].1)))\" r=\"\(label(dot))\" fill=\"\(colour)\"/>"
            } else if run.count > 1 {
                let points = run.map { "\(number(x($0.0))),\(number(y($0.1)))" }.joined(separator: " ")
                svg += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"\(label(width))\""
                svg += " stroke-linejoin=\"round\" stroke-linecap=\"round\"/>"
            }
            run = []
        }
        for (i, value) in values.enumerated() {
            if let value { run.append((i, value)) } else { flush() }
        }
        flush()
        return svg
    }

    /// The axis for values up to `highest` (ms): a top at a whole number of steps, a step of
    /// 1, 2, 2.5 or 5 × a power of ten giving at most 5 gridlines above zero.
    static func scale(_ highest: Double) -> (top: Double, step: Double) {
        guard highest > 0, highest.isFinite else { return (1, 0.25) }
        let rough = highest / 5
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        let step = [1, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        return ((highest / step).rounded(.up) * step, step)
    }

    /// An axis value: at most 6 significant digits, no trailing zeros (`0.25`, `2`, `1500`).
    static func label(_ value: Double) -> String {
        String(format: "%.6g", value)
    }

    /// A coordinate with at most two decimals.
    static func number(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.2f", rounded)
    }
}
