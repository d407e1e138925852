import Foundation
import Report

/// A badge for a README: a flat two-part SVG in the shields.io look, a grey label on the left and
/// a message on a colour on the right (`uptime 7d | 99.95%`). A pure value: the routes fill it
/// from the history and send `svg()`.
public struct Badge: Sendable, Hashable {
    /// The left part: what is measured (`uptime 7d`).
    public var label: String
    /// The right part: the value (`99.95%`, `no data`).
    public var message: String
    /// Background of the message, `#rrggbb`.
    public var color: String

    /// Background of the label.
    public static let labelColor = "#555555"

    /// A badge of any text; `color`: `#rrggbb`.
    public init(label: String, message: String, color: String) {
        self.label = label
        self.message = message
        self.color = color
    }

    // MARK: The two badges

    /// Time-weighted uptime over `window` (0…1, `nil`: no data in it), coloured as the status
    /// page's and the report's uptime bar: green from 99.9 %, yellow from 99 %, orange from
    /// 95 %, red below, grey without data. `history`: whether there is a history to read.
    ///
    /// `Badge.uptime(0.99953, window: .days7)` is `uptime 7d | 99.95%` in green.
    public static func uptime(_ uptime: Double?, window: UptimeWindow, history: Bool = true) -> Badge {
        let label = "uptime \(window.rawValue)"
        guard history else { return Badge(label: label, message: "history off", color: SVG.Palette.noData) }
        guard let uptime else { return Badge(label: label, message: "no data", color: SVG.Palette.noData) }
        return Badge(label: label, message: uptimeText(uptime), color: SVG.color(uptime: uptime))
    }

    /// The 95th percentile of the latency over the last 24 hours, in ms (`nil`: no latency in
    /// them, e.g. only failures, or a `random` check), coloured by `latencyColor`. p95, not p50:
    /// a README reader asks how slow it gets, and the median hides the slow tail.
    ///
    /// `Badge.latency(p95: 12.34)` is `latency p95 24h | 12.3 ms` in green.
    public static func latency(p95: Double?, history: Bool = true) -> Badge {
        let label = "latency p95 24h"
        guard history else { return Badge(label: label, message: "history off", color: SVG.Palette.noData) }
        guard let p95 else { return Badge(label: label, message: "no data", color: SVG.Palette.noData) }
        return Badge(label: label, message: latencyText(p95), color: latencyColor(p95))
    }

    /// Green below 200 ms, yellow below 500 ms, orange below 1 s, red from 1 s.
    public static func latencyColor(_ milliseconds: Double) -> String {
        if milliseconds < 200 { return SVG.Palette.up }
        if milliseconds < 500 { return SVG.Palette.degraded }
        if milliseconds < 1000 { return SVG.Palette.impaired }
        return SVG.Palette.down
    }

    /// `99.95%`: two decimals, cut rather than rounded (99.999 % is not `100%` while anything
    /// was down), trailing zeros dropped (`99.5%`, `100%`).
    public static func uptimeText(_ uptime: Double) -> String {
        // The epsilon keeps a share that is exactly 99.95 % in decimal (0.9995 is 0.99949999… in
        // binary) from being cut to 99.94 %.
        let hundredths = (min(max(uptime, 0), 1) * 10_000 + 1e-6).rounded(.down)
        var text = String(format: "%.2f", hundredths / 100)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text + "%"
    }

    /// `1.25 ms` below 10 ms, `123.4 ms` below 1 s, then seconds: `1.23 s`.
    public static func latencyText(_ milliseconds: Double) -> String {
        milliseconds < 1000 ? HistoryReport.milliseconds(milliseconds) + " ms" : String(format: "%.2f s", milliseconds / 1000)
    }

    // MARK: Rendering

    /// A standalone SVG document (it has `xmlns`), 20 high, as wide as its text: each half is
    /// the text's width in 11 px Verdana (estimated, `textWidth`) plus 5 on each side. The text
    /// is white on dark colours and dark on light ones (yellow, grey), for contrast.
    public func svg() -> String {
        let left = Self.textWidth(label) + 10
        let right = Self.textWidth(message) + 10
        let total = left + right
        let label = HTML.escape(label)
        let message = HTML.escape(message)
        let ink = Self.isLight(color) ? "#212529" : "#ffffff"
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(total)\" height=\"20\" viewBox=\"0 0 \(total) 20\""
        svg += " role=\"img\" aria-label=\"\(label): \(message)\">"
        svg += "<title>\(label): \(message)</title>"
        svg += "<linearGradient id=\"shine\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbbbbb\" stop-opacity=\".1\"/>"
        svg += "<stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>"
        svg += "<clipPath id=\"round\"><rect width=\"\(total)\" height=\"20\" rx=\"3\" fill=\"#ffffff\"/></clipPath>"
        svg += "<g clip-path=\"url(#round)\"><rect width=\"\(left)\" height=\"20\" fill=\"\(Self.labelColor)\"/>"
        svg += "<rect x=\"\(left)\" width=\"\(right)\" height=\"20\" fill=\"\(color)\"/>"
        svg += "<rect width=\"\(total)\" height=\"20\" fill=\"url(#shine)\"/></g>"
        svg += "<g text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"11\">"
        // A shadow one unit below white text; dark text needs none.
        svg += Self.text(label, x: Double(left) / 2, ink: "#ffffff")
        svg += Self.text(message, x: Double(left) + Double(right) / 2, ink: ink)
        return svg + "</g></svg>"
    }

    /// One centred text (already escaped), with a shadow under white text.
    private static func text(_ escaped: String, x: Double, ink: String) -> String {
        let at = x == x.rounded() ? String(Int(x)) : String(format: "%.1f", x)
        var out = ""
        if ink == "#ffffff" { out += "<text x=\"\(at)\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">\(escaped)</text>" }
        return out + "<text x=\"\(at)\" y=\"14\" fill=\"\(ink)\">\(escaped)</text>"
    }

    /// Estimated width in pixels of `text` in 11 px Verdana, rounded up: the badge has no font
    /// metrics at hand, so characters fall into a few width classes (measured on Verdana's
    /// advance widths, within about half a pixel each). Too wide is better than clipped.
    static func textWidth(_ text: String) -> Int {
        var width = 0.0
        for character in text {
            switch character {
            case "i", "j", "l", ".", ",", ":", ";", "'", "!", "|": width += 3.1
            case " ": width += 3.9
            case "f", "r", "t", "(", ")", "[", "]", "/", "-", "I", "J": width += 4.7
            case "m", "w": width += 10.2
            case "M", "W", "%": width += 11.2
            case "0"..."9": width += 7.0
            case "A"..."Z": width += 7.6
            case "a"..."z": width += 6.6
            default: width += 7.4
            }
        }
        return Int(width.rounded(.up))
    }

    /// Whether `color` (`#rrggbb`) is light enough that white text on it is hard to read.
    static func isLight(_ color: String) -> Bool {
        guard color.count == 7, color.hasPrefix("#"), let value = Int(color.dropFirst(), radix: 16) else { return false }
        let (r, g, b) = (Double(value >> 16 & 0xFF), Double(value >> 8 & 0xFF), Double(value & 0xFF))
        // Perceived brightness (ITU-R BT.601 weights), 0…255.
        return 0.299 * r + 0.587 * g + 0.114 * b > 160
    }
}
