/// Uptime, coverage and incidents as pure functions of a check's results.
///
/// A result covers the time from its start to the next result's start, capped at 2 × its
/// check's `sleep`; beyond the cap there is no data (neither up nor down).
public enum HistoryMath {
    public static let hourMillis: Int64 = 3_600_000

    /// A stretch of time covered by one result.
    public struct Interval: Sendable, Hashable {
        public var start: Int64
        public var end: Int64
        public var success: Bool

        public init(start: Int64, end: Int64, success: Bool) {
            self.start = start
            self.end = end
            self.success = success
        }
    }

    /// A maximal run of failures: from the first failure's start to the start of the next
    /// success (`nil`: still failing).
    public struct Incident: Sendable, Hashable {
        public var start: Int64
        public var end: Int64?
        public var message: String

        public init(start: Int64, end: Int64?, message: String) {
            self.start = start
            self.end = end
            self.message = message
        }

        /// Milliseconds it lasted, up to `now` while ongoing.
        public func duration(now: Int64) -> Int64 { (end ?? now) - start }
    }

    /// What a window of one check's history says.
    public struct Summary: Sendable, Hashable {
        public var results = 0
        public var successes = 0
        public var failures = 0
        public var upMillis: Int64 = 0
        public var downMillis: Int64 = 0
        /// Milliseconds of the window (up to now).
        public var windowMillis: Int64 = 0
        public var latency = LatencyHistogram()
        public var incidents: [Incident] = []

        /// Share of results that succeeded.
        public var uptime: Double? { results > 0 ? Double(successes) / Double(results) : nil }
        /// Share of the covered time that was up.
        public var uptimeTime: Double? { upMillis + downMillis > 0 ? Double(upMillis) / Double(upMillis + downMillis) : nil }
        /// Share of the window with data.
        public var coverage: Double { windowMillis > 0 ? Double(upMillis + downMillis) / Double(windowMillis) : 0 }

        public init() {}

        /// Adds the counts, time and latencies of another part of the window (not its incidents).
        public mutating func add(_ part: Summary) {
            add(results: part.results, successes: part.successes, failures: part.failures, up: part.upMillis, down: part.downMillis, latency: part.latency)
        }

        /// Adds a whole hour from the rollups.
        public mutating func add(_ rollup: HourlyRollup) {
            add(
                results: rollup.results, successes: rollup.successes, failures: rollup.failures, up: rollup.upMillis, down: rollup.downMillis,
                latency: rollup.latency)
        }

        private mutating func add(results: Int, successes: Int, failures: Int, up: Int64, down: Int64, latency: LatencyHistogram) {
            self.results += results
            self.successes += successes
            self.failures += failures
            upMillis += up
            downMillis += down
            self.latency.merge(latency)
        }
    }

    /// The intervals of `records` (one check, oldest first), none reaching past `horizon`.
    public static func intervals(_ records: [HistoryRecord], horizon: Int64) -> [Interval] {
        var out: [Interval] = []
        out.reserveCapacity(records.count)
        for (i, record) in records.enumerated() {
            var end = record.createdMillis + record.capMillis
            if i + 1 < records.count { end = min(end, records[i + 1].createdMillis) }
            end = min(end, horizon)
            if end > record.createdMillis { out.append(Interval(start: record.createdMillis, end: end, success: record.success)) }
        }
        return out
    }

    /// Adds the part of `interval` in each hour to `rollups` (by hour); `source`: the id of the
    /// result whose arrival ended the interval (see `HourlyRollup.source`).
    public static func addCoverage(_ interval: Interval, key: String, source: String? = nil, to rollups: inout [Int64: HourlyRollup]) {
        forEachHour(of: interval) { hour, millis in
            let index = rollups.index(forKey: hour) { HourlyRollup(key: key, hour: hour) }
            rollups.values[index].cover(millis, success: interval.success, source: source)
        }
    }

