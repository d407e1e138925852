import Foundation
import HistorySQLite
import Logging
import Monitor
import Report
import Testing

@testable import Notifiers

extension SinkIntegrationTests {
    // Among the serialized sink suites: one test here stops the Mongo server, which the
    // others use.
    /// The `HistoryStore` contract, written once and run against each store: the embedded SQLite
    /// file and the Mongo collections beside a `mongo` notifier's (on the real test server). Then
    /// the same generated history recorded into both, read back and reported: identical numbers.
    @Suite(.needs(.mongo, .script)) struct HistoryStoreConformanceTests {
        enum Kind: String, CaseIterable, Sendable {
            case sqlite, mongo
        }

        static let h = HistoryMath.hourMillis

        /// A new, empty store of `kind`; for Mongo a database of its own (or `database`), with
        /// short timeouts.
        static func makeStore(_ kind: Kind, database: String? = nil, socketMillis: Int32 = 10_000) throws -> any HistoryStore {
            switch kind {
            case .sqlite:
                return try SQLiteHistoryStore(path: try SinkTest.directory("history") + "/history.sqlite")
            case .mongo:
                let options = Options(
                    [
                        "uri": .string(try TestServers.value("HM_MONGO_URI")), "database": .string(database ?? "hm_history_\(SinkTest.unique())"),
                        "collection": "results", "connect_timeout": 2, "socket_timeout": .double(Double(socketMillis) / 1000),
                    ], path: "notifiers.mongo")
                return try MongoHistoryStore(settings: .init(options: options))
            }
        }

        static func record(_ key: String = "ping/x", at millis: Int64, _ success: Bool, latency: Double? = nil, sleep: Double = 60) -> HistoryRecord {
            HistoryRecord(
                id: "\(key)-\(millis)", key: key, createdMillis: millis, success: success, latencyMs: latency,
                message: success ? "" : "failed at \(millis) \"quoted\" & more", sleep: sleep)
        }

        @Test(arguments: Kind.allCases) func storesReadsAndPrunesAsTheContractSays(kind: Kind) async throws {
            try await SinkTest.blocking.run {
                let store = try Self.makeStore(kind)
                let h = Self.h
                let records = [
                    Self.record(at: 1000, true, latency: 5), Self.record(at: 61_000, false), Self.record(at: 121_000, false),
                    Self.record(at: 181_000, true, latency: 0.0005), Self.record("hostport/y", at: 2000, true, latency: 1.5),
                ]
                var rollup = HourlyRollup(key: "ping/x", hour: 0)
                for r in records.prefix(4) { rollup.count(r) }
                rollup.upMillis = 120_000
                rollup.downMillis = 120_000
                var other = HourlyRollup(key: "hostport/y", hour: 0)
                other.count(records[4])
                let changes = HistoryMath.changes(Array(records.prefix(4)), after: nil) + [records[4]]
                try store.append(records, changes: changes, rollups: [rollup, other])
                // The same results and changes again are stored once.
                try store.append(Array(records.prefix(2)), changes: Array(changes.prefix(1)), rollups: [])
                #expect(try store.results(key: "ping/x", from: 0, to: h) == Array(records.prefix(4)))
                #expect(try store.results(key: "ping/x", from: 61_000, to: 181_000).map(\.createdMillis) == [61_000, 121_000])
                #expect(try store.last(key: "ping/x", before: 121_000) == records[1])
                #expect(try store.last(key: "ping/x", before: .max) == records[3])
                #expect(try store.last(key: "ping/x", before: 1000) == nil)
                #expect(try store.transitions(key: "ping/x", from: 0, to: .max).map(\.createdMillis) == [1000, 61_000, 181_000])
                #expect(try store.transitions(key: "ping/x", from: 100_000, to: .max).map(\.createdMillis) == [61_000, 181_000])
                #expect(try store.transitions(key: "ping/x", from: 100_000, to: .max).first?.message == records[1].message)
                #expect(try store.checks() == ["hostport/y", "ping/x"])
                // A second delta for the same hour adds to the first.
                var more = HourlyRollup(key: "ping/x", hour: 0)
                more.count(Self.record(at: 241_000, true, latency: 7))
                more.upMillis = 60_000
                try store.append([], changes: [], rollups: [more])
                let stored = try #require(try store.rollups(key: "ping/x", fromHour: 0, toHour: 1).first)
                #expect(stored.results == 5 && stored.successes == 3 && stored.failures == 2)
                #expect(stored.upMillis == 180_000 && stored.downMillis == 120_000)
                #expect(stored.latency.count == 3 && stored.latency.min == 0.0005 && stored.latency.max == 7 && abs(stored.latency.sum - 12.0005) < 1e-9)
                #expect(stored.latency.buckets == { var l = rollup.latency; l.merge(more.latency); return l.buckets }())
                #expect(try store.rollups(key: "ping/x", fromHour: 1, toHour: .max).isEmpty)
                #expect(try store.rollups(key: "ping/x", fromHour: .min, toHour: .max).count == 1)
                // Prune: raw results before 100 s; rollups and changes of hours before 1.
                try store.prune(resultsBefore: 100_000, rollupsBefore: 0)
                #expect(try store.results(key: "ping/x", from: 0, to: .max).map(\.createdMillis) == [121_000, 181_000])
                #expect(try store.transitions(key: "ping/x", from: 0, to: .max).count == 3)
                try store.prune(resultsBefore: 0, rollupsBefore: 1)
                #expect(try store.rollups(key: "ping/x", fromHour: .min, toHour: .max).isEmpty)
                #expect(try store.transitions(key: "ping/x", from: 0, to: .max).isEmpty)
            }
        }

        /// Mongo adds deltas with `$inc`: one sent twice (a write retried after a timeout that did
        /// land) counts once; two writers creating the same hour both count.
        @Test func aMongoDeltaSentTwiceCountsOnce() async throws {
            try await SinkTest.blocking.run {
                let database = "hm_history_\(SinkTest.unique())"
                let store = try Self.makeStore(.mongo, database: database)
                var a = HourlyRollup(key: "ping/x", hour: 5)
                a.count(Self.record(at: 5 * Self.h + 10, true, latency: 2))
                a.upMillis = 1000
                var b = HourlyRollup(key: "ping/x", hour: 5)
                b.count(Self.record(at: 5 * Self.h + 20, false))
                b.downMillis = 500
                try store.append([], changes: [], rollups: [a])
                try store.append([], changes: [], rollups: [a])
                try store.append([], changes: [], rollups: [b, a])
                // A second store (another monitor) adds its own delta to the same document.
                var c = HourlyRollup(key: "ping/x", hour: 5)
                c.count(Self.record(at: 5 * Self.h + 30, true, latency: 4))
                let other = try Self.makeStore(.mongo, database: database)
                try other.append([], changes: [], rollups: [c])
                try store.append([], changes: [], rollups: [c])
                let stored = try #require(try store.rollups(key: "ping/x", fromHour: 0, toHour: 10).first)
                #expect(stored.results == 3 && stored.successes == 2 && stored.failures == 1)
                #expect(stored.upMillis == 1000 && stored.downMillis == 500)
                #expect(stored.latency.count == 2 && stored.latency.sum == 6)
            }
        }

        /// One generated history (irregular gaps, monitor restarts, overruns, failure runs, checks
        /// added and removed, latencies over four decades) recorded into both stores by the real
        /// recorder: every read, and the report over windows that cut hours, agree exactly.
        @Test func bothStoresAnswerTheSameHistoryIdentically() async throws {
            let sqlite = try Self.makeStore(.sqlite)
            let mongo = try Self.makeStore(.mongo)
            let h = Self.h
            let sleeps: [String: Double] = ["hostport/a": 60, "ping/b": 300, "download/c": 120, "filewrite/d": 30]
            let recorders = [sqlite, mongo].map { HistoryRecorder(store: $0, sleeps: sleeps, logger: Logger(label: "it")) }
            let running = recorders.map { recorder in Task { try await recorder.run() } }
            defer { for task in running { task.cancel() } }
            var rng = SplitMix(seed: 2026)
            let base: Int64 = 1_800_000_000_000 / h * h + 7 * 60_000 + 321
            var results: [CheckResult] = []
            for (n, (key, sleep)) in sleeps.sorted(by: { $0.key < $1.key }).enumerated() {
                // download/c is added 6 h in; filewrite/d removed after 5 h.
                var t = base + Int64(rng.next() % 60_000) + (key == "download/c" ? 6 * h : 0)
                let end = key == "filewrite/d" ? base + 5 * h : base + 14 * h
                var failing = false
                let parts = key.split(separator: "/").map(String.init)
                let field = ["hostport": "connect_ms", "ping": "avg", "download": "total_ms", "filewrite": "write_ms"][parts[0]]!
                while t < end {
                    if rng.next() % 15 == 0 { failing.toggle() }
                    let latency = Double(rng.next() % 100_000) / 1000 * pow(10, Double(n % 3) - 1)
                    var measurement: [String: JSONValue] = [field: .double(latency)]
                    if parts[0] == "ping" { measurement = ["avg": .double(latency), "min": .double(latency), "max": .double(latency)] }
                    results.append(
                        CheckResult(
                            status: failing ? .failure : .success, check: parts[0], label: parts[1], message: "failure at \(t)",
                            measurement: measurement, createdMillis: t))
                    switch rng.next() % 25 {
                    case 0: t += Int64(sleep * 1000) * Int64(3 + rng.next() % 20)  // a stop of the monitor
                    case 1: t += Int64(sleep * 1000) + Int64(rng.next() % 50_000)  // an overrun
                    default: t += Int64(sleep * 1000)
                    }
                }
            }
            // In start order, as the scheduler routes them; flushed now and then (several batches).
            results.sort { $0.createdMillis < $1.createdMillis }
            for (i, result) in results.enumerated() {
                for recorder in recorders { recorder.record(result) }
                if i % 500 == 499 { for recorder in recorders { await recorder.flush() } }
            }
            for recorder in recorders { await recorder.flush() }
            #expect(recorders.map(\.writtenCount) == [results.count, results.count])
            let now = results.last!.createdMillis + 10 * 60_000
            let windows: [(since: Int64, until: Int64)] = (0..<60).map { _ in
                let span = UInt64(now - base + 2 * h)
                let a = base - h + Int64(rng.next() % span)
                let b = base - h + Int64(rng.next() % span)
                return (min(a, b), max(a, b) + 1)
            }
            let comparisons = try await SinkTest.blocking.run { () throws -> [String] in
                var differences: [String] = []
                func same<T: Equatable>(_ what: String, _ read: (any HistoryStore) throws -> T) throws {
                    let (a, b) = (try read(sqlite), try read(mongo))
                    if a != b { differences.append("\(what): sqlite \(String(describing: a).prefix(300)) vs mongo \(String(describing: b).prefix(300))") }
                }
                try same("checks") { try $0.checks() }
                for key in sleeps.keys.sorted() {
                    try same("\(key) results") { try $0.results(key: key, from: .min, to: .max) }
                    try same("\(key) transitions") { try $0.transitions(key: key, from: .min, to: .max) }
                    try same("\(key) last") { try $0.last(key: key, before: base + 5 * h + 17) }
                    try same("\(key) rollups") { store in
                        try store.rollups(key: key, fromHour: .min, toHour: .max).map { r in
                            // The latency sum to 1e-9 ms: a recorder's own timed flush may split an
                            // hour into other batches in one store than in the other, and a sum of
                            // floats added in another grouping differs in its last bits.
                            let fields = r.latency.encoded.split(separator: " ").map(String.init)
                            let sum = fields.count > 1 ? String((r.latency.sum * 1e9).rounded() / 1e9) : ""
                            let latency = ([fields[0], sum] + fields.dropFirst(2)).joined(separator: " ")
                            return "\(r.hour) \(r.results) \(r.successes) \(r.failures) \(r.upMillis) \(r.downMillis) \(latency)"
                        }
                    }
                }
                for (i, (since, until)) in windows.enumerated() {
                    // Half the windows with raw results only from the middle on (older hours whole from rollups).
                    let rawSince = i % 2 == 0 ? Int64.min : base + 7 * h
                    try same("report \(since - base)…\(until - base) raw from \(rawSince)") { store in
                        HistoryReport.json(
                            try HistoryReport.build(store: store, keys: [], since: since, until: until, now: now, rawSince: rawSince), since: since,
                            until: until, now: now)
                    }
                }
                return differences
            }
            #expect(comparisons.isEmpty, "\(comparisons.prefix(5).joined(separator: "\n"))")
            // And the numbers are not trivially equal: failures, incidents and latencies are there.
            let report = try await SinkTest.blocking.run {
                try HistoryReport.build(store: mongo, keys: [], since: base, until: now, now: now, rawSince: .min)
            }
            #expect(report.map(\.key) == sleeps.keys.sorted())
            for check in report {
                #expect(check.summary.failures > 0 && check.summary.incidents.count > 1 && check.summary.latency.count > 0, "\(check.key)")
            }
        }

        /// While Mongo does not answer, the recorder holds the results and writes them when it is
        /// back: nothing missing, nothing counted twice.
        @Test func aRecorderHoldsTheHistoryWhileMongoIsAwayAndWritesItAfter() async throws {
            let mongo = try Self.makeStore(.mongo, socketMillis: 1000)
            let sqlite = try Self.makeStore(.sqlite)
            let recorders = [sqlite, mongo].map {
                HistoryRecorder(store: $0, sleeps: ["hostport/a": 1], settings: .init(interval: 0.05), logger: Logger(label: "it"))
            }
            let running = recorders.map { recorder in Task { try await recorder.run() } }
            defer { for task in running { task.cancel() } }
            let base: Int64 = 1_800_000_000_000
            var sent = 0
            func produce(_ count: Int) async {
                for _ in 0..<count {
                    let result = CheckResult(
                        status: sent % 7 < 2 ? .failure : .success, check: "hostport", label: "a", message: "m",
                        measurement: ["connect_ms": .double(Double(sent % 50) / 10)], createdMillis: base + Int64(sent) * 1000)
                    for recorder in recorders { recorder.record(result) }
                    sent += 1
                }
                for recorder in recorders { await recorder.flush() }
            }
            await produce(100)
            #expect(recorders[1].writtenCount == 100)
            let pid = try await SinkTest.services("pid", "mongo").trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try await SinkTest.run("/bin/kill", ["-STOP", pid])
            do {
                await produce(150)
                #expect(recorders[1].writtenCount == 100, "nothing written while the server is stopped")
                try? await Task.sleep(for: .seconds(2))
            }
            _ = try await SinkTest.run("/bin/kill", ["-CONT", pid])
            #expect(await SinkTest.waitUntil(60) { recorders[1].writtenCount == 250 }, "written: \(recorders[1].writtenCount)")
            let (local, remote) = try await SinkTest.blocking.run {
                let now = base + 300_000
                return (
                    HistoryReport.json(try HistoryReport.build(store: sqlite, keys: [], since: base, until: now, now: now, rawSince: .min), since: base, until: now, now: now),
                    HistoryReport.json(try HistoryReport.build(store: mongo, keys: [], since: base, until: now, now: now, rawSince: .min), since: base, until: now, now: now)
                )
            }
            #expect(local == remote)
            #expect(local.contains("\"results\":250"), "\(local.prefix(300))")
        }

        /// The monitor records into SQLite and, beside its mongo notifier, into Mongo (the real
        /// test server): `--source local` and `--source mongo` print the same report.
        @Test(.needs(.mongo)) func localAndMongoSourcesReportTheSame() async throws {
            let dir = scratchDirectory()
            let uri = try TestServers.value("HM_MONGO_URI")
            try """
            settings: {state_dir: \(dir)/state}
            checks:
              filewrite:
                probe: {file: \(dir)/probe.txt}
              hostport:
                closed: {host: 127.0.0.1, port: 1}
            notifiers:
              store: {type: mongo, uri: "\(uri)", database: hm_report_\(ResultID.next().suffix(12)), report: failure}
            """.write(toFile: dir + "/c.yml", atomically: true, encoding: .utf8)
            for _ in 0..<4 {
                let run = try await Binary.run(["once", "--config", "c.yml"], directory: dir)
                #expect(run.status == 1, "\(run.stderr)")
            }
            // Fixed bounds: both reports cover the same window.
            let now = Int64(WallClock.nowMillis())
            let window = ["--since", WallClock.iso8601(millis: now - 3_600_000), "--until", WallClock.iso8601(millis: now)]
            var outputs: [String] = []
            for source in ["local", "mongo", "mongo:store"] {
                let report = try await Binary.run(["report", "--config", "c.yml", "--format", "json", "--source", source] + window, directory: dir)
                #expect(report.status == 0, "\(source): \(report.stderr)")
                outputs.append(report.stdout)
            }
            #expect(outputs[0] == outputs[1] && outputs[1] == outputs[2], "\(outputs)")
            let checks = (try JSONValue.parse(outputs[1]).objectValue?["checks"]?.arrayValue ?? []).compactMap(\.objectValue)
            #expect(checks.map { $0["results"] } == [4, 4])
            #expect(checks.last?["incidents"]?.arrayValue?.count == 1)
        }
    }
}

/// SplitMix64: the same pseudo-random sequence on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
