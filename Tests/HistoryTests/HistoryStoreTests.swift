import CSQLite
import Foundation
import HistorySQLite
import Logging
import Monitor
import Report
import Testing

func scratch() -> String {
    let path = NSTemporaryDirectory() + "hm-history-\(ResultID.next())"
    try? FileSystem.makeDirectories(path)
    return path
}

/// The rows of `sql` run on the SQLite file at `path`, each column as text.
func sqliteRows(_ sql: String, in path: String) throws -> [[String]] {
    var db: OpaquePointer?
    var statement: OpaquePointer?
    defer {
        sqlite3_finalize(statement)
        sqlite3_close(db)
    }
    try #require(sqlite3_open(path, &db) == SQLITE_OK)
    try #require(sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, "\(String(cString: sqlite3_errmsg(db)))")
    var out: [[String]] = []
    while sqlite3_step(statement) == SQLITE_ROW {
        out.append((0..<sqlite3_column_count(statement)).map { String(cString: sqlite3_column_text(statement, $0)) })
    }
    return out
}

@Suite struct HistoryStoreTests {
    let h = HistoryMath.hourMillis

    @Test func storesResultsAndMergesRollups() throws {
        let store = try SQLiteHistoryStore(path: scratch() + "/history.sqlite")
        let a = [record(at: 1000, true, latency: 5), record(at: 61_000, false)]
        var first = HourlyRollup(key: "ping/x", hour: 0)
        first.results = 2
        first.successes = 1
        first.failures = 1
        first.upMillis = 60_000
        first.latency.add(5)
        try store.append(a, changes: HistoryMath.changes(a, after: nil), rollups: [first])
        try store.append([record(at: 1000, true, latency: 5)], changes: [record(at: 1000, true, latency: 5)], rollups: [])  // the same id again: kept once
        #expect(try store.results(key: "ping/x", from: 0, to: h).map(\.createdMillis) == [1000, 61_000])
        #expect(try store.results(key: "ping/x", from: 0, to: h).first == a[0])
        #expect(try store.last(key: "ping/x", before: 61_000)?.createdMillis == 1000)
        #expect(try store.last(key: "ping/x", before: 1000) == nil)
        var second = HourlyRollup(key: "ping/x", hour: 0)
        second.results = 1
        second.downMillis = 120_000
        second.latency.add(7)
        try store.append([], changes: [], rollups: [second])
        let merged = try #require(try store.rollups(key: "ping/x", fromHour: 0, toHour: 1).first)
        #expect(merged.results == 3 && merged.successes == 1 && merged.failures == 1)
        #expect(merged.upMillis == 60_000 && merged.downMillis == 120_000)
        #expect(merged.latency.count == 2 && merged.latency.max == 7)
        #expect(try store.checks() == ["ping/x"])
        #expect(try store.transitions(key: "ping/x", from: 0, to: .max).map(\.createdMillis) == [1000, 61_000])
        #expect(try store.transitions(key: "ping/x", from: 61_000, to: .max).map(\.createdMillis) == [1000, 61_000])
        #expect(try store.transitions(key: "ping/x", from: 61_001, to: .max).map(\.createdMillis) == [61_000])
        try store.prune(resultsBefore: 10_000, rollupsBefore: 1)
        #expect(try store.results(key: "ping/x", from: 0, to: h).map(\.createdMillis) == [61_000])
        #expect(try store.rollups(key: "ping/x", fromHour: 0, toHour: 1).isEmpty)
    }

    /// Texts are stored as written, whatever their length and script, in a batch that fills whole
    /// 64-row INSERTs and single-row ones (the texts of a statement are bound from one buffer).
    @Test func textsOfEveryLengthAndScriptReadBackAsWritten() throws {
        let store = try SQLiteHistoryStore(path: scratch() + "/history.sqlite")
        let messages = ["", "a", "connected to db:5432", "Ünïcödé ✓ 🚀 ошибка", String(repeating: "long message ", count: 40), "tab\tand\nnewline"]
        let records = (0..<131).map { n in
            HistoryRecord(
                id: n % 2 == 0 ? "id\(n)" : "a-longer-result-identifier-\(n)", key: n % 3 == 0 ? "ping/ß\(n % 4)" : "hostport/a-rather-long-label-\(n % 4)",
                createdMillis: 1_000 * Int64(n), success: n % 5 != 0, latencyMs: n % 7 == 0 ? nil : Double(n) / 4,
                message: messages[n % messages.count], sleep: 1)
        }
        try store.append(records, changes: [], rollups: [])
        let keys = Set(records.map(\.key))
        var read: [HistoryRecord] = []
        for key in keys { read += try store.results(key: key, from: 0, to: .max) }
        #expect(read.count == records.count)
        #expect(read.sorted { $0.createdMillis < $1.createdMillis } == records)
    }

