import Foundation
import Monitor

/// The answers `healthmonitor report` gives for one check over a window.
public struct CheckReport: Sendable {
    public var key: String
    public var summary: HistoryMath.Summary
    /// Whether part of the window lies before the raw results kept (`keep_results`): that part
    /// comes from hourly rollups (whole hours) and has no incidents.
    public var fromRollups: Bool

    public var check: String { String(key.prefix { $0 != "/" }) }
    public var label: String { String(key.drop { $0 != "/" }.dropFirst()) }
}

/// Builds reports from a `HistoryStore` (never writing to it).
public enum HistoryReport {
    public struct UnknownCheck: Error, CustomStringConvertible {
        public var key: String
        public var known: [String]
        public var description: String {
            "no history for check \(key)" + (known.isEmpty ? " (the history is empty)" : "; checks with history: " + known.joined(separator: ", "))
        }
    }

    /// A report per check (`keys`: all when empty) for `since..<until`. Raw results newer than
    /// `rawSince` (now − keep_results) are used exactly; older hours come from rollups.
    public static func build(
        store: any HistoryStore, keys: [String], since: Int64, until: Int64, now: Int64, rawSince: Int64
    ) throws -> [CheckReport] {
        let known = try store.checks()
        for key in keys where !known.contains(key) { throw UnknownCheck(key: key, known: known) }
        return try (keys.isEmpty ? known : keys).map { key in
            try report(store: store, key: key, since: since, until: until, now: now, rawSince: rawSince)
        }
    }

    static func report(store: any HistoryStore, key: String, since: Int64, until: Int64, now: Int64, rawSince: Int64) throws -> CheckReport {
        // The raw part starts at `since`, or at the first whole hour the raw results still cover.
        let hour = HistoryMath.hourMillis
        var rawStart = since
        var older = HistoryMath.Summary()
        var usedRollups = false
        if since < rawSince {
            rawStart = min(until, ((rawSince + hour - 1) / hour) * hour)
            for rollup in try store.rollups(key: key, fromHour: since / hour, toHour: rawStart / hour) {
                usedRollups = true
                older.results += rollup.results
                older.successes += rollup.successes
                older.failures += rollup.failures
                older.upMillis += rollup.upMillis
                older.downMillis += rollup.downMillis
                older.latency.merge(rollup.latency)
            }
        }
        // The raw results of the window, after those of an incident open at its start (one day
        // back at most) and the last result before it (its coverage reaches into the window).
        var records = try store.results(key: key, from: rawStart - 86_400_000, to: until)
        if let first = records.first, first.createdMillis >= rawStart, let before = try store.last(key: key, before: rawStart) {
            records.insert(before, at: 0)
        }
        var summary = HistoryMath.summarize(records, since: rawStart, until: until, now: now)
        summary.results += older.results
        summary.successes += older.successes
        summary.failures += older.failures
        summary.upMillis += older.upMillis
        summary.downMillis += older.downMillis
        summary.latency.merge(older.latency)
        summary.windowMillis = max(0, min(until, now) - since)
        return CheckReport(key: key, summary: summary, fromRollups: usedRollups)
    }

    // MARK: Formats

    /// The JSON shape for scripts:
    /// `{"since","until","checks":[{"check","label","results","successes","failures","uptime",
    /// "uptime_time","coverage","incidents":[{"start","end","duration","message"}],
    /// "latency_ms":{"p50","p95","p99","max","avg"}, "mttr","mtbf"}]}` (times ISO-8601, durations in seconds).
    public static func json(_ reports: [CheckReport], since: Int64, until: Int64, now: Int64) -> String {
        let checks: [JSONValue] = reports.map { report in
            let s = report.summary
            let incidents: [JSONValue] = s.incidents.map { incident in
                [
                    "start": .string(WallClock.iso8601(millis: incident.start)),
                    "end": incident.end.map { .string(WallClock.iso8601(millis: $0)) } ?? .null,
                    "duration": .double(Double(incident.duration(now: min(now, until))) / 1000),
                    "message": .string(incident.message),
                ]
            }
            func number(_ value: Double?) -> JSONValue { value.map { .double(($0 * 1_000_000).rounded() / 1_000_000) } ?? .null }
            return [
                "check": .string(report.check), "label": .string(report.label),
                "results": .int(s.results), "successes": .int(s.successes), "failures": .int(s.failures),
                "uptime": number(s.uptime), "uptime_time": number(s.uptimeTime), "coverage": number(s.coverage),
                "incidents": .array(incidents),
                "mttr": number(HistoryMath.mttr(s.incidents).map { $0 / 1000 }),
                "mtbf": number(HistoryMath.mtbf(s).map { $0 / 1000 }),
                "latency_ms": [
                    "p50": number(s.latency.quantile(0.5)), "p95": number(s.latency.quantile(0.95)),
                    "p99": number(s.latency.quantile(0.99)), "max": number(s.latency.count > 0 ? s.latency.max : nil),
                    "avg": number(s.latency.average),
                ],
            ]
        }
        let value: JSONValue = [
            "since": .string(WallClock.iso8601(millis: since)), "until": .string(WallClock.iso8601(millis: min(until, now))),
            "checks": .array(checks),
        ]
        return value.json()
    }