    /// The same for one check's rollups in an array, one per hour (the recorder's: mostly one
    /// hour, so an array of one rather than a dictionary for each of thousands of checks).
    public static func addCoverage(_ interval: Interval, key: String, source: String? = nil, to rollups: inout [HourlyRollup]) {
        forEachHour(of: interval) { hour, millis in
            let index = rollups.slot(hour: hour, key: key)
            rollups[index].cover(millis, success: interval.success, source: source)
        }
    }

    /// Calls `body` with each hour `interval` touches and its milliseconds in that hour, in order.
    @inline(__always)
    private static func forEachHour(of interval: Interval, _ body: (_ hour: Int64, _ millis: Int64) -> Void) {
        var start = interval.start
        while start < interval.end {
            let hour = floorDiv(start, hourMillis)
            let end = min(interval.end, (hour + 1) * hourMillis)
            body(hour, end - start)
            start = end
        }
    }

    /// Whether `record` changes its check's status: it is the first result, or its status differs
    /// from the `previous` one's. A result older than `previous` (out of order) changes nothing.
    public static func isChange(_ record: HistoryRecord, after previous: HistoryRecord?) -> Bool {
        guard let previous else { return true }
        return record.createdMillis >= previous.createdMillis && record.success != previous.success
    }

    /// The status changes in `records` (one check, oldest first) that follow `previous`.
    public static func changes(_ records: [HistoryRecord], after previous: HistoryRecord?) -> [HistoryRecord] {
        var last = previous
        var out: [HistoryRecord] = []
        for record in records {
            if isChange(record, after: last) { out.append(record) }
            if (last?.createdMillis ?? .min) <= record.createdMillis { last = record }
        }
        return out
    }

    /// The incidents in `records` (one check, oldest first): all its results, or only its status
    /// changes.
    public static func incidents(_ records: [HistoryRecord]) -> [Incident] {
        var out: [Incident] = []
        var open: Incident?
        for record in records {
            if record.success {
                if var incident = open {
                    incident.end = record.createdMillis
                    out.append(incident)
                    open = nil
                }
            } else if open == nil {
                open = Incident(start: record.createdMillis, end: nil, message: record.message)
            }
        }
        if let open { out.append(open) }
        return out
    }

    /// The window `since..<until` of one check from its results: those in the window, preceded
    /// by the last one before it (its coverage may reach into the window) and by the results of
    /// an incident still open at `since`. `now` bounds coverage and ongoing incidents.
    public static func summarize(_ records: [HistoryRecord], since: Int64, until: Int64, now: Int64) -> Summary {
        var summary = Summary()
        let end = min(until, now)
        summary.windowMillis = max(0, end - since)
        for record in records where record.createdMillis >= since && record.createdMillis < until {
            summary.results += 1
            if record.success { summary.successes += 1 } else { summary.failures += 1 }
            if let latency = record.latencyMs { summary.latency.add(latency) }
        }
        for interval in intervals(records, horizon: end) {
            let from = max(interval.start, since)
            let to = min(interval.end, end)
            guard to > from else { continue }
            if interval.success { summary.upMillis += to - from } else { summary.downMillis += to - from }
        }
        summary.incidents = incidents(records).filter { $0.start < until && ($0.end ?? Int64.max) > since }
        return summary
    }

    /// Mean time to recovery over the resolved incidents, in ms.
    public static func mttr(_ incidents: [Incident]) -> Double? {
        let resolved = incidents.compactMap { incident in incident.end.map { $0 - incident.start } }
        return resolved.isEmpty ? nil : Double(resolved.reduce(0, +)) / Double(resolved.count)
    }

    /// Mean time between failures: time up divided by the number of incidents, in ms.
    public static func mtbf(_ summary: Summary) -> Double? {
        summary.incidents.isEmpty ? nil : Double(summary.upMillis) / Double(summary.incidents.count)
    }

    /// `a / b` rounded down (toward −∞), for any `a` (`Int64.min` included) and `b > 0`.
    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return a % b < 0 ? quotient - 1 : quotient
    }
}