    /// The newest certificate expiry per check is kept (not one per result), and the report
    /// says when it expires: JSON, and a table section that marks one under 14 days.
    @Test func theNewestCertificateExpiryIsKeptAndReported() throws {
        let path = scratch() + "/history.sqlite"
        let store = try SQLiteHistoryStore(path: path)
        let day: Int64 = 86_400_000
        let now: Int64 = 1_800_000_000_000
        func withCert(_ key: String, at millis: Int64, expires: Int64?) -> HistoryRecord {
            var r = record(key, at: millis, true, latency: 1)
            r.certExpiresMillis = expires
            return r
        }
        let batch = [
            withCert("download/web", at: now - 120_000, expires: now + 90 * day), withCert("download/web", at: now - 60_000, expires: now + 3 * day + 3_600_000),
            withCert("hostport/ldap", at: now - 60_000, expires: now - 2 * day), withCert("ping/x", at: now - 60_000, expires: nil),
        ]
        try store.append(batch, changes: [], rollups: ["download/web", "hostport/ldap", "ping/x"].map { HourlyRollup(key: $0, hour: (now - 60_000) / h) })
        // An older result written later does not replace the newer expiry.
        try store.append([withCert("download/web", at: now - 600_000, expires: now + 400 * day)], changes: [], rollups: [])
        #expect(try store.certificate(key: "download/web") == HistoryCertificate(checkedMillis: now - 60_000, expiresMillis: now + 3 * day + 3_600_000))
        #expect(try store.certificate(key: "hostport/ldap")?.expiresMillis == now - 2 * day)
        #expect(try store.certificate(key: "ping/x") == nil)

        let reports = try HistoryReport.build(store: store, keys: [], since: now - day, until: now, now: now, rawSince: now - 7 * day)
        let json = try #require(HistoryReport.jsonValue(reports, since: now - day, until: now, now: now).objectValue?["checks"]?.arrayValue)
        let web = try #require(json.first { $0.objectValue?["key"] == "download/web" }?.objectValue)
        #expect(web["cert_expires"] == .string(WallClock.iso8601(millis: now + 3 * day + 3_600_000)))
        #expect(web["cert_expires_days"] == .double(3.04))
        #expect(json.first { $0.objectValue?["key"] == "ping/x" }?.objectValue?["cert_expires"] == nil)
        let table = HistoryReport.table(reports, since: now - day, until: now, now: now)
        #expect(table.contains("\nCertificates\n"))
        #expect(table.contains("  download/web              expires 2027-01-18 (in 3 days)  SOON\n"), "\(table)")
        #expect(table.contains("  hostport/ldap             EXPIRED 2027-01-13 (48.0 h ago)\n"), "\(table)")

        // A history from before the table, read-only: no certificates, no error.
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        #expect(sqlite3_exec(db, "DROP TABLE certificates", nil, nil, nil) == SQLITE_OK)
        sqlite3_close(db)
        #expect(try SQLiteHistoryStore(path: path, readOnly: true).certificate(key: "download/web") == nil)
    }

