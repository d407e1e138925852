internal import CMongo
import Monitor

/// The history in MongoDB, beside a `mongo` notifier's collection `C` (same server, database and
/// write concern), so a fleet's history is queryable in Mongo and `healthmonitor report
/// --source mongo` answers from it:
///
/// - `C_hourly`: one document per check and hour, the rollup. Deltas are added with `$inc`
///   (`$min`/`$max` for the latency extremes), each exactly once: the update matches only while
///   the delta's result id (`HourlyRollup.source`) is not among the document's last 64 `applied`,
///   and pushes it there.
///   ```
///   { _id: "hostport/db@2026-12-01T10:00:00.000Z", key: "hostport/db", check: "hostport", label: "db",
///     hour: ISODate("2026-12-01T10:00:00Z"), results: 60, successes: 59, failures: 1,
///     up_ms: 3540000, down_ms: 60000,
///     latency: { count: 59, sum: 24.3, min: 0.31, max: 1.2, b: { "-58": 3, "-57": 11, … }, z: 0 },
///     applied: ["019ad…", …] }
///   ```
///   `latency.b` holds the histogram's buckets (index `i` counts values in [1.02^i, 1.02^(i+1)) ms,
///   `z` values ≤ 0.001 ms), so hours merge by adding fields.
/// - `C_raw`: the raw results, `_id` the result id, for `keep_results`:
///   `{ _id, key, created: ISODate, ok: true, latency_ms: 0.41, message: "", sleep: 60.0 }`.
/// - `C_changes`: the results whose status differs from the previous one (same fields), for
///   `keep_rollups`: where incidents start and end.
///
/// Calls block (network I/O): use them from a thread of their own.
public final class MongoHistoryStore: HistoryStore, @unchecked Sendable {
    // @unchecked: the connection is only used under `lock`.

    /// Where and how to write.
    public struct Settings: Sendable {
        public var uri: String
        public var database: String
        /// The notifier's collection: the history uses `<collection>_hourly`, `_raw` and `_changes`.
        public var collection: String
        public var writeConcern: String
        public var journal: Bool
        /// Connect and server-selection timeout, in milliseconds.
        public var connectMillis: Int32
        /// Bound on each reply, in milliseconds.
        public var socketMillis: Int32

        /// The settings of a `mongo` notifier's options (its defaults where unset).
        public init(options: Options) {
            uri = options.string("uri") ?? "mongodb://localhost:27017"
            database = options.string("database") ?? "healthmonitor"
            collection = options.string("collection") ?? "results"
            writeConcern = options.string("write_concern") ?? "1"
            journal = options.bool("journal") ?? true
            connectMillis = Int32(min(Double(Int32.max), ((options.double("connect_timeout") ?? 5) * 1000).rounded()))
            socketMillis = Int32(min(Double(Int32.max), ((options.double("socket_timeout") ?? 10) * 1000).rounded()))
        }
    }

    /// A failed call, with the server or client error.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let settings: Settings
    private let lock = Locked(())
    private let connection: MongoConnection
    private let writeOptions: BSONDocument
    private var indexesReady = false
    private var hourly: String { settings.collection + "_hourly" }
    private var raw: String { settings.collection + "_raw" }
    private var changes: String { settings.collection + "_changes" }
    /// How many delta ids an hourly document remembers: a retried write is one of the newest.
    static let appliedKept = 64

    /// Creates the client (it connects on the first call).
    public init(settings: Settings) throws(Failure) {
        self.settings = settings
        do {
            connection = try MongoConnection(
                uri: settings.uri, timeouts: .init(connectMillis: settings.connectMillis, socketMillis: settings.socketMillis),
                database: settings.database, collection: settings.collection + "_hourly")
        } catch {
            throw Failure(description: "history in Mongo \(Self.describe(settings)): \(error)")
        }
        writeOptions = BSONDocument()
        writeOptions.appendDocument("writeConcern") { concern in
            if let w = Int32(settings.writeConcern) { concern.append("w", int32: w) } else { concern.append("w", string: settings.writeConcern) }
            if settings.journal { concern.append("j", .bool(true)) }
            concern.append("wtimeout", int32: settings.socketMillis)
        }
    }

