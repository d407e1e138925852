import CSQLite
import Monitor

/// The embedded history store: one SQLite file (`STATE/history.sqlite`, WAL journal), written by
/// the recorder's thread and read by `healthmonitor report` (opened read-only: a report never
/// writes). Calls block (disk I/O): use them off the cooperative pool.
///
/// SQLite through Debian's libsqlite3 and a system-library target, like the project's other C
/// libraries: no package to resolve, the SQL stays plain, and the file is readable with the
/// `sqlite3` shell.
public final class SQLiteHistoryStore: HistoryStore, @unchecked Sendable {
    // @unchecked: `db` is only used under `lock`.

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let path: String
    /// How long a call waits for another process's lock before it fails.
    static let busyTimeoutMillis: Int32 = 5000
    private let lock = Locked(())
    private let db: OpaquePointer
    /// Whether the file has the `changes` table (status changes, kept as long as rollups); a file
    /// from an older version opened read-only has not, and its changes are derived from `results`.
    private var hasChanges = false
    /// Whether the file has the `certificates` table (newest certificate expiry per check).
    private var hasCertificates = false
    /// Whether the file has `rollups_recent` (the newest hours' rollups, in time order).
    private var hasRecentRollups = false
    /// Whether the file has `results_by_slot` (raw results in time order; see `slotMillis`).
    private var hasSlots = false
    /// Whether the file has the raw results of an older version (`results`, in check order):
    /// read beside the new ones until pruning empties it, then dropped.
    private var hasKeyOrderedResults = false
    /// The hour whose `result_hours` rows this connection wrote, and their checks: each check's
    /// first result of an hour adds the row, the others look nothing up.
    private var notedHour: (hour: Int64, keys: Set<String>) = (.min, [])
    /// Milliseconds of one slot of `results_by_slot` in this file (see `newSlotMillis`).
    public private(set) var slotMillis = SQLiteHistoryStore.legacySlotMillis
    /// Slots per hour (`slotMillis` divides an hour).
    private var slotsPerHour: Int64 { HistoryMath.hourMillis / slotMillis }
    /// Prepared statements by SQL text, kept for the connection's life (used under `lock`).
    private var statements: [String: OpaquePointer] = [:]
    /// The prepared INSERTs of `insert(_:into:)`, by table and rows per statement (their SQL
    /// is a few kilobytes: hashing it per statement was a tenth of the insert's time).
    private var inserts: [InsertShape: OpaquePointer] = [:]
    private struct InsertShape: Hashable {
        var table: String
        var rows: Int
    }
    /// The text of one INSERT's rows, bound without a copy (kept for the connection's life).
    private var insertTexts: [UInt8] = []

    /// A range of slots with fewer rows than this per slot (all checks') is read row by row;
    /// one with more, by a lookup per slot (about 40 rows cost as much as one lookup).
    let rowsScannedPerSlot: Int64