    /// A file written by an older version: raw results and rollups in check order, no
    /// `changes` table. Read-only it answers as it is; opened for writing, its changes are
    /// derived, its rollups are the archive of the new layout as they are, and its raw results
    /// are read beside the new ones until pruning empties (and drops) their table.
    @Test func aHistoryFromAnOlderVersionAnswersTheSameAndIsUpgraded() throws {
        let path = scratch() + "/history.sqlite"
        let records = [(0, true), (1, true), (2, false), (3, false), (4, true)].map { record(at: Int64($0.0) * 60_000, $0.1, latency: 2) }
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        let rows = records.map { "('ping/x', \($0.createdMillis), '\($0.id)', \($0.success ? 1 : 0), 2.0, '\($0.message)', 60.0)" }
        let old = """
            CREATE TABLE results(
                key TEXT NOT NULL, created_ms INTEGER NOT NULL, id TEXT NOT NULL, ok INTEGER NOT NULL,
                latency_ms REAL, message TEXT NOT NULL, sleep REAL NOT NULL,
                PRIMARY KEY(key, created_ms, id)) WITHOUT ROWID;
            CREATE TABLE rollups(
                key TEXT NOT NULL, hour INTEGER NOT NULL, results INTEGER NOT NULL, successes INTEGER NOT NULL,
                failures INTEGER NOT NULL, up_ms INTEGER NOT NULL, down_ms INTEGER NOT NULL, latency TEXT NOT NULL,
                PRIMARY KEY(key, hour)) WITHOUT ROWID;
            INSERT INTO results VALUES \(rows.joined(separator: ","));
            INSERT INTO rollups VALUES ('ping/x', 0, 5, 3, 2, 180000, 120000, '5 10.0 2.0 2.0 34:5');
            """
        #expect(sqlite3_exec(db, old, nil, nil, nil) == SQLITE_OK)
        sqlite3_close(db)
        let expected = [0, 2, 4].map { records[$0] }
        func answersAsBefore(_ store: SQLiteHistoryStore) throws {
            #expect(try store.transitions(key: "ping/x", from: 0, to: .max) == expected)
            #expect(try store.transitions(key: "ping/x", from: 3 * 60_000, to: .max) == [records[2], records[4]])
            #expect(try store.results(key: "ping/x", from: 60_000, to: 240_000) == Array(records[1...3]))
            #expect(try store.last(key: "ping/x", before: .max) == records[4])
            #expect(try store.last(key: "ping/x", before: 150_000) == records[2])
            let rollup = try #require(try store.rollups(key: "ping/x", fromHour: 0, toHour: 1).first)
            #expect(rollup.results == 5 && rollup.upMillis == 180_000 && rollup.latency.count == 5)
            #expect(try store.checks() == ["ping/x"])
        }
        try answersAsBefore(try SQLiteHistoryStore(path: path, readOnly: true))
        let upgraded = try SQLiteHistoryStore(path: path)
        try answersAsBefore(upgraded)
        try answersAsBefore(try SQLiteHistoryStore(path: path, readOnly: true))
        // New results go to the new table and are read with the older ones, in time order.
        let later = [record(at: 5 * 60_000, true), record(at: 2 * 3_600_000, false)]
        var delta = HourlyRollup(key: "ping/x", hour: 0)
        delta.count(later[0])
        try upgraded.append(later, changes: [later[1]], rollups: [delta])
        #expect(try upgraded.results(key: "ping/x", from: 0, to: .max) == records + later)
        #expect(try upgraded.last(key: "ping/x", before: 2 * 3_600_000) == later[0])
        #expect(try upgraded.last(key: "ping/x", before: 5 * 60_000) == records[4])
        #expect(try upgraded.rollups(key: "ping/x", fromHour: 0, toHour: 1).first?.results == 6)
        // Pruning empties the older table and drops it; the new results stay.
        try upgraded.prune(resultsBefore: 5 * 60_000, rollupsBefore: 0)
        #expect(try upgraded.results(key: "ping/x", from: 0, to: .max) == later)
        #expect(try upgraded.last(key: "ping/x", before: 5 * 60_000) == nil)
        let tables = try sqliteRows("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", in: path)
        #expect(tables == [["certificates"], ["changes"], ["format"], ["result_hours"], ["results_by_slot"], ["rollups"], ["rollups_recent"]])
    }

    /// The newest two hours' rollups are kept apart (time order) and move to the archive (check
    /// order) as hours pass; reads, late deltas and pruning see one table.
    @Test func rollupsMoveToTheArchiveAndReadAsOne() throws {
        let store = try SQLiteHistoryStore(path: scratch() + "/history.sqlite")
        func delta(_ key: String, _ hour: Int64, results: Int, latency: Double) -> HourlyRollup {
            var rollup = HourlyRollup(key: key, hour: hour)
            rollup.results = results
            rollup.successes = results
            rollup.upMillis = Int64(results) * 1000
            rollup.latency.add(latency)
            return rollup
        }
        for hour in Int64(0)..<6 {
            try store.append([], changes: [], rollups: [delta("ping/a", hour, results: 2, latency: 1), delta("ping/b", hour, results: 3, latency: 2)])
            try store.append([], changes: [], rollups: [delta("ping/a", hour, results: 1, latency: 4)])
        }
        // A late delta for an archived hour adds to its row.
        try store.append([], changes: [], rollups: [delta("ping/a", 1, results: 5, latency: 8)])
        let a = try store.rollups(key: "ping/a", fromHour: 0, toHour: 6)
        #expect(a.map(\.hour) == [0, 1, 2, 3, 4, 5])
        #expect(a.map(\.results) == [3, 8, 3, 3, 3, 3])
        #expect(a[1].latency.count == 3 && a[1].latency.max == 8 && a[1].upMillis == 8000)
        #expect(try store.rollups(key: "ping/b", fromHour: 3, toHour: 5).map(\.results) == [3, 3])
        #expect(try store.checks() == ["ping/a", "ping/b"])
        // Hours 0-3 archived, 4-5 recent.
        #expect(try sqliteRows("SELECT (SELECT count(*) FROM rollups), (SELECT count(*) FROM rollups_recent)", in: store.path) == [["8", "4"]])
        try store.prune(resultsBefore: 0, rollupsBefore: 5)
        #expect(try store.rollups(key: "ping/a", fromHour: 0, toHour: 6).map(\.hour) == [5])
    }

