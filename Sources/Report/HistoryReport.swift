import Foundation
import Monitor

/// The answers `healthmonitor report` gives for one check over a window.
public struct CheckReport: Sendable {
    public var key: String
    public var summary: HistoryMath.Summary
    /// Whether part of the window lies before the raw results kept (`keep_results`): that part
    /// comes from hourly rollups (whole hours) and has no incidents.
    public var fromRollups: Bool
    /// The newest certificate expiry the check's results carried (download over https,
    /// hostport with tls); `nil` for checks without one.
    public var certificate: HistoryCertificate?

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

    /// One check: whole hours from the rollups; the partial hours at both ends exactly from the
    /// raw results; incidents from the stored status changes (kept as long as the rollups, from
    /// the change before the window, so an incident open at its start shows its start). Hours
    /// before `rawSince` have no raw results: a partial first hour there counts whole.
    static func report(store: any HistoryStore, key: String, since: Int64, until: Int64, now: Int64, rawSince: Int64) throws -> CheckReport {
        let hour = HistoryMath.hourMillis
        let end = min(until, now)
        var firstFull = HistoryMath.floorDiv(since + hour - 1, hour)
        let lastFull = HistoryMath.floorDiv(end, hour)
        if since < rawSince { firstFull = HistoryMath.floorDiv(since, hour) }
        var summary = HistoryMath.Summary()
        var usedRollups = false
        if firstFull < lastFull {
            // Head: the raw results of the partial first hour (and the next few, which end its
            // last result's coverage).
            if firstFull * hour > since {
                var head = try store.results(key: key, from: since, to: firstFull * hour + 2 * hour)
                if let before = try store.last(key: key, before: since) { head.insert(before, at: 0) }
                summary.add(HistoryMath.summarize(head, since: since, until: firstFull * hour, now: now))
            }
            // Whole hours.
            for rollup in try store.rollups(key: key, fromHour: firstFull, toHour: lastFull) {
                usedRollups = true
                summary.add(rollup)
            }
            // The newest result's coverage is written to the rollups only when the next result
            // comes: add what of it falls in the whole hours.
            if let newest = try store.last(key: key, before: Int64.max), newest.createdMillis < lastFull * hour {
                let interval = HistoryMath.Interval(
                    start: newest.createdMillis, end: min(newest.createdMillis + newest.capMillis, end), success: newest.success)
                let from = max(interval.start, firstFull * hour)
                let to = min(interval.end, lastFull * hour)
                if to > from {
                    if interval.success { summary.upMillis += to - from } else { summary.downMillis += to - from }
                }
            }
            // Tail: the partial last hour.
            if lastFull * hour < until {
                var tail = try store.results(key: key, from: lastFull * hour, to: until)
                if let before = try store.last(key: key, before: lastFull * hour) { tail.insert(before, at: 0) }
                summary.add(HistoryMath.summarize(tail, since: lastFull * hour, until: until, now: now))
            }
        } else {
            var records = try store.results(key: key, from: since, to: until)
            if let before = try store.last(key: key, before: since) { records.insert(before, at: 0) }
            summary = HistoryMath.summarize(records, since: since, until: until, now: now)
        }
        // From the change that set the status at `since` (an incident open then shows its start)
        // to the newest result (an incident open at `until` shows when it ended, if it has).
        let changes = try store.transitions(key: key, from: since, to: Int64.max)
        summary.incidents = HistoryMath.incidents(changes).filter { $0.start < until && ($0.end ?? Int64.max) > since }
        // Before the raw results, a partial first hour counts whole: so does the window.
        summary.windowMillis = max(0, end - min(since, firstFull * hour))
        return CheckReport(
            key: key, summary: summary, fromRollups: usedRollups && since < rawSince, certificate: try store.certificate(key: key))
    }

    // MARK: Formats

    /// The JSON shape for scripts:
    /// `{"since","until","checks":[{"key","check","label","results","successes","failures","uptime",
    /// "uptime_time","coverage","incidents":[{"start","end","duration","message"}],
    /// "latency_ms":{"p50","p95","p99","max","avg"}, "mttr","mtbf"}]}` (times ISO-8601, durations in seconds),
    /// and for a check with TLS `"cert_expires"` (ISO-8601) and `"cert_expires_days"` (from `now`).
    public static func json(_ reports: [CheckReport], since: Int64, until: Int64, now: Int64) -> String {
        jsonValue(reports, since: since, until: until, now: now).json()
    }