    /// The server (password masked), database and collection prefix, for messages.
    public var endpoint: String { Self.describe(settings) }

    /// Round-trips to the server: `nil` when it answers, else why not.
    public func ping() -> String? {
        lock.withLock { _ in
            do {
                try connection.ping()
                return nil
            } catch {
                return "\(error)"
            }
        }
    }

    // MARK: HistoryStore

    public func append(_ records: [HistoryRecord], changes newChanges: [HistoryRecord], rollups: [HourlyRollup]) throws {
        try locked("write") {
            try ensureIndexes()
            if !records.isEmpty { _ = try connection.bulkWrite(raw, records.map { .insert(Self.document($0)) }, options: writeOptions) }
            if !newChanges.isEmpty {
                _ = try connection.bulkWrite(changes, newChanges.map { .insert(Self.document($0)) }, options: writeOptions)
            }
            guard !rollups.isEmpty else { return }
            let updates = rollups.map { Self.delta($0) }
            let report = try connection.bulkWrite(hourly, updates.map { .update(filter: $0.filter, update: $0.update, upsert: true) }, options: writeOptions)
            // A duplicate `_id` on an upsert: the document exists, and either holds the delta
            // already or was created by another writer between match and insert. Applied
            // without upsert, the delta is added in the second case only.
            let again = report.duplicates.filter { updates.indices.contains($0) }.map { updates[$0] }
            if !again.isEmpty {
                _ = try connection.bulkWrite(hourly, again.map { .update(filter: $0.filter, update: $0.update, upsert: false) }, options: writeOptions)
            }
        }
    }

    public func results(key: String, from: Int64, to: Int64) throws -> [HistoryRecord] {
        try locked("read") { try records(raw, key: key, from: from, to: to, newestFirst: false, limit: nil) }
    }

    public func last(key: String, before: Int64) throws -> HistoryRecord? {
        try locked("read") { try records(raw, key: key, from: nil, to: before, newestFirst: true, limit: 1).first }
    }

    public func transitions(key: String, from: Int64, to: Int64) throws -> [HistoryRecord] {
        try locked("read") {
            try records(changes, key: key, from: nil, to: from, newestFirst: true, limit: 1)
                + records(changes, key: key, from: from, to: to, newestFirst: false, limit: nil)
        }
    }

    public func rollups(key: String, fromHour: Int64, toHour: Int64) throws -> [HourlyRollup] {
        try locked("read") {
            let filter = BSONDocument()
            filter.append("key", string: key)
            filter.appendDocument("hour") { range in
                range.append("$gte", dateMillis: Self.millis(hour: fromHour))
                range.append("$lt", dateMillis: Self.millis(hour: toHour))
            }
            let options = BSONDocument()
            options.appendDocument("sort") { $0.append("hour", .int(1)) }
            options.appendDocument("projection") { $0.append("applied", .int(0)) }
            return try connection.find(hourly, filter: filter, options: options).map { try Self.rollup($0) }
        }
    }

    public func checks() throws -> [String] {
        try locked("read") {
            let command = BSONDocument()
            command.append("distinct", string: hourly)
            command.append("key", string: "key")
            let reply = try connection.command(command, "distinct keys")
            let iter = BSONIterator()
            guard iter.find("values", in: reply), let values = iter.children() else { return [] }
            var keys: [String] = []
            while values.next() { if let key = values.string { keys.append(key) } }
            return keys.sorted()
        }
    }

    public func prune(resultsBefore: Int64, rollupsBefore: Int64) throws {
        try locked("prune") {
            for (collection, field, limit) in [
                (raw, "created", Self.bound(resultsBefore)), (changes, "created", Self.millis(hour: rollupsBefore)), (hourly, "hour", Self.millis(hour: rollupsBefore)),
            ] {
                let filter = BSONDocument()
                filter.appendDocument(field) { $0.append("$lt", dateMillis: limit) }
                try connection.deleteMany(collection, filter: filter)
            }
        }
    }