    /// Raw results are kept in slots (2 s; 10 s in a file made before the `format` table),
    /// found through the hours each check has results in: every window and every `last` agrees
    /// with a plain filter over what was written (checks that run every second, every few
    /// minutes, and with hours-long gaps; windows and times on and off slot and hour
    /// boundaries; after a prune).
    /// Both ways of reading a range of slots: a lookup per slot (0), row by row (1,000,000), and
    /// the default, which picks one by the number of rows; the legacy slot with the default
    /// only (the same code with another slot length: a wrong length fails in any mode, and each
    /// case holds a cooperative thread for seconds).
    @Test(arguments: zip([0, 1_000_000, 40, 40] as [Int64], [false, false, false, true]))
    func rawResultsAreFoundAcrossSlotsAndHoursAsAPlainFilterFindsThem(rowsScannedPerSlot: Int64, legacySlots: Bool) throws {
        let path = scratch() + "/history.sqlite"
        if legacySlots {
            // A file of the version before the `format` table: its slots stay 10 s.
            _ = try SQLiteHistoryStore(path: path)
            var db: OpaquePointer?
            #expect(sqlite3_open(path, &db) == SQLITE_OK)
            #expect(sqlite3_exec(db, "DROP TABLE format", nil, nil, nil) == SQLITE_OK)
            sqlite3_close(db)
        }
        let slot = legacySlots ? SQLiteHistoryStore.legacySlotMillis : SQLiteHistoryStore.newSlotMillis
        let store = try SQLiteHistoryStore(path: path, rowsScannedPerSlot: rowsScannedPerSlot)
        #expect(store.slotMillis == slot)
        #expect(try SQLiteHistoryStore(path: path, readOnly: true).slotMillis == slot)
        #expect(try sqliteRows("SELECT value FROM format WHERE name = 'slot_ms'", in: path) == [["\(slot)"]])
        var rng = SplitMix(seed: 11)
        let start: Int64 = 1_800_000_000_000 - 1_800_000_000_000 % h  // on an hour
        var all: [HistoryRecord] = []
        for (key, steps) in [("ping/fast", [1_000, 2_000]), ("hostport/slow", [170_000, 250_000]), ("download/gappy", [600_000, 9_000_000])] {
            var t = start + Int64.random(in: 0..<10_000, using: &rng)
            while t < start + 6 * h {
                all.append(record(key, at: t, Bool.random(using: &rng), latency: 1))
                t += Int64(steps[Int.random(in: 0..<2, using: &rng)]) + Int64.random(in: 0..<999, using: &rng)
            }
        }
        all.sort { $0.createdMillis < $1.createdMillis }
        for batch in stride(from: 0, to: all.count, by: 997) { try store.append(Array(all[batch..<min(batch + 997, all.count)]), changes: [], rollups: []) }
        #expect(try sqliteRows("SELECT count(*), sum(slot = created_ms / \(slot)) FROM results_by_slot", in: path) == [["\(all.count)", "\(all.count)"]])
        let keys = ["ping/fast", "hostport/slow", "download/gappy", "ping/none"]
        func agrees(from floor: Int64) throws {
            var edges: [Int64] = [.min, -1, 0, start - h, start, start + 10_000, start + h - 1, start + h, start + 6 * h, .max]
            for _ in 0..<8 { edges.append(start + Int64.random(in: -h...(7 * h), using: &rng)) }
            // Times of results themselves: a window starts at a result (kept) and ends at one (not).
            for _ in 0..<4 { edges.append(all[Int.random(in: 0..<all.count, using: &rng)].createdMillis) }
            for key in keys {
                let mine = all.filter { $0.key == key && $0.createdMillis >= floor }
                for from in edges {
                    for to in edges where to > from {
                        #expect(try store.results(key: key, from: from, to: to) == mine.filter { $0.createdMillis >= from && $0.createdMillis < to })
                    }
                    #expect(try store.last(key: key, before: from) == mine.last { $0.createdMillis < from })
                }
            }
        }
        try agrees(from: .min)
        let cut = start + 2 * h + 12_345
        try store.prune(resultsBefore: cut, rollupsBefore: 0)
        try agrees(from: cut)
    }

