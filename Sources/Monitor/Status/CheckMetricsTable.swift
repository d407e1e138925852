import Synchronization

/// The per-check metrics, kept in one table and written straight in the Prometheus text format.
///
/// Why not swift-prometheus for these (it serves the monitor's other metrics): measured with
/// 10,000 checks, registering their 50,000 series took 23 s of CPU at start (each new label set
/// copies its family's dictionary: quadratic), and rendering them took 230–370 ms per scrape,
/// half of it formatting every histogram bucket bound again for every series. Here the label
/// text and the bucket bounds are formatted once, a result updates a fixed row, and a scrape
/// writes bytes.
public final class CheckMetricsTable: Sendable {
    /// Run-duration histogram bounds in seconds.
    public static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    struct Row {
        var up: Double?
        var successes = 0
        var failures = 0
        var overruns = 0
        var buckets = [Int](repeating: 0, count: CheckMetricsTable.bounds.count)
        var sum = 0.0
        var count = 0
        var responseTime: Double?
    }

    private let index: [String: Int]
    /// `check="…",label="…"` of each row, escaped.
    private let labels: [[UInt8]]
    /// Whether a row's check type has a main time (all but `random`).
    private let timed: [Bool]
    private let boundTexts: [[UInt8]]
    private let rows: Mutex<[Row]>

    public init(checks: [CheckConfig]) {
        var index: [String: Int] = [:]
        var labels: [[UInt8]] = []
        var timed: [Bool] = []
        for check in checks where index[check.key] == nil {
            index[check.key] = labels.count
            labels.append(Array("check=\"\(Self.escape(check.type))\",label=\"\(Self.escape(check.label))\"".utf8))
            timed.append(["ping", "hostport", "download", "filewrite"].contains(check.type))
        }
        self.index = index
        self.labels = labels
        self.timed = timed
        boundTexts = Self.bounds.map { Array(String($0).utf8) }
        rows = Mutex([Row](repeating: Row(), count: labels.count))
    }

    /// Counts a routed result.
    public func observe(_ result: CheckResult) {
        guard let i = index[result.key] else { return }
        let up = result.status == .success
        let elapsed = max(0, result.elapsed)
        let bucket = Self.bounds.firstIndex { elapsed <= $0 }
        let time = ResponseTime.of(result)?.avg
        rows.withLock { rows in
            rows[i].up = up ? 1 : 0
            if up { rows[i].successes += 1 } else { rows[i].failures += 1 }
            if let bucket { rows[i].buckets[bucket] += 1 }
            rows[i].sum += elapsed
            rows[i].count += 1
            if let time { rows[i].responseTime = time / 1000 }
        }
    }

    /// Counts an overrun of `key`'s period.
    public func overran(_ key: String) {
        guard let i = index[key] else { return }
        rows.withLock { $0[i].overruns += 1 }
    }

    /// Appends the families in the Prometheus text format (version 0.0.4), with HELP and TYPE.
    public func render(into out: inout [UInt8]) {
        let rows = self.rows.withLock { $0 }
        out.reserveCapacity(out.count + rows.count * 1800)
        func line(_ name: String, _ i: Int, _ extra: String, _ value: String) {
            out.append(contentsOf: name.utf8)
            out.append(UInt8(ascii: "{"))
            out.append(contentsOf: labels[i])
            out.append(contentsOf: extra.utf8)
            out.append(contentsOf: "} ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(UInt8(ascii: "\n"))
        }
        func header(_ name: String, _ type: String, _ help: String) {
            out.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n".utf8)
        }
        header("healthmonitor_check_up", "gauge", "1 when the check's newest result succeeded, else 0")
        for (i, row) in rows.enumerated() { if let up = row.up { line("healthmonitor_check_up", i, "", up == 1 ? "1" : "0") } }
        header("healthmonitor_check_results_total", "counter", "Results of the check since the monitor started, by status")
        for (i, row) in rows.enumerated() {
            line("healthmonitor_check_results_total", i, ",status=\"success\"", String(row.successes))
            line("healthmonitor_check_results_total", i, ",status=\"failure\"", String(row.failures))
        }
        header(
            "healthmonitor_check_response_time_seconds", "gauge",
            "The check's main time in its newest successful result: ping average RTT, hostport connect, download total, filewrite write")
        for (i, row) in rows.enumerated() where timed[i] {
            if let time = row.responseTime { line("healthmonitor_check_response_time_seconds", i, "", String(time)) }
        }
        header("healthmonitor_scheduler_overruns_total", "counter", "Runs that took longer than the check's sleep")
        for (i, row) in rows.enumerated() { line("healthmonitor_scheduler_overruns_total", i, "", String(row.overruns)) }
        header("healthmonitor_check_duration_seconds", "histogram", "How long each run of the check took")
        let bucketName = Array("healthmonitor_check_duration_seconds_bucket{".utf8)
        for (i, row) in rows.enumerated() {
            var cumulative = 0
            for (b, bound) in boundTexts.enumerated() {
                cumulative += row.buckets[b]
                out.append(contentsOf: bucketName)
                out.append(contentsOf: labels[i])
                out.append(contentsOf: ",le=\"".utf8)
                out.append(contentsOf: bound)
                out.append(contentsOf: "\"} ".utf8)
                out.append(contentsOf: String(cumulative).utf8)
                out.append(UInt8(ascii: "\n"))
            }
            line("healthmonitor_check_duration_seconds_bucket", i, ",le=\"+Inf\"", String(row.count))
            line("healthmonitor_check_duration_seconds_sum", i, "", String(row.sum))
            line("healthmonitor_check_duration_seconds_count", i, "", String(row.count))
        }
    }

    /// A label value as the text format writes it: backslash, quote and newline escaped.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
