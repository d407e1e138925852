/// One result as the history keeps it.
public struct HistoryRecord: Sendable, Hashable {
    public var id: String
    /// `check/label`.
    public var key: String
    public var createdMillis: Int64
    public var success: Bool
    /// The check's main time in ms (`ResponseTime.main`), when it has one.
    public var latencyMs: Double?
    /// The result's message for a failure (an incident's first message); empty for a success,
    /// which needs none (it keeps the store small).
    public var message: String
    /// The check's period in seconds: a result covers at most 2 × this.
    public var sleep: Double
    /// When the earliest certificate of the check's TLS chain expires (Unix ms), when the result
    /// read one (`cert_expires_at`); the store keeps the newest per check (`certificate(key:)`).
    public var certExpiresMillis: Int64?

    public init(id: String, key: String, createdMillis: Int64, success: Bool, latencyMs: Double?, message: String, sleep: Double) {
        self.id = id
        self.key = key
        self.createdMillis = createdMillis
        self.success = success
        self.latencyMs = latencyMs
        self.message = message
        self.sleep = sleep
    }

    /// `key`: the result's `check/label`; `readings`: what its measurement says (`ResultReadings(result)`).
    public init(_ result: CheckResult, key: String, readings: ResultReadings, sleep: Double) {
        self.init(
            id: result.id, key: key, createdMillis: result.createdMillis, success: result.status == .success,
            latencyMs: readings.responseTimeMs, message: result.status == .success ? "" : result.message, sleep: sleep)
        certExpiresMillis = readings.certExpiresAt?.intValue.map { Int64($0) * 1000 }
    }

    /// Milliseconds a result may cover when no next result comes: 2 × `sleep`.
    public var capMillis: Int64 { Int64((2 * sleep * 1000).rounded()) }
}

/// What the history, the live status and the metrics read from a result's measurement: read once
/// per result by the router, not by each of them (each lookup hashes its key; callgrind counted
/// about 370 instructions a lookup).
public struct ResultReadings: Sendable, Hashable {
    /// The main response time in ms (`ResponseTime.of(result)?.avg`), when there is one.
    public var responseTimeMs: Double?
    /// `cert_expires_at` (Unix seconds), when the run read a certificate.
    public var certExpiresAt: JSONValue?

    public init(responseTimeMs: Double?, certExpiresAt: JSONValue?) {
        self.responseTimeMs = responseTimeMs
        self.certExpiresAt = certExpiresAt
    }

    public init(_ result: CheckResult) {
        self.init(responseTimeMs: ResponseTime.of(result)?.avg, certExpiresAt: result.measurement["cert_expires_at"])
    }
}

/// The response times of a result in milliseconds, per check type: ping's round trips
/// (avg/min/max); the connect time of `hostport`, the total time of `download`, the write time of
/// `filewrite` in all three. None for a failed run (ping: when no reply came) and for `random`.
public enum ResponseTime {
    public static func of(_ result: CheckResult) -> (avg: Double, min: Double, max: Double)? {
        let m = result.measurement
        switch result.check {
        case "ping":
            guard let avg = m["avg"]?.doubleValue, let min = m["min"]?.doubleValue, let max = m["max"]?.doubleValue else { return nil }
            return (avg, min, max)
        case "hostport", "download", "filewrite":
            guard result.status == .success else { return nil }
            let key = result.check == "hostport" ? "connect_ms" : result.check == "download" ? "total_ms" : "write_ms"
            guard let time = m[key]?.doubleValue else { return nil }
            return (time, time, time)
        default:
            return nil
        }
    }
}

/// One hour of one check.
public struct HourlyRollup: Sendable, Hashable {
    public var key: String
    /// Unix hour (milliseconds / 3 600 000).
    public var hour: Int64
    public var results = 0
    public var successes = 0
    public var failures = 0
    /// Milliseconds of the hour covered by a success / a failure.
    public var upMillis: Int64 = 0
    public var downMillis: Int64 = 0
    public var latency = LatencyHistogram()
    /// The id of the newest result whose count or coverage this delta holds: a store that adds
    /// deltas (Mongo's `$inc`) applies each one once, keyed on it. `nil` in stored rollups.
    public var source: String?