    /// A slot length in `format` that does not divide an hour is refused, for writing and
    /// reading, with the file and the row named.
    @Test func aBadSlotLengthIsRefusedWithTheFileAndRowNamed() throws {
        let path = scratch() + "/history.sqlite"
        _ = try SQLiteHistoryStore(path: path)
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        #expect(sqlite3_exec(db, "UPDATE format SET value = 7000 WHERE name = 'slot_ms'", nil, nil, nil) == SQLITE_OK)
        sqlite3_close(db)
        for readOnly in [false, true] {
            let error = #expect(throws: SQLiteHistoryStore.Failure.self) { try SQLiteHistoryStore(path: path, readOnly: readOnly) }
            #expect(error?.description == "history \(path): table format, row slot_ms is 7000; expected milliseconds that divide an hour (2000 or 10000)")
        }
    }

    @Test func aReadOnlyOpenNeverCreatesAndSaysWhatIsWrong() throws {
        let directory = scratch()
        #expect(throws: SQLiteHistoryStore.Failure.self) { try SQLiteHistoryStore(path: directory + "/none.sqlite", readOnly: true) }
        #expect(!FileSystem.exists(directory + "/none.sqlite"))
        try FileSystem.writeAtomically("not a database, just text\n", to: directory + "/bad.sqlite")
        do {
            _ = try SQLiteHistoryStore(path: directory + "/bad.sqlite", readOnly: true)
            Issue.record("a text file opened as a history")
        } catch {
            #expect("\(error)".contains(directory + "/bad.sqlite"), "\(error)")
        }
    }

    /// The router reads a result's response time and certificate expiry once and hands them to
    /// the history, the live status and the metrics: each keeps them, and a later result that
    /// read no certificate (a failed run) leaves the expiry as it was.
    @Test func aRoutedResultsReadingsReachTheHistoryTheLiveStatusAndTheMetrics() async throws {
        let store = try SQLiteHistoryStore(path: scratch() + "/history.sqlite")
        let recorder = HistoryRecorder(store: store, sleeps: ["download/web": 60], logger: Logger(label: "test"))
        let running = Task { try await recorder.run() }
        let config = CheckConfig(type: "download", label: "web", sleep: 60, options: Options([:]))
        let live = LiveStatus(checks: [config])
        let metrics = MonitorMetrics(checks: [config], channels: [])
        let router = ResultRouter(channels: [], logger: Logger(label: "test"), histories: [recorder], live: live, metrics: metrics)
        let now = Int64(WallClock.nowMillis())
        router.route(
            CheckResult(
                status: .success, check: "download", label: "web", message: "ok",
                measurement: ["total_ms": 12.5, "cert_expires_at": 1_803_922_509], createdMillis: now - 1000),
            position: 0)
        router.route(
            CheckResult(status: .failure, check: "download", label: "web", message: "refused", measurement: ["status": 0], createdMillis: now),
            position: 0)
        await recorder.flush()
        let records = try store.results(key: "download/web", from: 0, to: .max)
        #expect(records.map(\.latencyMs) == [12.5, nil])
        #expect(try store.certificate(key: "download/web")?.expiresMillis == 1_803_922_509_000)
        #expect(live.state("download/web")?.certExpiresMillis == 1_803_922_509_000)
        #expect(live.state("download/web")?.responseTimeMs == nil && live.state("download/web")?.results == 2)
        var out: [UInt8] = []
        metrics.checks.render(into: &out)
        let lines = String(decoding: out, as: UTF8.self).split(separator: "\n")
        #expect(lines.contains(#"healthmonitor_cert_expiry_seconds{check="download",label="web"} 1803922509.0"#))
        #expect(lines.contains(#"healthmonitor_check_response_time_seconds{check="download",label="web"} 0.0125"#))
        running.cancel()
    }

    /// The recorder's rollups agree with the math over the raw results, hour by hour.
    @Test func theRecorderWritesRollupsThatAgreeWithTheRawResults() async throws {
        let path = scratch() + "/history.sqlite"
        let store = try SQLiteHistoryStore(path: path)
        let recorder = HistoryRecorder(store: store, sleeps: ["hostport/db": 600], logger: Logger(label: "test"))
        let running = Task { try await recorder.run() }
        // Every 10 minutes for 5 hours from 00:55, with gaps (a restart) and failures.
        let start: Int64 = 1_800_000_000_000 / h * h + 55 * 60_000
        var times: [Int64] = []
        var t = start
        for i in 0..<30 {
            times.append(t)
            t += i == 12 ? 3 * 3_600_000 / 2 : 600_000  // 1.5 h without results: 0.5 h of it is no data
        }
        for (i, time) in times.enumerated() {
            recorder.record(
                CheckResult(
                    status: i % 7 == 3 ? .failure : .success, check: "hostport", label: "db", message: "m",
                    measurement: ["connect_ms": .double(Double(i))], createdMillis: time))
            if i % 9 == 0 { await recorder.flush() }  // several batches
        }
        await recorder.flush()
        let records = try store.results(key: "hostport/db", from: 0, to: .max)
        #expect(records.count == 30)
        let last = records.last!.createdMillis
        let rollups = try store.rollups(key: "hostport/db", fromHour: 0, toHour: .max)
        for rollup in rollups {
            // Coverage of the last result stays open until the next one: compare up to it.
            let from = rollup.hour * h
            let to = min((rollup.hour + 1) * h, last)
            guard to > from else { continue }
            let s = HistoryMath.summarize(records, since: from, until: (rollup.hour + 1) * h, now: last)
            #expect(rollup.results == s.results && rollup.failures == s.failures, "hour \(rollup.hour)")
            #expect(rollup.upMillis == s.upMillis && rollup.downMillis == s.downMillis, "hour \(rollup.hour)")
            #expect(rollup.latency.count == s.latency.count, "hour \(rollup.hour)")
        }
        #expect(rollups.reduce(0) { $0 + $1.results } == 30)
        running.cancel()
    }

