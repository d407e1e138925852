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

    struct Row: Sendable {
        var up: Double?
        var successes = 0
        var failures = 0
        var overruns = 0
        /// Runs per bound of `bounds` (not cumulative). In the row, not an array of its own:
        /// no allocation a check (its 32-byte header and malloc's own overhead).
        var buckets = Buckets(repeating: 0)
        typealias Buckets = InlineArray<16, Int>
        var sum = 0.0
        var count = 0
        var responseTime: Double?
        /// Unix seconds at which the chain's earliest certificate expires (newest result that read one).
        var certExpiry: Double?
    }

    /// What a row's lines say of its check, found by the check's key (with a position hint).
    struct Series: Sendable {
        /// `check="…",label="…"` (and `,location="…"`), escaped.
        var labels: [UInt8]
        /// Whether the check type has a main time (all but `random`).
        var timed: Bool
    }

    /// Each row's series, in the rows' order.
    private let series: KeyedArray<String, Series>
    /// `,le="BOUND"} ` for each bound, formatted once.
    private let bucketSuffixes: [[UInt8]]
    private let rows: Locked<[Row]>

    public init(checks: [CheckConfig]) {
        precondition(Row.Buckets.count == Self.bounds.count, "a bucket for each bound")
        var series = KeyedArray<String, Series>(capacity: checks.count)
        for check in checks {
            // A check in several locations: one series per location (`location="eu"`).
            _ = series.position(of: check.key) {
                let location = check.location.map { ",location=\"\(Self.escape($0))\"" } ?? ""
                return Series(
                    labels: Array("check=\"\(Self.escape(check.type))\",label=\"\(Self.escape(check.label))\"\(location)".utf8),
                    timed: ["ping", "hostport", "download", "filewrite"].contains(check.type))
            }
        }
        self.series = series
        bucketSuffixes = Self.bounds.map { Array(",le=\"\($0)\"} ".utf8) }
        rows = Locked([Row](repeating: Row(), count: series.values.count))
    }

    /// Counts a routed result.
    public func observe(_ result: CheckResult) {
        observe(result, key: result.key, readings: ResultReadings(result))
    }

    /// Counts a routed result whose `key` and readings the caller has;
    /// `position`: where the check is in the configured checks, if the caller knows (a hint,
    /// confirmed by the key).
    public func observe(_ result: CheckResult, key: String, position: Int = -1, readings: ResultReadings) {
        guard let i = series.position(of: key, hint: position) else { return }
        let up = result.status == .success
        let elapsed = max(0, result.elapsed)
        let bucket = Self.bounds.firstIndex { elapsed <= $0 }
        let (time, certExpiry) = (readings.responseTimeMs, readings.certExpiresAt?.doubleValue)
        rows.withLock { rows in
            rows[i].up = up ? 1 : 0
            if up { rows[i].successes += 1 } else { rows[i].failures += 1 }
            if let bucket { rows[i].buckets[bucket] += 1 }
            rows[i].sum += elapsed
            rows[i].count += 1
            if let time { rows[i].responseTime = time / 1000 }
            if let certExpiry { rows[i].certExpiry = certExpiry }
        }
    }

    /// Counts an overrun of `key`'s period.
    public func overran(_ key: String) {
        guard let i = series.position(of: key) else { return }
        rows.withLock { $0[i].overruns += 1 }
    }

    /// Appends the families in the Prometheus text format (version 0.0.4), with HELP and TYPE.
    public func render(into out: inout [UInt8]) {
        var exposition = exposition()
        while exposition.next(into: &out) {}
    }

    /// The table to be written part by part (`/metrics` streams it: a scrape of 10,000 checks
    /// is 19 MB, never held whole). Each part copies its own rows when it is written: a copy of
    /// the whole table (2 MB for 10,000 checks) would be copied once more by the next result
    /// while the scrape holds it. A row's lines are all from one copy.
    public func exposition(rowsPerPart: Int = 100) -> Exposition {
        Exposition(table: self, count: rows.withLock(\.count), rowsPerPart: max(1, rowsPerPart))
    }

    /// The families of one copy of the table, written a part at a time: a part is at most
    /// `rowsPerPart` rows of one family (with the family's HELP and TYPE before its first).
    public struct Exposition: Sendable {
        let table: CheckMetricsTable
        let count: Int
        let rowsPerPart: Int
        private var family = 0
        private var start = 0

        init(table: CheckMetricsTable, count: Int, rowsPerPart: Int) {
            self.table = table
            self.count = count
            self.rowsPerPart = rowsPerPart
        }

        /// Appends the next part to `out`; `false` (and nothing appended) when all is written.
        public mutating func next(into out: inout [UInt8]) -> Bool {
            guard family < Family.allCases.count else { return false }
            let end = min(count, start + rowsPerPart)
            let part = table.rows.withLock { Array($0[start..<end]) }
            table.write(Family.allCases[family], rows: part, range: start..<end, into: &out)
            if end >= count {
                family += 1
                start = 0
            } else {
                start = end
            }
            return true
        }
    }

    enum Family: CaseIterable {
        case up, results, responseTime, certExpiry, overruns, duration
    }

    /// Writes `family` for the table's rows `range`, whose copy is `rows`, with its HELP and
    /// TYPE when `range` starts at 0. Bytes are written directly (integers without a String
    /// each): 10,000 checks are 230,000 lines.
    private func write(_ family: Family, rows: [Row], range: Range<Int>, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + range.count * (family == .duration ? 1800 : 160) + 512)
        let first = range.lowerBound
        rows.withUnsafeBufferPointer { part in
            func head(_ name: StaticString, _ i: Int, _ extra: StaticString) {
                name.withUTF8Buffer { out.append(contentsOf: $0) }
                out.append(UInt8(ascii: "{"))
                out.append(contentsOf: series.values[i].labels)
                extra.withUTF8Buffer { out.append(contentsOf: $0) }
                out.append(contentsOf: "} ".utf8)
            }
            func integer(_ value: Int) {
                out.appendDecimal(value)
                out.append(UInt8(ascii: "\n"))
            }
            func double(_ value: Double) {
                out.append(contentsOf: String(value).utf8)
                out.append(UInt8(ascii: "\n"))
            }
            func header(_ name: String, _ type: String, _ help: String) {
                guard range.lowerBound == 0 else { return }
                out.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n".utf8)
            }
            switch family {
            case .up:
                header("healthmonitor_check_up", "gauge", "1 when the check's newest result succeeded, else 0")
                for i in range {
                    guard let up = part[i - first].up else { continue }
                    head("healthmonitor_check_up", i, "")
                    integer(up == 1 ? 1 : 0)
                }
            case .results:
                header("healthmonitor_check_results_total", "counter", "Results of the check since the monitor started, by status")
                for i in range {
                    head("healthmonitor_check_results_total", i, ",status=\"success\"")
                    integer(part[i - first].successes)
                    head("healthmonitor_check_results_total", i, ",status=\"failure\"")
                    integer(part[i - first].failures)
                }
            case .responseTime:
                header(
                    "healthmonitor_check_response_time_seconds", "gauge",
                    "The check's main time in its newest successful result: ping average RTT, hostport connect, download total, filewrite write")
                for i in range where series.values[i].timed {
                    guard let time = part[i - first].responseTime else { continue }
                    head("healthmonitor_check_response_time_seconds", i, "")
                    double(time)
                }
            case .certExpiry:
                header(
                    "healthmonitor_cert_expiry_seconds", "gauge",
                    "Unix time at which the earliest certificate of the check's TLS chain expires (download over https, hostport with tls), from its newest result that read one")
                for i in range {
                    guard let expiry = part[i - first].certExpiry else { continue }
                    head("healthmonitor_cert_expiry_seconds", i, "")
                    double(expiry)
                }
            case .overruns:
                header("healthmonitor_scheduler_overruns_total", "counter", "Runs that took longer than the check's sleep")
                for i in range {
                    head("healthmonitor_scheduler_overruns_total", i, "")
                    integer(part[i - first].overruns)
                }
            case .duration:
                header("healthmonitor_check_duration_seconds", "histogram", "How long each run of the check took")
                let bucketOpen: StaticString = "healthmonitor_check_duration_seconds_bucket{"
                for i in range {
                    var cumulative = 0
                    for b in bucketSuffixes.indices {
                        cumulative += part[i - first].buckets[b]
                        bucketOpen.withUTF8Buffer { out.append(contentsOf: $0) }
                        out.append(contentsOf: series.values[i].labels)
                        out.append(contentsOf: bucketSuffixes[b])
                        integer(cumulative)
                    }
                    head("healthmonitor_check_duration_seconds_bucket", i, ",le=\"+Inf\"")
                    integer(part[i - first].count)
                    head("healthmonitor_check_duration_seconds_sum", i, "")
                    double(part[i - first].sum)
                    head("healthmonitor_check_duration_seconds_count", i, "")
                    integer(part[i - first].count)
                }
            }
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