    /// One line per check, comma-separated, with a header.
    public static func csv(_ reports: [CheckReport], now: Int64) -> String {
        var out = "check,label,results,successes,failures,uptime,uptime_time,coverage,incidents,mttr_s,mtbf_s,p50_ms,p95_ms,p99_ms,max_ms,avg_ms\n"
        for report in reports {
            let s = report.summary
            let fields: [String] = [
                quoted(report.check), quoted(report.label), "\(s.results)", "\(s.successes)", "\(s.failures)",
                plain(s.uptime), plain(s.uptimeTime), plain(s.coverage), "\(s.incidents.count)",
                plain(HistoryMath.mttr(s.incidents).map { $0 / 1000 }), plain(HistoryMath.mtbf(s).map { $0 / 1000 }),
                plain(s.latency.quantile(0.5)), plain(s.latency.quantile(0.95)), plain(s.latency.quantile(0.99)),
                plain(s.latency.count > 0 ? s.latency.max : nil), plain(s.latency.average),
            ]
            out += fields.joined(separator: ",") + "\n"
        }
        return out
    }

    /// A table for an 80-column terminal, then the incidents.
    public static func table(_ reports: [CheckReport], since: Int64, until: Int64, now: Int64) -> String {
        var out = "History \(WallClock.iso8601(millis: since)) – \(WallClock.iso8601(millis: min(until, now)))\n\n"
        out += pad("CHECK", 26) + pad("RUNS", 7, right: true) + pad("UPTIME", 9, right: true) + pad("TIME-UP", 9, right: true)
            + pad("COVER", 7, right: true) + pad("P50 ms", 8, right: true) + pad("P95 ms", 8, right: true) + pad("INC", 5, right: true) + "\n"
        for report in reports {
            let s = report.summary
            out += pad(report.key, 26) + pad("\(s.results)", 7, right: true) + pad(percent(s.uptime), 9, right: true)
                + pad(percent(s.uptimeTime), 9, right: true) + pad(percent(s.coverage), 7, right: true)
                + pad(milliseconds(s.latency.quantile(0.5)), 8, right: true) + pad(milliseconds(s.latency.quantile(0.95)), 8, right: true)
                + pad("\(s.incidents.count)", 5, right: true) + "\n"
        }
        let incidents = reports.flatMap { report in report.summary.incidents.map { (report.key, $0) } }
        if !incidents.isEmpty {
            out += "\nIncidents\n"
            for (key, incident) in incidents {
                let end = incident.end.map { WallClock.iso8601(millis: $0) } ?? "ongoing"
                out += "  \(key)  \(duration(incident.duration(now: min(now, until))))\n"
                out += "    \(WallClock.iso8601(millis: incident.start)) – \(end)\n"
                out += "    \(pad(incident.message, 76).trimmingCharacters(in: .whitespaces))\n"
            }
        }
        return out
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let cut = text.count > width - 1 ? String(text.prefix(width - 2)) + "…" : text
        let fill = String(repeating: " ", count: max(0, width - cut.count))
        return right ? fill + cut : cut + fill
    }

    static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.3f%%", $0 * 100) } ?? "-"
    }

    static func milliseconds(_ value: Double?) -> String {
        value.map { String(format: $0 < 10 ? "%.2f" : "%.1f", $0) } ?? "-"
    }

    static func duration(_ millis: Int64) -> String {
        let seconds = millis / 1000
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7200 { return "\(seconds / 60) min" }
        return String(format: "%.1f h", Double(seconds) / 3600)
    }

    static func plain(_ value: Double?) -> String {
        value.map { JSONValue.format(($0 * 1_000_000).rounded() / 1_000_000) } ?? ""
    }

    static func quoted(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}