    /// With more results waiting than a batch holds, the recorder writes them without waiting
    /// for its interval, in transactions of at most `maxBatch` results; the rollups follow at
    /// `flush()` in transactions of at most `maxBatch` checks, and count every result once.
    @Test func theRecorderWritesBoundedBatchesWithoutWaitingForItsInterval() async throws {
        let store = AppendLog(try SQLiteHistoryStore(path: scratch() + "/history.sqlite"))
        let labels = (0..<250).map { "c\($0)" }
        let recorder = HistoryRecorder(
            store: store, sleeps: Dictionary(uniqueKeysWithValues: labels.map { ("hostport/\($0)", 1.0) }),
            settings: .init(interval: 600, maxBatch: 100), logger: Logger(label: "test"))
        let running = Task { try await recorder.run() }
        let start: Int64 = 1_800_000_000_000 / h * h
        // One result and a flush first: the recorder is then pausing, not starting, when the
        // results come.
        recorder.record(CheckResult(status: .success, check: "hostport", label: "c0", message: "", measurement: ["connect_ms": .double(1)], createdMillis: start))
        await recorder.flush()
        store.clear()
        for round in 1...4 {
            for label in labels {
                recorder.record(
                    CheckResult(
                        status: .success, check: "hostport", label: label, message: "", measurement: ["connect_ms": .double(1)],
                        createdMillis: start + Int64(round) * 1000))
            }
        }
        // All but less than a batch, long before the 600 s interval ends.
        let deadline = MonotonicClock().seconds() + 20
        while recorder.writtenCount < 902 && MonotonicClock().seconds() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let early = store.appends
        #expect(recorder.writtenCount >= 902, "written without waiting for the interval: \(recorder.writtenCount)")
        #expect(early.allSatisfy { $0.records <= 100 }, "\(early.map(\.records))")
        #expect(early.allSatisfy { $0.rollups == 0 }, "the rollups wait for the interval")
        await recorder.flush()
        let all = store.appends
        let late = all[early.count...]
        #expect(all.reduce(0) { $0 + $1.records } == 1000)
        #expect(all.allSatisfy { $0.records <= 100 && $0.rollups <= 100 }, "\(all)")
        #expect(late.reduce(0) { $0 + $1.rollups } == 250 && late.filter { $0.rollups > 0 }.count == 3, "\(Array(late))")
        for label in labels {
            let rollups = try store.rollups(key: "hostport/\(label)", fromHour: 0, toHour: .max)
            // Four results a second apart (five for c0): covered up to the last one.
            let results = label == "c0" ? 5 : 4
            #expect(
                rollups.map(\.results) == [results] && rollups.map(\.upMillis) == [Int64(results - 1) * 1000]
                    && rollups.map(\.latency.count) == [results], "\(label): \(rollups)")
        }
        running.cancel()
    }

    /// Raw results are written every `interval`; the rollups, which rewrite a row per check,
    /// only every `rollupInterval` (and at `flush()`), with every result counted once.
    @Test func theRollupsAreWrittenLessOftenThanTheResults() async throws {
        let store = AppendLog(try SQLiteHistoryStore(path: scratch() + "/history.sqlite"))
        #expect(HistoryRecorder.Settings().rollupInterval == 10 && HistoryRecorder.Settings(interval: 3).rollupInterval == 15)
        let recorder = HistoryRecorder(
            store: store, sleeps: ["hostport/a": 0.02], settings: .init(interval: 0.05, rollupInterval: 0.6), logger: Logger(label: "test"))
        let running = Task { try await recorder.run() }
        let start: Int64 = 1_800_000_000_000 / h * h
        // One result and a flush first: the recorder is running (not still starting, on a busy
        // cooperative pool) when the results come.
        recorder.record(CheckResult(status: .success, check: "hostport", label: "a", message: "", measurement: ["connect_ms": .double(1)], createdMillis: start))
        await recorder.flush()
        store.clear()
        // Results for 1.5 s, one every 20 ms (fewer on a busy machine).
        var sent = 1
        let began = MonotonicClock().seconds()
        while MonotonicClock().seconds() - began < 1.5 {
            recorder.record(
                CheckResult(
                    status: .success, check: "hostport", label: "a", message: "", measurement: ["connect_ms": .double(1)],
                    createdMillis: start + Int64(sent) * 20))
            sent += 1
            try await Task.sleep(for: .milliseconds(20))
        }
        let elapsed = MonotonicClock().seconds() - began
        let early = store.appends
        let withRecords = early.filter { $0.records > 0 }.count
        let withRollups = early.filter { $0.rollups > 0 }.count
        #expect(withRollups >= 1 && withRollups <= Int(elapsed / 0.6) + 1, "rollups every 600 ms over \(elapsed) s: \(early)")
        // Only where this loop itself ran: under ThreadSanitizer's stalls on one host every
        // thread stood still for most of the 1.5 s, this loop sent 2 results and the recorder
        // wrote twice (one with the results, one with the rollups).
        if sent >= 40 {
            #expect(withRecords >= 2 * withRollups, "results every 50 ms, rollups every 600 ms: \(early)")
        }
        await recorder.flush()
        #expect(store.appends.reduce(0) { $0 + $1.records } == sent - 1)
        let rollups = try store.rollups(key: "hostport/a", fromHour: 0, toHour: .max)
        #expect(rollups.map(\.results) == [sent] && rollups.map(\.latency.count) == [sent], "\(rollups)")
        running.cancel()
    }

    /// A window older than the raw results kept is answered from the rollups (whole hours).
    @Test func aReportPastTheRawResultsUsesTheRollups() throws {
        let store = try SQLiteHistoryStore(path: scratch() + "/history.sqlite")
        let now: Int64 = 100 * h
        var old = HourlyRollup(key: "ping/x", hour: 10)
        old.results = 60
        old.successes = 57
        old.failures = 3
        old.upMillis = 3_420_000
        old.downMillis = 180_000
        for i in 0..<60 { old.latency.add(Double(i)) }
        let recent = (0..<60).map { record(at: 98 * h + Int64($0) * 60_000, true, latency: 100) }
        // As the recorder writes them: the hour's rollup with the coverage up to the last result.
        var hour98 = HourlyRollup(key: "ping/x", hour: 98)
        for r in recent { hour98.count(r) }
        hour98.upMillis = 59 * 60_000
        try store.append(recent, changes: HistoryMath.changes(recent, after: nil), rollups: [old, hour98])
        let reports = try HistoryReport.build(store: store, keys: [], since: 0, until: now, now: now, rawSince: 90 * h)
        let s = try #require(reports.first).summary
        #expect(reports.first!.fromRollups)
        #expect(s.results == 120 && s.successes == 117 && s.failures == 3)
        // 59 results covered to the next one, the last for its cap (2 × 60 s).
        #expect(s.upMillis == 3_420_000 + 59 * 60_000 + 120_000 && s.downMillis == 180_000)
        #expect(s.latency.count == 120)
        #expect(s.windowMillis == now)
        #expect(throws: HistoryReport.UnknownCheck.self) {
            try HistoryReport.build(store: store, keys: ["ping/none"], since: 0, until: now, now: now, rawSince: 0)
        }
    }

    /// The report (whole hours from the rollups, edges from the raw results, incidents from the
    /// stored status changes) against the math over every raw result, for random windows over
    /// a recorded history with gaps, restarts, overruns, and checks added and removed.
    @Test func theReportAgreesWithTheMathOverTheRawResults() async throws {
        let store = try SQLiteHistoryStore(path: scratch() + "/history.sqlite")
        let recorder = HistoryRecorder(store: store, sleeps: ["hostport/a": 60, "ping/b": 300, "download/c": 120, "filewrite/d": 30], logger: Logger(label: "test"))
        let running = Task { try await recorder.run() }
        var rng = SplitMix(seed: 42)
        let base: Int64 = 1_800_000_000_000 / h * h + 17 * 60_000 + 123
        // download/c is added 10 h in; filewrite/d is removed after 100 results (50 min).
        let checks: [(key: String, sleep: Int64, start: Int64, count: Int)] = [
            ("hostport/a", 60_000, 0, 400), ("ping/b", 300_000, 0, 400), ("download/c", 120_000, 10 * h, 200), ("filewrite/d", 30_000, 0, 100),
        ]
        for (key, sleep, start, count) in checks {
            var t = base + start + Int64(rng.next() % 60_000)
            var failing = false
            for _ in 0..<count {
                if rng.next() % 12 == 0 { failing.toggle() }
                let parts = key.split(separator: "/")
                recorder.record(
                    CheckResult(
                        status: failing ? .failure : .success, check: String(parts[0]), label: String(parts[1]), message: "m \(t)",
                        measurement: [
                            "connect_ms": .double(Double(rng.next() % 1000) / 10), "total_ms": .double(Double(rng.next() % 1000)),
                            "write_ms": .double(Double(rng.next() % 100) / 100), "avg": .double(1), "min": .double(1), "max": .double(1),
                        ],
                        createdMillis: t))
                switch rng.next() % 20 {
                case 0: t += sleep * Int64(3 + rng.next() % 30)  // a stop of the monitor
                case 1: t += sleep + Int64(rng.next() % 40_000)  // an overrun
                default: t += sleep
                }
            }
        }
        await recorder.flush()
        let last = try #require(try store.last(key: "ping/b", before: .max)).createdMillis
        let now = last + 20 * 60_000
        for key in checks.map(\.key) {
            let all = try store.results(key: key, from: 0, to: .max)
            for _ in 0..<40 {
                let span = UInt64(now - base + 2 * h)
                let a = base - h + Int64(rng.next() % span)
                let b = base - h + Int64(rng.next() % span)
                let (since, until) = (min(a, b), max(a, b) + 1)
                let fast = try HistoryReport.build(store: store, keys: [key], since: since, until: until, now: now, rawSince: 0)[0].summary
                let exact = HistoryMath.summarize(all, since: since, until: until, now: now)
                let window = "\(key) \(since - base)…\(until - base)"
                #expect(fast.results == exact.results && fast.successes == exact.successes, "\(window)")
                #expect(fast.upMillis == exact.upMillis && fast.downMillis == exact.downMillis, "\(window): \(fast.upMillis)/\(fast.downMillis) vs \(exact.upMillis)/\(exact.downMillis)")
                #expect(fast.latency.count == exact.latency.count && fast.latency.quantile(0.95) == exact.latency.quantile(0.95), "\(window)")
                #expect(fast.incidents.map(\.start) == exact.incidents.map(\.start), "\(window)")
                #expect(fast.incidents.map(\.end) == exact.incidents.map(\.end), "\(window)")
                #expect(fast.windowMillis == exact.windowMillis)
            }
            // The stored status changes are exactly the raw results' changes, from the last one
            // before any point on.
            let changes = HistoryMath.changes(all, after: nil)
            #expect(changes.count > 3, "\(key)")
            #expect(try store.transitions(key: key, from: 0, to: .max) == changes)
            for change in changes.dropFirst(3).prefix(5) {
                let from = change.createdMillis + 1
                let expected = changes.filter { $0.createdMillis >= from }
                let before = changes.last { $0.createdMillis < from }.map { [$0] } ?? []
                #expect(try store.transitions(key: key, from: from, to: .max) == before + expected)
            }
        }
        running.cancel()
    }
}