    /// Opens (or creates) the store; `readOnly` never creates nor writes. `rowsScannedPerSlot`:
    /// see the property (0: always a lookup per slot; tests use it to cover both ways).
    public init(path: String, readOnly: Bool = false, rowsScannedPerSlot: Int64 = 40) throws(Failure) {
        self.path = path
        self.rowsScannedPerSlot = rowsScannedPerSlot
        var handle: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "error \(rc)"
            sqlite3_close(handle)
            throw Failure(description: "cannot open history \(path): \(message)")
        }
        db = handle
        sqlite3_busy_timeout(db, Self.busyTimeoutMillis)
        if !readOnly {
            let hadResults = try tableExists("results")
            let hadChanges = try tableExists("changes")
            let hadSlots = try tableExists("results_by_slot")
            try exec(
                """
                PRAGMA journal_mode=WAL;
                PRAGMA synchronous=NORMAL;
                CREATE TABLE IF NOT EXISTS results_by_slot(
                    slot INTEGER NOT NULL, key TEXT NOT NULL, created_ms INTEGER NOT NULL, id TEXT NOT NULL, ok INTEGER NOT NULL,
                    latency_ms REAL, message TEXT NOT NULL, sleep REAL NOT NULL,
                    PRIMARY KEY(slot, key, created_ms, id)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS result_hours(
                    hour INTEGER NOT NULL, key TEXT NOT NULL, PRIMARY KEY(hour, key)) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS result_hours_key ON result_hours(key, hour);
                CREATE TABLE IF NOT EXISTS changes(
                    key TEXT NOT NULL, created_ms INTEGER NOT NULL, id TEXT NOT NULL, ok INTEGER NOT NULL,
                    latency_ms REAL, message TEXT NOT NULL, sleep REAL NOT NULL,
                    PRIMARY KEY(key, created_ms, id)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS certificates(
                    key TEXT NOT NULL PRIMARY KEY, checked_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS format(name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
                """)
            // The slot of a file's raw results is fixed when its `results_by_slot` is made: a
            // file from before the `format` table has the legacy slot.
            let slot = hadSlots ? Self.legacySlotMillis : Self.newSlotMillis
            try exec("INSERT OR IGNORE INTO format(name, value) VALUES('slot_ms', \(slot))")
            slotMillis = try storedSlotMillis() ?? slot
            try exec(Self.rollupTables)
            if hadResults && !hadChanges {
                // A history from a version without the `changes` table: derive it once.
                try exec(
                    """
                    INSERT OR IGNORE INTO changes SELECT key, created_ms, id, ok, latency_ms, message, sleep FROM (
                        SELECT *, LAG(ok) OVER (PARTITION BY key ORDER BY created_ms) AS previous FROM results)
                    WHERE previous IS NULL OR previous != ok
                    """)
            }
            hasChanges = true
            hasCertificates = true
            hasSlots = true
            hasRecentRollups = true
            hasKeyOrderedResults = hadResults
        } else {
            // A database that is not a history (or is locked past the busy timeout) fails here.
            _ = try query("SELECT count(*) FROM rollups WHERE 0", bind: []) { _ in 0 }
            // Read-only, a history from an older version is read as it is.
            hasChanges = try tableExists("changes")
            hasCertificates = try tableExists("certificates")
            hasSlots = try tableExists("results_by_slot")
            hasRecentRollups = try tableExists("rollups_recent")
            hasKeyOrderedResults = try tableExists("results")
            if try tableExists("format"), let stored = try storedSlotMillis() { slotMillis = stored }
        }
    }

    /// The rollups: `rollups_recent` holds the newest two hours, in time order (every check's
    /// current row side by side: a write updates a few pages in place, not one page per check);
    /// older hours move to `rollups`, in check order (a report reads a check's hours in a row).
    private static let rollupTables = """
        CREATE TABLE IF NOT EXISTS rollups(
            key TEXT NOT NULL, hour INTEGER NOT NULL, results INTEGER NOT NULL, successes INTEGER NOT NULL,
            failures INTEGER NOT NULL, up_ms INTEGER NOT NULL, down_ms INTEGER NOT NULL, latency TEXT NOT NULL,
            PRIMARY KEY(key, hour)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS rollups_recent(
            key TEXT NOT NULL, hour INTEGER NOT NULL, results INTEGER NOT NULL, successes INTEGER NOT NULL,
            failures INTEGER NOT NULL, up_ms INTEGER NOT NULL, down_ms INTEGER NOT NULL, latency TEXT NOT NULL,
            PRIMARY KEY(hour, key)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS rollups_recent_key ON rollups_recent(key, hour);
        """
    /// The columns `rollup` reads, in its order (`prefix`: a table alias).
    private static func rollupColumns(_ prefix: String) -> String {
        columns(["key", "hour", "results", "successes", "failures", "up_ms", "down_ms", "latency"], prefix)
    }
    private static let rollupColumns = rollupColumns("")

    /// `names`, each after `prefix`, comma-separated.
    private static func columns(_ names: [String], _ prefix: String) -> String {
        names.map { prefix + $0 }.joined(separator: ", ")
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        for statement in inserts.values { sqlite3_finalize(statement) }
        sqlite3_close(db)
    }

    // MARK: HistoryStore

    public func append(_ records: [HistoryRecord], changes: [HistoryRecord], rollups: [HourlyRollup]) throws {
        try lock.withLock { _ throws(Failure) in
            try exec("BEGIN IMMEDIATE")
            do {
                try insert(records, into: "results_by_slot")
                let noted = try noteHours(records)
                try insert(changes, into: "changes")
                try upsertCertificates(records)
                for rollup in rollups { try addRollup(rollup) }
                if let newest = rollups.max(by: { $0.hour < $1.hour })?.hour { try archiveRollups(before: newest - 1) }
                try exec("COMMIT")
                notedHour = noted
            } catch let failure as Failure {
                try? exec("ROLLBACK")
                throw failure
            } catch {
                try? exec("ROLLBACK")
                throw Failure(description: "history \(path): \(error)")
            }
        }
    }

    /// Adds the `result_hours` rows of `records` (which hours have raw results of which
    /// check: where `results` and `last` look); returns `notedHour` as it is once committed.
    private func noteHours(_ records: [HistoryRecord]) throws(Failure) -> (hour: Int64, keys: Set<String>) {
        var noted = notedHour
        for record in records {
            let hour = HistoryMath.floorDiv(record.createdMillis, HistoryMath.hourMillis)
            if hour == noted.hour && noted.keys.contains(record.key) { continue }
            let add = try statement("INSERT OR IGNORE INTO result_hours(hour, key) VALUES(?,?)")
            sqlite3_bind_int64(add, 1, hour)
            bindText(add, 2, record.key)
            try step(add)
            if hour > noted.hour {
                noted = (hour, [record.key])
            } else if hour == noted.hour {
                noted.keys.insert(record.key)
            }
        }
        return noted
    }

    /// Adds a rollup delta to its row: in `rollups_recent`, or in `rollups` when its hour was
    /// archived already (a late result), or as a new row of `rollups_recent`.
    private func addRollup(_ delta: HourlyRollup) throws(Failure) {
        let columns = Self.rollupColumns
        if let recent = try query(
            "SELECT \(columns) FROM rollups_recent NOT INDEXED WHERE hour = ? AND key = ?", bind: [.int(delta.hour), .text(delta.key)], row: { Self.rollup($0) }
        ).first {
            return try writeRollup(delta, merged: recent, into: "rollups_recent")
        }
        if let archived = try query(
            "SELECT \(columns) FROM rollups WHERE key = ? AND hour = ?", bind: [.text(delta.key), .int(delta.hour)], row: { Self.rollup($0) }
        ).first {
            return try writeRollup(delta, merged: archived, into: "rollups")
        }
        try writeRollup(delta, merged: nil, into: "rollups_recent")
    }

    /// Writes `delta` (plus `merged`, the row it adds to) as the row of its check and hour in `table`.
    private func writeRollup(_ delta: HourlyRollup, merged stored: HourlyRollup?, into table: String) throws(Failure) {
        var merged = delta
        if let stored { merged.merge(stored) }
        // An update in place when the row exists: the index by check is not touched.
        let upsert = try statement(
            """
            INSERT INTO \(table)(\(Self.rollupColumns)) VALUES(?,?,?,?,?,?,?,?)
            ON CONFLICT DO UPDATE SET results = excluded.results, successes = excluded.successes,
            failures = excluded.failures, up_ms = excluded.up_ms, down_ms = excluded.down_ms, latency = excluded.latency
            """)
        bindText(upsert, 1, merged.key)
        sqlite3_bind_int64(upsert, 2, merged.hour)
        sqlite3_bind_int64(upsert, 3, Int64(merged.results))
        sqlite3_bind_int64(upsert, 4, Int64(merged.successes))
        sqlite3_bind_int64(upsert, 5, Int64(merged.failures))
        sqlite3_bind_int64(upsert, 6, merged.upMillis)
        sqlite3_bind_int64(upsert, 7, merged.downMillis)
        bindText(upsert, 8, merged.latency.encoded)
        try step(upsert)
    }

    /// Moves the rollups of hours before `hour` from `rollups_recent` to `rollups` (once an hour
    /// per check), in SQL: the rows are not held in memory. A row that `rollups` has already
    /// (not written so) is merged into it first.
    private func archiveRollups(before hour: Int64) throws(Failure) {
        let oldest = try query("SELECT min(hour) FROM rollups_recent", bind: []) { sqlite3_column_type($0, 0) == SQLITE_NULL ? nil : sqlite3_column_int64($0, 0) }
        guard let oldest = oldest.first ?? nil, oldest < hour else { return }
        let both = try query(
            "SELECT \(Self.rollupColumns("r.")), \(Self.rollupColumns("a.")) FROM rollups_recent AS r JOIN rollups AS a ON a.key = r.key AND a.hour = r.hour WHERE r.hour < ?",
            bind: [.int(hour)]
        ) { (recent: Self.rollup($0), archived: Self.rollup($0, from: 8)) }
        for (recent, archived) in both { try writeRollup(recent, merged: archived, into: "rollups") }
        try exec(
            """
            INSERT OR IGNORE INTO rollups(\(Self.rollupColumns)) SELECT \(Self.rollupColumns) FROM rollups_recent WHERE hour < \(hour) ORDER BY key, hour;
            DELETE FROM rollups_recent WHERE hour < \(hour)
            """)
    }

    /// Keeps, per check, the newest certificate expiry the records carry (one row a check: the
    /// report says when a certificate expires, not its history).
    private func upsertCertificates(_ records: [HistoryRecord]) throws(Failure) {
        var newest: [String: HistoryRecord] = [:]
        for record in records where record.certExpiresMillis != nil {
            if let known = newest[record.key], known.createdMillis > record.createdMillis { continue }
            newest[record.key] = record
        }
        guard !newest.isEmpty else { return }
        let upsert = try statement(
            """
            INSERT INTO certificates(key, checked_ms, expires_ms) VALUES(?,?,?)
            ON CONFLICT(key) DO UPDATE SET checked_ms = excluded.checked_ms, expires_ms = excluded.expires_ms
            WHERE excluded.checked_ms >= certificates.checked_ms
            """)
        for record in newest.values {
            bindText(upsert, 1, record.key)
            sqlite3_bind_int64(upsert, 2, record.createdMillis)
            sqlite3_bind_int64(upsert, 3, record.certExpiresMillis!)
            try step(upsert)
        }
    }

    public func certificate(key: String) throws -> HistoryCertificate? {
        try lock.withLock { _ throws(Failure) in
            // A history from a version without the table (read-only) has no certificates.
            guard hasCertificates else { return nil }
            return try query("SELECT checked_ms, expires_ms FROM certificates WHERE key = ?", bind: [.text(key)]) { statement in
                HistoryCertificate(checkedMillis: sqlite3_column_int64(statement, 0), expiresMillis: sqlite3_column_int64(statement, 1))
            }.first
        }
    }

    /// Rows per INSERT statement: one statement step per 64 results (a step per row was a
    /// third of the recorder's time).
    static let rowsPerInsert = 64

    /// Milliseconds of one slot of `results_by_slot` in a new file. The raw results are stored
    /// in time order, (slot, key, created): a batch's rows land on the pages of the newest slot
    /// or two, side by side for all checks. In check order (the older `results`), each check's
    /// rows went to a page of its own, so a batch rewrote one page per check, and more as the
    /// file grew. Reading one check costs a lookup per slot in the hours it has results.
    ///
    /// Within a slot the rows are in check order, so a batch (2,000 results) adds a row to
    /// nearly every page of its slot. With 10,000 checks at `sleep: 1`, 10-second slots (the
    /// legacy size) grew to 2,500 pages, more than SQLite's 2 MB cache: each result cost 1.6 KB
    /// of WAL writes and 1.7 KB of reads. With 2-second slots it costs 0.4 KB and 0.15 KB
    /// (1-second slots: 0.32 and 0.13 KB, for twice the lookups of a dense read).
    public static let newSlotMillis: Int64 = 2_000
    /// The slot of files made before the `format` table (2026-12-04).
    public static let legacySlotMillis: Int64 = 10_000

    /// The slot size the file records (`format`), if it records one; a recorded size that is
    /// not a whole divisor of an hour fails, naming the file and the row.
    private func storedSlotMillis() throws(Failure) -> Int64? {
        guard let stored = try query("SELECT value FROM format WHERE name = 'slot_ms'", bind: [], row: { sqlite3_column_int64($0, 0) }).first
        else { return nil }
        guard stored > 0, HistoryMath.hourMillis % stored == 0 else {
            throw Failure(
                description: "history \(path): table format, row slot_ms is \(stored); expected milliseconds that divide an hour (2000 or 10000)")
        }
        return stored
    }

    /// The INSERT of `rows` results into `table` (`results_by_slot`, with the slot, or
    /// `changes`), by table and row count (1 or `rowsPerInsert`): made once, not per batch.
    private static let insertSQL: [String: [Int: String]] = Dictionary(
        uniqueKeysWithValues: ["results_by_slot", "changes"].map { table in
            let slotted = table == "results_by_slot"
            let row = slotted ? "(?,?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?)"
            let sql = { (rows: Int) in
                "INSERT OR IGNORE INTO \(table)(id, key, created_ms, ok, latency_ms, message, sleep\(slotted ? ", slot" : "")) VALUES"
                    + Array(repeating: row, count: rows).joined(separator: ",")
            }
            return (table, [1: sql(1), rowsPerInsert: sql(rowsPerInsert)])
        })

    /// Inserts `rows` into `table` (`results_by_slot` or `changes`), 64 rows per statement, then one by one.
    private func insert(_ rows: [HistoryRecord], into table: String) throws(Failure) {
        guard !rows.isEmpty, let sql = Self.insertSQL[table] else { return }
        let slotted = table == "results_by_slot"
        let columns = slotted ? 8 : 7
        var start = 0
        while start < rows.count {
            let count = rows.count - start >= Self.rowsPerInsert ? Self.rowsPerInsert : 1
            let shape = InsertShape(table: table, rows: count)
            // Every parameter is bound below: no clearing.
            let insert: OpaquePointer
            if let cached = inserts[shape] {
                insert = cached
            } else {
                insert = try prepare(sql[count]!)
                inserts[shape] = insert
            }
            // The rows' texts side by side in one buffer, bound in place: SQLite copied each
            // (three allocations per row).
            let batch = rows[start..<start + count]
            insertTexts.removeAll(keepingCapacity: true)
            for record in batch {
                insertTexts.append(contentsOf: record.id.utf8)
                insertTexts.append(contentsOf: record.key.utf8)
                insertTexts.append(contentsOf: record.message.utf8)
            }
            try insertTexts.withUnsafeBufferPointer { buffer throws(Failure) in
                // (No base address: every text is empty, bound as "".)
                let texts = buffer.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
                var offset = 0
                func bindNext(_ index: Int32, _ text: String) {
                    let length = text.utf8.count
                    hm_sqlite3_bind_text_static(insert, index, texts.map { $0 + offset }, Int32(length))
                    offset += length
                }
                for (n, record) in batch.enumerated() {
                    let base = Int32(n * columns)
                    bindNext(base + 1, record.id)
                    bindNext(base + 2, record.key)
                    bindNext(base + 6, record.message)
                    sqlite3_bind_int64(insert, base + 3, record.createdMillis)
                    sqlite3_bind_int(insert, base + 4, record.success ? 1 : 0)
                    if let latency = record.latencyMs { sqlite3_bind_double(insert, base + 5, latency) } else { sqlite3_bind_null(insert, base + 5) }
                    sqlite3_bind_double(insert, base + 7, record.sleep)
                    if slotted { sqlite3_bind_int64(insert, base + 8, HistoryMath.floorDiv(record.createdMillis, slotMillis)) }
                }
                // Steps and resets while the buffer is valid.
                try step(insert)
            }
            start += count
        }
    }

    public func results(key: String, from: Int64, to: Int64) throws -> [HistoryRecord] {
        guard from < to else { return [] }
        return try lock.withLock { _ throws(Failure) in
            var out: [HistoryRecord] = []
            if hasKeyOrderedResults {
                out = try query(
                    "SELECT \(Self.recordColumns) FROM results WHERE key = ? AND created_ms >= ? AND created_ms < ? ORDER BY created_ms",
                    bind: [.text(key), .int(from), .int(to)], row: { Self.record($0) })
            }
            guard hasSlots else { return out }
            let (firstSlot, lastSlot) = (HistoryMath.floorDiv(from, slotMillis), HistoryMath.floorDiv(to - 1, slotMillis))
            // The check's hours with results, in runs of consecutive hours: one scan of slots per run.
            var runs: [(first: Int64, last: Int64)] = []
            for hour in try resultHours(key: key, from: HistoryMath.floorDiv(firstSlot, slotsPerHour), through: HistoryMath.floorDiv(lastSlot, slotsPerHour), newestFirst: false) {
                if let run = runs.last, run.last + 1 == hour { runs[runs.count - 1].last = hour } else { runs.append((hour, hour)) }
            }
            let lookups = """
                WITH RECURSIVE s(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM s WHERE n < ?2)
                SELECT \(Self.recordColumns("r.")) FROM s CROSS JOIN results_by_slot AS r
                WHERE r.slot = s.n AND r.key = ?3 AND r.created_ms >= ?4 AND r.created_ms < ?5
                """
            let rows = """
                SELECT \(Self.recordColumns) FROM results_by_slot
                WHERE slot >= ?1 AND slot <= ?2 AND key = ?3 AND created_ms >= ?4 AND created_ms < ?5
                """
            let before = out.count
            for run in runs {
                let low = max(run.first * slotsPerHour, firstSlot), high = min((run.last + 1) * slotsPerHour - 1, lastSlot)
                out += try query(
                    try fewRows(low: low, high: high) ? rows : lookups, bind: [.int(low), .int(high), .text(key), .int(from), .int(to)], row: { Self.record($0) })
            }
            // Both tables (a file from an older version): oldest first, as one.
            if before > 0 && out.count > before { out.sort { ($0.createdMillis, $0.id) < ($1.createdMillis, $1.id) } }
            return out
        }
    }

    /// Whether slots `low` through `high` hold fewer than `rowsScannedPerSlot` rows per slot
    /// (all checks'), and fewer than 50 × that in all: then reading them row by row costs less
    /// than a lookup per slot. Counting stops there, so that deciding costs little (the
    /// recorder asks once per check at start: with 10,000 checks, counting a whole hour of a
    /// dense history each time held its first batch back for seconds).
    private func fewRows(low: Int64, high: Int64) throws(Failure) -> Bool {
        let budget = rowsScannedPerSlot * min(high - low + 1, 50)
        guard budget > 0 else { return false }
        let counted = try query(
            "SELECT count(*) FROM (SELECT 1 FROM results_by_slot WHERE slot >= ? AND slot <= ? LIMIT ?)",
            bind: [.int(low), .int(high), .int(budget)]
        ) { sqlite3_column_int64($0, 0) }
        return (counted.first ?? 0) < budget
    }

    /// The hours from `from` through `through` in which `key` has raw results (`result_hours`),
    /// oldest or newest first.
    private func resultHours(key: String, from: Int64, through: Int64, newestFirst: Bool) throws(Failure) -> [Int64] {
        try query(
            "SELECT hour FROM result_hours WHERE key = ? AND hour >= ? AND hour <= ? ORDER BY hour \(newestFirst ? "DESC" : "ASC")",
            bind: [.text(key), .int(from), .int(through)]
        ) { sqlite3_column_int64($0, 0) }
    }

    public func transitions(key: String, from: Int64, to: Int64) throws -> [HistoryRecord] {
        try lock.withLock { _ throws(Failure) in
            // Older files (read-only): the changes derived from the raw results on the fly.
            let changes =
                hasChanges
                ? "changes"
                : "(SELECT * FROM (SELECT *, LAG(ok) OVER (ORDER BY created_ms) AS previous FROM results WHERE key = ?1) WHERE previous IS NULL OR previous != ok)"
            let columns = "id, key, created_ms, ok, latency_ms, message, sleep"
            let before = try query(
                "SELECT \(columns) FROM \(changes) WHERE key = ?1 AND created_ms < ?2 ORDER BY created_ms DESC LIMIT 1",
                bind: [.text(key), .int(from)], row: { Self.record($0) })
            return try before
                + query(
                    "SELECT \(columns) FROM \(changes) WHERE key = ?1 AND created_ms >= ?2 AND created_ms < ?3 ORDER BY created_ms",
                    bind: [.text(key), .int(from), .int(to)], row: { Self.record($0) })
        }
    }

    public func last(key: String, before: Int64) throws -> HistoryRecord? {
        guard before > .min else { return nil }
        return try lock.withLock { _ throws(Failure) in
            if hasSlots {
                let lastSlot = HistoryMath.floorDiv(before - 1, slotMillis)
                // Newest hour first: results in the new table are newer than any of an older version's.
                for hour in try resultHours(key: key, from: .min, through: HistoryMath.floorDiv(lastSlot, slotsPerHour), newestFirst: true) {
                    let (low, high) = (hour * slotsPerHour, min((hour + 1) * slotsPerHour - 1, lastSlot))
                    if let newest = try newest(key: key, before: before, low: low, high: high) { return newest }
                }
            }
            guard hasKeyOrderedResults else { return nil }
            return try query(
                "SELECT \(Self.recordColumns) FROM results WHERE key = ? AND created_ms < ? ORDER BY created_ms DESC LIMIT 1",
                bind: [.text(key), .int(before)], row: { Self.record($0) }
            ).first
        }
    }

    /// The newest result of `key` before `before` in slots `low` through `high`: read row by
    /// row when the slots hold few rows, else a lookup per slot from `high` down, up to the first
    /// slot that has one.
    private func newest(key: String, before: Int64, low: Int64, high: Int64) throws(Failure) -> HistoryRecord? {
        let newer = { (a: HistoryRecord, b: HistoryRecord) in (a.createdMillis, a.id) < (b.createdMillis, b.id) }
        if try fewRows(low: low, high: high) {
            return try query(
                "SELECT \(Self.recordColumns) FROM results_by_slot WHERE slot >= ? AND slot <= ? AND key = ? AND created_ms < ?",
                bind: [.int(low), .int(high), .text(key), .int(before)], row: { Self.record($0) }
            ).max(by: newer)
        }
        let scan = try statement(
            """
            WITH RECURSIVE s(n) AS (SELECT ?1 UNION ALL SELECT n - 1 FROM s WHERE n > ?2)
            SELECT r.slot, \(Self.recordColumns("r.")) FROM s CROSS JOIN results_by_slot AS r
            WHERE r.slot = s.n AND r.key = ?3 AND r.created_ms < ?4
            """)
        defer { sqlite3_reset(scan) }
        sqlite3_bind_int64(scan, 1, high)
        sqlite3_bind_int64(scan, 2, low)
        bindText(scan, 3, key)
        sqlite3_bind_int64(scan, 4, before)
        var found: [HistoryRecord] = []
        var slot: Int64?
        // The rows of the first (newest) slot that has any; stepping stops the recursion there.
        while true {
            let rc = sqlite3_step(scan)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure("read failed") }
            let rowSlot = sqlite3_column_int64(scan, 0)
            if let slot, slot != rowSlot { break }
            slot = rowSlot
            found.append(Self.record(scan, from: 1))
        }
        return found.max(by: newer)
    }

    public func rollups(key: String, fromHour: Int64, toHour: Int64) throws -> [HourlyRollup] {
        try lock.withLock { _ throws(Failure) in try rollupRows(key: key, fromHour: fromHour, toHour: toHour) }
    }

    public func checks() throws -> [String] {
        try lock.withLock { _ throws(Failure) in
            // Every recorded result adds to its hour's rollup: the rollups' keys are all keys, read
            // from their primary key without touching the (large) results table.
            try query(
                hasRecentRollups ? "SELECT key FROM rollups UNION SELECT key FROM rollups_recent ORDER BY key" : "SELECT DISTINCT key FROM rollups ORDER BY key",
                bind: []
            ) { statement in
                String(cString: sqlite3_column_text(statement, 0))
            }
        }
    }

    public func prune(resultsBefore: Int64, rollupsBefore: Int64) throws {
        try lock.withLock { _ throws(Failure) in
            try exec(
                """
                DELETE FROM results_by_slot WHERE slot <= \(HistoryMath.floorDiv(resultsBefore, slotMillis)) AND created_ms < \(resultsBefore);
                DELETE FROM result_hours WHERE hour < \(HistoryMath.floorDiv(resultsBefore, HistoryMath.hourMillis));
                DELETE FROM rollups WHERE hour < \(rollupsBefore);
                DELETE FROM rollups_recent WHERE hour < \(rollupsBefore);
                DELETE FROM changes WHERE created_ms < \(rollupsBefore * HistoryMath.hourMillis)
                """)
            if hasKeyOrderedResults {
                // An older version's raw results: pruned like the others, dropped once empty.
                try exec("DELETE FROM results WHERE created_ms < \(resultsBefore)")
                if try query("SELECT 1 FROM results LIMIT 1", bind: [], row: { _ in 1 }).isEmpty {
                    try exec("DROP TABLE results")
                    statements = statements.filter { sql, statement in
                        guard sql.contains("FROM results ") else { return true }
                        sqlite3_finalize(statement)
                        return false
                    }
                    hasKeyOrderedResults = false
                }
            }
        }
    }

    // MARK: SQL

    private enum Value {
        case text(String)
        case int(Int64)
    }

    private func rollupRows(key: String, fromHour: Int64, toHour: Int64) throws(Failure) -> [HourlyRollup] {
        var rows = try query(
            "SELECT \(Self.rollupColumns) FROM rollups WHERE key = ? AND hour >= ? AND hour < ? ORDER BY hour",
            bind: [.text(key), .int(fromHour), .int(toHour)], row: { Self.rollup($0) })
        guard hasRecentRollups else { return rows }
        let recent = try query(
            "SELECT \(Self.rollupColumns) FROM rollups_recent INDEXED BY rollups_recent_key WHERE key = ? AND hour >= ? AND hour < ? ORDER BY hour",
            bind: [.text(key), .int(fromHour), .int(toHour)], row: { Self.rollup($0) })
        guard !recent.isEmpty else { return rows }
        // The recent hours come after the archived ones; an hour in both (not written so) is merged.
        for rollup in recent {
            if let i = rows.firstIndex(where: { $0.hour == rollup.hour }) { rows[i].merge(rollup) } else { rows.append(rollup) }
        }
        return rows.sorted { $0.hour < $1.hour }
    }

    /// The rollup in `rollupColumns` starting at column `first`.
    private static func rollup(_ statement: OpaquePointer, from first: Int32 = 0) -> HourlyRollup {
        var rollup = HourlyRollup(key: String(cString: sqlite3_column_text(statement, first)), hour: sqlite3_column_int64(statement, first + 1))
        rollup.results = Int(sqlite3_column_int64(statement, first + 2))
        rollup.successes = Int(sqlite3_column_int64(statement, first + 3))
        rollup.failures = Int(sqlite3_column_int64(statement, first + 4))
        rollup.upMillis = sqlite3_column_int64(statement, first + 5)
        rollup.downMillis = sqlite3_column_int64(statement, first + 6)
        rollup.latency = LatencyHistogram(encoded: String(cString: sqlite3_column_text(statement, first + 7))) ?? LatencyHistogram()
        return rollup
    }

    private func tableExists(_ name: String) throws(Failure) -> Bool {
        try !query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", bind: [.text(name)]) { _ in 1 }.isEmpty
    }

    /// The columns `record` reads, in its order (`prefix`: a table alias).
    private static func recordColumns(_ prefix: String) -> String {
        columns(["id", "key", "created_ms", "ok", "latency_ms", "message", "sleep"], prefix)
    }
    private static let recordColumns = recordColumns("")

    /// The record in `recordColumns` starting at column `first`.
    private static func record(_ statement: OpaquePointer, from first: Int32 = 0) -> HistoryRecord {
        HistoryRecord(
            id: String(cString: sqlite3_column_text(statement, first)), key: String(cString: sqlite3_column_text(statement, first + 1)),
            createdMillis: sqlite3_column_int64(statement, first + 2), success: sqlite3_column_int(statement, first + 3) != 0,
            latencyMs: sqlite3_column_type(statement, first + 4) == SQLITE_NULL ? nil : sqlite3_column_double(statement, first + 4),
            message: String(cString: sqlite3_column_text(statement, first + 5)), sleep: sqlite3_column_double(statement, first + 6))
    }

    private func failure(_ what: String) -> Failure {
        let busy = sqlite3_errcode(db) & 0xff == SQLITE_BUSY || sqlite3_errcode(db) & 0xff == SQLITE_LOCKED
        return Failure(
            description: "history \(path): \(what): \(String(cString: sqlite3_errmsg(db)))"
                + (busy ? " (another process holds it locked; waited \(Self.busyTimeoutMillis / 1000) s)" : ""))
    }

    private func exec(_ sql: String) throws(Failure) {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw failure("SQL failed") }
    }

    private func prepare(_ sql: String) throws(Failure) -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else { throw failure("cannot prepare") }
        return statement
    }

    /// Binds `text` to parameter `index`. Through the string's own UTF-8 (Swift's implicit
    /// `String` to `char *` conversion copies every string into a new array first).
    private func bindText(_ statement: OpaquePointer, _ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            _ = utf8.withMemoryRebound(to: CChar.self) { hm_sqlite3_bind_text_n(statement, index, $0.baseAddress, Int32(utf8.count)) }
        }
    }

    /// The cached statement for `sql`, reset and with its bindings cleared.
    private func statement(_ sql: String) throws(Failure) -> OpaquePointer {
        if let cached = statements[sql] {
            sqlite3_reset(cached)
            sqlite3_clear_bindings(cached)
            return cached
        }
        let prepared = try prepare(sql)
        statements[sql] = prepared
        return prepared
    }

    private func step(_ statement: OpaquePointer) throws(Failure) {
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else {
            let failure = failure("write failed")
            sqlite3_reset(statement)
            throw failure
        }
        sqlite3_reset(statement)
    }

    private func query<T>(_ sql: String, bind values: [Value], row: (OpaquePointer) -> T) throws(Failure) -> [T] {
        let statement = try statement(sql)
        defer { sqlite3_reset(statement) }
        for (i, value) in values.enumerated() {
            switch value {
            case .text(let text): bindText(statement, Int32(i + 1), text)
            case .int(let number): sqlite3_bind_int64(statement, Int32(i + 1), number)
            }
        }
        var out: [T] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_ROW {
                out.append(row(statement))
            } else if rc == SQLITE_DONE {
                return out
            } else {
                throw failure("read failed")
            }
        }
    }
}
