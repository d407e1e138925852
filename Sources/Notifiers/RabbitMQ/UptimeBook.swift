import Monitor

/// Each check's uptime over a rolling window: the share of its runs that succeeded among those
/// that started within `window` seconds before a moment. Runs are counted in buckets of
/// `window / 1440` (one minute for 24 h), so the memory per check is bounded whatever the
/// check's period, and the answer is exact to one bucket at the window's far edge.
///
/// Thread-safe; `record` and `ratio` never wait beyond a short lock. Saved to and loaded from a
/// JSON file, so a restart keeps the window.
public final class UptimeBook: Sendable {
    private struct Bucket: Equatable {
        var index: Int64
        var ok: Int
        var total: Int
    }

    private struct State {
        var buckets: [String: [Bucket]] = [:]
        var dirty = false
    }

    /// Seconds the ratio looks back.
    public let window: Double
    /// Milliseconds per bucket.
    public let bucketMillis: Int64
    private let state = Locked(State())

    public init(window: Double) {
        self.window = window
        self.bucketMillis = max(1000, Int64((window * 1000 / 1440).rounded()))
    }

    private var windowBuckets: Int64 { max(1, Int64((window * 1000).rounded()) / bucketMillis) }

    /// Counts one run of `key` (`check/label`) that started at `millis`.
    public func record(_ key: String, success: Bool, atMillis millis: Int64) {
        let index = millis / bucketMillis
        let oldest = index - windowBuckets
        state.withLock { s in
            var list = s.buckets[key] ?? []
            if let i = list.lastIndex(where: { $0.index == index }) {
                list[i].total += 1
                if success { list[i].ok += 1 }
            } else {
                list.append(Bucket(index: index, ok: success ? 1 : 0, total: 1))
                if list.count > 1 && list[list.count - 2].index > index { list.sort { $0.index < $1.index } }
            }
            list.removeAll { $0.index <= oldest }
            s.buckets[key] = list
            s.dirty = true
        }
    }

    /// The share (0…1) of `key`'s runs within the window ending at `millis` that succeeded;
    /// `nil` when there was none.
    public func ratio(_ key: String, atMillis millis: Int64) -> Double? {
        let index = millis / bucketMillis
        let oldest = index - windowBuckets
        return state.withLock { s -> Double? in
            var ok = 0
            var total = 0
            for bucket in s.buckets[key] ?? [] where bucket.index > oldest && bucket.index <= index {
                ok += bucket.ok
                total += bucket.total
            }
            return total > 0 ? Double(ok) / Double(total) : nil
        }
    }

    // MARK: Persistence

    /// The book as JSON (`{"bucket_ms":…,"checks":{"ping/x":[[index,ok,total],…]}}`), and
    /// whether it changed since the last call with `markClean`.
    public func snapshot(markClean: Bool) -> (json: String, changed: Bool) {
        state.withLock { s in
            defer { if markClean { s.dirty = false } }
            var checks: [String: JSONValue] = [:]
            for (key, list) in s.buckets where !list.isEmpty {
                checks[key] = .array(list.map { .array([.int(Int($0.index)), .int($0.ok), .int($0.total)]) })
            }
            let value: JSONValue = ["bucket_ms": .int(Int(bucketMillis)), "checks": .object(checks)]
            return (value.json(), s.dirty)
        }
    }

    /// Loads a snapshot. A file written with another bucket size (a changed `uptime_window`) is
    /// re-bucketed into this book's buckets. Returns a problem to log, or `nil`.
    @discardableResult
    public func load(json text: String) -> String? {
        guard let object = (try? JSONValue.parse(text))?.objectValue,
            let size = object["bucket_ms"]?.intValue, size > 0,
            let checks = object["checks"]?.objectValue
        else { return "not an uptime file" }
        state.withLock { s in
            for (key, value) in checks {
                var merged: [Int64: Bucket] = [:]
                for item in value.arrayValue ?? [] {
                    guard let triple = item.arrayValue, triple.count == 3, let index = triple[0].intValue,
                        let ok = triple[1].intValue, let total = triple[2].intValue, total > 0, ok >= 0, ok <= total
                    else { continue }
                    let mine = Int64(index) * Int64(size) / bucketMillis
                    merged[mine, default: Bucket(index: mine, ok: 0, total: 0)].ok += ok
                    merged[mine, default: Bucket(index: mine, ok: 0, total: 0)].total += total
                }
                s.buckets[key] = merged.values.sorted { $0.index < $1.index }
            }
        }
        return nil
    }
}