/// A store that counts what each `append` held (results and rollups), in order.
final class AppendLog: HistoryStore, @unchecked Sendable {
    // @unchecked: `log` is guarded by `lock`.
    struct Append: Sendable, CustomStringConvertible {
        var records: Int
        var rollups: Int
        var description: String { "(\(records) results, \(rollups) rollups)" }
    }

    private let store: any HistoryStore
    private let lock = NSLock()
    private var log: [Append] = []

    init(_ store: any HistoryStore) { self.store = store }

    var appends: [Append] { lock.withLock { log } }
    func clear() { lock.withLock { log = [] } }

    func append(_ records: [HistoryRecord], changes: [HistoryRecord], rollups: [HourlyRollup]) throws {
        lock.withLock { log.append(Append(records: records.count, rollups: rollups.count)) }
        try store.append(records, changes: changes, rollups: rollups)
    }
    func results(key: String, from: Int64, to: Int64) throws -> [HistoryRecord] { try store.results(key: key, from: from, to: to) }
    func last(key: String, before: Int64) throws -> HistoryRecord? { try store.last(key: key, before: before) }
    func transitions(key: String, from: Int64, to: Int64) throws -> [HistoryRecord] { try store.transitions(key: key, from: from, to: to) }
    func rollups(key: String, fromHour: Int64, toHour: Int64) throws -> [HourlyRollup] { try store.rollups(key: key, fromHour: fromHour, toHour: toHour) }
    func checks() throws -> [String] { try store.checks() }
    func prune(resultsBefore: Int64, rollupsBefore: Int64) throws { try store.prune(resultsBefore: resultsBefore, rollupsBefore: rollupsBefore) }
    func certificate(key: String) throws -> HistoryCertificate? { try store.certificate(key: key) }
}