    // MARK: Documents

    private func locked<T>(_ what: String, _ body: () throws -> T) throws(Failure) -> T {
        try lock.withLock { _ throws(Failure) in
            do {
                return try body()
            } catch {
                throw Failure(description: "history in Mongo \(endpoint): cannot \(what): \(error)")
            }
        }
    }

    /// The indexes the reads use, once per store (a server that refuses them still works, slower).
    private func ensureIndexes() throws {
        guard !indexesReady else { return }
        for (collection, field) in [(hourly, "hour"), (raw, "created"), (changes, "created")] {
            let key = BSONDocument()
            key.append("key", .int(1))
            key.append(field, .int(1))
            let spec = BSONDocument()
            spec.appendDocument("key") { bson_concat($0.pointer, key.pointer) }
            spec.append("name", string: "key_1_\(field)_1")
            let command = BSONDocument()
            command.append("createIndexes", string: collection)
            command.appendArray("indexes", documents: [spec])
            try connection.command(command, "create index on \(collection)")
        }
        indexesReady = true
    }

    private func records(_ collection: String, key: String, from: Int64?, to: Int64, newestFirst: Bool, limit: Int?) throws -> [HistoryRecord] {
        let filter = BSONDocument()
        filter.append("key", string: key)
        filter.appendDocument("created") { range in
            if let from { range.append("$gte", dateMillis: Self.bound(from)) }
            range.append("$lt", dateMillis: Self.bound(to))
        }
        let options = BSONDocument()
        options.appendDocument("sort") { sort in
            sort.append("created", .int(newestFirst ? -1 : 1))
            sort.append("_id", .int(newestFirst ? -1 : 1))
        }
        if let limit { options.append("limit", .int(limit)) }
        return try connection.find(collection, filter: filter, options: options).map { try Self.record($0, key: key) }
    }

    /// `mongodb://…@host/ db.collection_*` with the password masked.
    static func describe(_ settings: Settings) -> String {
        SecretMasking.maskURLPassword(settings.uri) + " \(settings.database).\(settings.collection)_*"
    }

    /// Start of `hour` in Unix milliseconds, as a bound in a query (see `bound`).
    static func millis(hour: Int64) -> Int64 {
        bound(max(-(Int64.max / HistoryMath.hourMillis), min(Int64.max / HistoryMath.hourMillis, hour)) * HistoryMath.hourMillis)
    }

    /// `millis` clamped to years 1…9999: a report's open ends (`Int64.max`) are valid BSON
    /// dates, but servers and drivers that convert dates to calendar dates refuse them.
    static func bound(_ millis: Int64) -> Int64 {
        max(-62_135_596_800_000, min(253_402_300_799_999, millis))
    }

    static func document(_ record: HistoryRecord) -> BSONDocument {
        let document = BSONDocument()
        document.append("_id", string: record.id)
        document.append("key", string: record.key)
        document.append("created", dateMillis: record.createdMillis)
        document.append("ok", .bool(record.success))
        if let latency = record.latencyMs { document.append("latency_ms", .double(latency)) }
        document.append("message", string: record.message)
        document.append("sleep", .double(record.sleep))
        return document
    }

    static func record(_ document: BSONDocument, key: String) throws -> HistoryRecord {
        let iter = BSONIterator()
        var record = HistoryRecord(id: "", key: key, createdMillis: 0, success: false, latencyMs: nil, message: "", sleep: 60)
        guard iter.start(document) else { throw Failure(description: "unreadable document") }
        while iter.next() {
            switch iter.key {
            case "_id": record.id = iter.string ?? ""
            case "created": record.createdMillis = bson_iter_date_time(iter.pointer)
            case "ok": record.success = bson_iter_as_bool(iter.pointer)
            case "latency_ms": record.latencyMs = bson_iter_as_double(iter.pointer)
            case "message": record.message = iter.string ?? ""
            case "sleep": record.sleep = bson_iter_as_double(iter.pointer)
            default: break
            }
        }
        return record
    }