    public init(key: String, hour: Int64) {
        self.key = key
        self.hour = hour
    }

    /// Counts one result that started in this hour.
    public mutating func count(_ record: HistoryRecord) {
        source = record.id
        results += 1
        if record.success { successes += 1 } else { failures += 1 }
        if let value = record.latencyMs { latency.add(value) }
    }

    /// Adds `millis` covered by a success or a failure; `source` (when given) becomes the delta's.
    public mutating func cover(_ millis: Int64, success: Bool, source: String?) {
        if let source { self.source = source }
        if success { upMillis += millis } else { downMillis += millis }
    }

    public mutating func merge(_ other: HourlyRollup) {
        results += other.results
        successes += other.successes
        failures += other.failures
        upMillis += other.upMillis
        downMillis += other.downMillis
        latency.merge(other.latency)
    }
}

extension [HourlyRollup] {
    /// Where the rollup of `hour` is, appending a new one of `key` first when there is none
    /// (a check's rollups: one or two hours, searched from the newest).
    mutating func slot(hour: Int64, key: String) -> Int {
        if let index = lastIndex(where: { $0.hour == hour }) { return index }
        append(HourlyRollup(key: key, hour: hour))
        return count - 1
    }
}

/// Where the history is kept. Implementations may block (file or network I/O): callers use them
/// from a thread of their own, never from the cooperative pool.
public protocol HistoryStore: Sendable {
    /// Stores results, the status changes among them (`changes`: the results whose status differs
    /// from their check's previous result, see `HistoryMath.isChange`) and rollup deltas, in one
    /// transaction; results and changes already stored (same id) are not stored twice.
    func append(_ records: [HistoryRecord], changes: [HistoryRecord], rollups: [HourlyRollup]) throws
    /// Raw results of `key` with `from <= created < to`, oldest first.
    func results(key: String, from: Int64, to: Int64) throws -> [HistoryRecord]
    /// The newest result of `key` that started before `before`.
    func last(key: String, before: Int64) throws -> HistoryRecord?
    /// The status changes of `key` with `from <= created < to`, preceded by the last change
    /// before `from` (the one that set the status at `from`): where incidents start and end,
    /// oldest first. Changes are kept as long as rollups (`keep_rollups`), so incidents are
    /// known for windows older than the raw results.
    func transitions(key: String, from: Int64, to: Int64) throws -> [HistoryRecord]
    /// Rollups of `key` for hours `fromHour <= hour < toHour`, oldest first.
    func rollups(key: String, fromHour: Int64, toHour: Int64) throws -> [HourlyRollup]
    /// Every check key with history.
    func checks() throws -> [String]
    /// Deletes raw results older than `resultsBefore`, and rollups of hours before
    /// `rollupsBefore` with the status changes of those hours.
    func prune(resultsBefore: Int64, rollupsBefore: Int64) throws
    /// The newest certificate expiry recorded for `key` (from the `certExpiresMillis` of the
    /// records appended), or `nil` when none was.
    func certificate(key: String) throws -> HistoryCertificate?
}

extension HistoryStore {
    /// A store that keeps no certificate facts (the MongoDB history, for now) has none.
    public func certificate(key: String) throws -> HistoryCertificate? { nil }
}

/// The newest certificate expiry a check's results carried.
public struct HistoryCertificate: Sendable, Hashable {
    /// Start of the result that read it (Unix ms).
    public var checkedMillis: Int64
    /// When the chain's earliest certificate expires (Unix ms).
    public var expiresMillis: Int64

    public init(checkedMillis: Int64, expiresMillis: Int64) {
        self.checkedMillis = checkedMillis
        self.expiresMillis = expiresMillis
    }
}