    /// The value `json` writes.
    public static func jsonValue(_ reports: [CheckReport], since: Int64, until: Int64, now: Int64) -> JSONValue {
        [
            "since": .string(WallClock.iso8601(millis: since)), "until": .string(WallClock.iso8601(millis: min(until, now))),
            "checks": .array(reports.map { jsonValue($0, until: until, now: now) }),
        ]
    }

    /// One check of `json`: its `checks` item.
    public static func jsonValue(_ report: CheckReport, until: Int64, now: Int64) -> JSONValue {
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
        var members: [String: JSONValue] = [
            "key": .string(report.key), "check": .string(report.check), "label": .string(report.label),
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
        if let certificate = report.certificate {
            members["cert_expires"] = .string(WallClock.iso8601(millis: certificate.expiresMillis))
            members["cert_expires_days"] = .double((Double(certificate.expiresMillis - now) / 86_400_000 * 100).rounded() / 100)
        }
        return .object(members)
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

    /// A table for an 80-column terminal, then the incidents; labels and messages escaped, so
    /// each stays on its line (a history may hold results from before labels were checked).
    public static func table(_ reports: [CheckReport], since: Int64, until: Int64, now: Int64) -> String {
        var out = "History \(WallClock.iso8601(millis: since)) – \(WallClock.iso8601(millis: min(until, now)))\n\n"
        out += pad("CHECK", 26) + pad("RUNS", 7, right: true) + pad("UPTIME", 9, right: true) + pad("TIME-UP", 9, right: true)
            + pad("COVER", 7, right: true) + pad("P50 ms", 8, right: true) + pad("P95 ms", 8, right: true) + pad("INC", 5, right: true) + "\n"
        for report in reports {
            let s = report.summary
            out += pad(report.key.escapingUnprintable, 26) + pad("\(s.results)", 7, right: true) + pad(percent(s.uptime), 9, right: true)
                + pad(percent(s.uptimeTime), 9, right: true) + pad(percent(s.coverage), 7, right: true)
                + pad(milliseconds(s.latency.quantile(0.5)), 8, right: true) + pad(milliseconds(s.latency.quantile(0.95)), 8, right: true)
                + pad("\(s.incidents.count)", 5, right: true) + "\n"
        }
        let certificates = reports.compactMap { report in report.certificate.map { (report.key, $0) } }
        if !certificates.isEmpty {
            out += "\nCertificates\n"
            for (key, certificate) in certificates {
                out += "  " + pad(key.escapingUnprintable, 26) + certificateText(certificate, now: now) + "\n"
            }
        }
        let incidents = reports.flatMap { report in report.summary.incidents.map { (report.key, $0) } }
        if !incidents.isEmpty {
            out += "\nIncidents\n"
            for (key, incident) in incidents {
                let end = incident.end.map { WallClock.iso8601(millis: $0) } ?? "ongoing"
                out += "  \(key.escapingUnprintable)  \(duration(incident.duration(now: min(now, until))))\n"
                out += "    \(WallClock.iso8601(millis: incident.start)) – \(end)\n"
                out += "    \(pad(incident.message.escapingUnprintable, 76).trimmingCharacters(in: .whitespaces))\n"
            }
        }
        return out
    }

    /// `expires 2027-02-28 (in 89 days)` or `EXPIRED 2026-11-29 (2 days ago)`.
    static func certificateText(_ certificate: HistoryCertificate, now: Int64) -> String {
        let date = String(WallClock.iso8601(millis: certificate.expiresMillis).prefix(10))
        let days = Int((Double(certificate.expiresMillis - now) / 86_400_000).rounded(.down))
        if certificate.expiresMillis <= now { return "EXPIRED \(date) (\(duration(now - certificate.expiresMillis)) ago)" }
        return "expires \(date) (in \(days == 1 ? "1 day" : days > 1 ? "\(days) days" : duration(certificate.expiresMillis - now)))" + (days < 14 ? "  SOON" : "")
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let cut = text.count > width - 1 ? String(text.prefix(width - 2)) + "…" : text
        let fill = String(repeating: " ", count: max(0, width - cut.count))
        return right ? fill + cut : cut + fill
    }

    /// A share (0…1) as a percentage with three decimals, `99.950%`; `-` for `nil`.
    public static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.3f%%", $0 * 100) } ?? "-"
    }

    /// Milliseconds with two decimals below 10 (`1.25`), one from 10 on (`123.4`); `-` for `nil`.
    public static func milliseconds(_ value: Double?) -> String {
        value.map { String(format: $0 < 10 ? "%.2f" : "%.1f", $0) } ?? "-"
    }

    /// A duration given in milliseconds: `45 s` below 2 minutes, `17 min` below 2 hours, then `5.5 h`.
    public static func duration(_ millis: Int64) -> String {
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