    /// The guarded `$inc` of one rollup delta.
    static func delta(_ rollup: HourlyRollup) -> (filter: BSONDocument, update: BSONDocument) {
        let hourMillis = millis(hour: rollup.hour)
        let id = rollup.key + "@" + WallClock.iso8601(millis: hourMillis)
        let source = rollup.source ?? "\(rollup.key)@\(rollup.hour)"
        let filter = BSONDocument()
        filter.append("_id", string: id)
        filter.appendDocument("applied") { $0.append("$ne", string: source) }
        let update = BSONDocument()
        update.appendDocument("$setOnInsert") { set in
            set.append("key", string: rollup.key)
            set.append("check", string: String(rollup.key.prefix { $0 != "/" }))
            set.append("label", string: String(rollup.key.drop { $0 != "/" }.dropFirst()))
            set.append("hour", dateMillis: hourMillis)
        }
        let latency = rollup.latency
        update.appendDocument("$inc") { inc in
            inc.append("results", .int(rollup.results))
            inc.append("successes", .int(rollup.successes))
            inc.append("failures", .int(rollup.failures))
            inc.append("up_ms", .int(Int(rollup.upMillis)))
            inc.append("down_ms", .int(Int(rollup.downMillis)))
            inc.append("latency.count", .int(latency.count))
            inc.append("latency.sum", .double(latency.sum))
            for (index, n) in latency.buckets.sorted(by: { $0.key < $1.key }) {
                inc.append(index == Int.min ? "latency.z" : "latency.b.\(index)", .int(n))
            }
        }
        if latency.count > 0 {
            update.appendDocument("$min") { $0.append("latency.min", .double(latency.min)) }
            update.appendDocument("$max") { $0.append("latency.max", .double(latency.max)) }
        }
        update.appendDocument("$push") { push in
            push.appendDocument("applied") { each in
                each.append("$each", .array([.string(source)]))
                each.append("$slice", .int(-appliedKept))
            }
        }
        return (filter, update)
    }

    static func rollup(_ document: BSONDocument) throws -> HourlyRollup {
        let iter = BSONIterator()
        guard iter.start(document) else { throw Failure(description: "unreadable document") }
        var rollup = HourlyRollup(key: "", hour: 0)
        var buckets: [Int: Int] = [:]
        var count = 0
        var sum = 0.0
        var low = Double.infinity
        var high = -Double.infinity
        while iter.next() {
            switch iter.key {
            case "key": rollup.key = iter.string ?? ""
            case "hour": rollup.hour = HistoryMath.floorDiv(bson_iter_date_time(iter.pointer), HistoryMath.hourMillis)
            case "results": rollup.results = iter.int
            case "successes": rollup.successes = iter.int
            case "failures": rollup.failures = iter.int
            case "up_ms": rollup.upMillis = Int64(iter.int)
            case "down_ms": rollup.downMillis = Int64(iter.int)
            case "latency":
                guard let field = iter.children() else { continue }
                while field.next() {
                    switch field.key {
                    case "count": count = field.int
                    case "sum": sum = bson_iter_as_double(field.pointer)
                    case "min": low = bson_iter_as_double(field.pointer)
                    case "max": high = bson_iter_as_double(field.pointer)
                    case "z": buckets[Int.min] = field.int
                    case "b":
                        guard let bucket = field.children() else { continue }
                        while bucket.next() { if let index = Int(bucket.key) { buckets[index] = bucket.int } }
                    default: break
                    }
                }
            default: break
            }
        }
        rollup.latency = LatencyHistogram(buckets: buckets, count: count, sum: sum, min: low, max: high)
        return rollup
    }
}
