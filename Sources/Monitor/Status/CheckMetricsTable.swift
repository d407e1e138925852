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
        observe(result, key: result.key, responseTimeMs: ResponseTime.of(result)?.avg)
    }

    /// Counts a routed result whose `key` and main time (`ResponseTime`, ms) the caller has.
    public func observe(_ result: CheckResult, key: String, responseTimeMs time: Double?) {
        guard let i = index[key] else { return }
        let up = result.status == .success
        let elapsed = max(0, result.elapsed)
        let bucket = Self.bounds.firstIndex { elapsed <= $0 }
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
    /// Bytes are written directly (integers without a String each): 10,000 checks are 230,000
    /// lines per scrape.
    public func render(into out: inout [UInt8]) {
        let rows = self.rows.withLock { $0 }
        out.reserveCapacity(out.count + rows.count * 2400 + 4096)
        rows.withUnsafeBufferPointer { rows in
            func head(_ name: String, _ i: Int, _ extra: StaticString) {
                out.append(contentsOf: name.utf8)
                out.append(UInt8(ascii: "{"))
                out.append(contentsOf: labels[i])
                extra.withUTF8Buffer { out.append(contentsOf: $0) }
                out.append(contentsOf: "} ".utf8)
            }
            func integer(_ value: Int) {
                Self.appendDecimal(value, to: &out)
                out.append(UInt8(ascii: "\n"))
            }
            func double(_ value: Double) {
                out.append(contentsOf: String(value).utf8)
                out.append(UInt8(ascii: "\n"))
            }
            func header(_ name: String, _ type: String, _ help: String) {
                out.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n".utf8)
            }
            header("healthmonitor_check_up", "gauge", "1 when the check's newest result succeeded, else 0")
            for i in rows.indices {
                guard let up = rows[i].up else { continue }
                head("healthmonitor_check_up", i, "")
                integer(up == 1 ? 1 : 0)
            }
            header("healthmonitor_check_results_total", "counter", "Results of the check since the monitor started, by status")
            for i in rows.indices {
                head("healthmonitor_check_results_total", i, ",status=\"success\"")
                integer(rows[i].successes)
                head("healthmonitor_check_results_total", i, ",status=\"failure\"")
                integer(rows[i].failures)
            }
            header(
                "healthmonitor_check_response_time_seconds", "gauge",
                "The check's main time in its newest successful result: ping average RTT, hostport connect, download total, filewrite write")
            for i in rows.indices where timed[i] {
                guard let time = rows[i].responseTime else { continue }
                head("healthmonitor_check_response_time_seconds", i, "")
                double(time)
            }
            header("healthmonitor_scheduler_overruns_total", "counter", "Runs that took longer than the check's sleep")
            for i in rows.indices {
                head("healthmonitor_scheduler_overruns_total", i, "")
                integer(rows[i].overruns)
            }
            header("healthmonitor_check_duration_seconds", "histogram", "How long each run of the check took")
            let bucketName = Array("healthmonitor_check_duration_seconds_bucket{".utf8)
            for i in rows.indices {
                var cumulative = 0
                rows[i].buckets.withUnsafeBufferPointer { buckets in
                    for b in boundTexts.indices {
                        cumulative += buckets[b]
                        out.append(contentsOf: bucketName)
                        out.append(contentsOf: labels[i])
                        out.append(contentsOf: ",le=\"".utf8)
                        out.append(contentsOf: boundTexts[b])
                        out.append(contentsOf: "\"} ".utf8)
                        integer(cumulative)
                    }
                }
                head("healthmonitor_check_duration_seconds_bucket", i, ",le=\"+Inf\"")
                integer(rows[i].count)
                head("healthmonitor_check_duration_seconds_sum", i, "")
                double(rows[i].sum)
                head("healthmonitor_check_duration_seconds_count", i, "")
                integer(rows[i].count)
            }
        }
    }

    /// Appends `value` in decimal.
    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            appendDecimal(-value, to: &out)
            return
        }
        if value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while n > 0 {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                count += 1
            }
            out.append(contentsOf: buffer[(20 - count)...])
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
