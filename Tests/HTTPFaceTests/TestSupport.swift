import Foundation
import HistorySQLite
import Logging
import Monitor

/// A fresh directory under the temporary directory (`TMPDIR`, else /tmp).
func scratch() -> String {
    let path = NSTemporaryDirectory() + "hm-httpface-\(ResultID.next())"
    try? FileSystem.makeDirectories(path)
    return path
}

/// The live state of `checks` (`check/label`, every 60 s), having seen `results`.
func liveStatus(_ keys: [String], results: [CheckResult] = []) -> LiveStatus {
    let live = LiveStatus(
        checks: keys.map { key in
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            return CheckConfig(type: parts[0], label: parts[1], sleep: 60, options: Options([:]))
        })
    for result in results { live.observe(result) }
    return live
}

/// A SQLite history holding `results`, written by the monitor's own recorder (every check
/// runs every 60 s).
func recordedStore(_ results: [CheckResult]) async throws -> SQLiteHistoryStore {
    let store = try SQLiteHistoryStore(path: scratch() + "/history.sqlite")
    let keys = Set(results.map(\.key))
    let recorder = HistoryRecorder(store: store, sleeps: Dictionary(uniqueKeysWithValues: keys.map { ($0, 60.0) }), logger: Logger(label: "test"))
    let running = Task { try await recorder.run() }
    for result in results { recorder.record(result) }
    await recorder.flush()
    running.cancel()
    return store
}

/// One result a minute for `minutes` minutes up to `end`; `failing(i)` says which fail.
func results(
    _ key: String, minutes: Int, end: Int64, latency: (Int) -> Double = { Double($0 % 7) + 1 }, failing: (Int) -> Bool = { _ in false },
    message: String = "Failed"
) -> [CheckResult] {
    let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
    // The field `ResponseTime` reads for the check type.
    let field = ["download": "total_ms", "filewrite": "write_ms"][parts[0]] ?? "connect_ms"
    return (0..<minutes).map { i in
        let fails = failing(i)
        let measurement: [String: JSONValue] = fails ? [:] : [field: .double(latency(i))]
        return CheckResult(
            status: fails ? .failure : .success, check: parts[0], label: parts[1], message: fails ? message : "Successfully connected",
            measurement: measurement, createdMillis: end - Int64(minutes - i) * 60_000)
    }
}

/// A history that cannot be read (as a store another process holds locked).
struct UnreadableStore: HistoryStore {
    struct Locked: Error, CustomStringConvertible {
        var description: String { "database is locked" }
    }

    func append(_ records: [HistoryRecord], changes: [HistoryRecord], rollups: [HourlyRollup]) throws { throw Locked() }
    func results(key: String, from: Int64, to: Int64) throws -> [HistoryRecord] { throw Locked() }
    func last(key: String, before: Int64) throws -> HistoryRecord? { throw Locked() }
    func transitions(key: String, from: Int64, to: Int64) throws -> [HistoryRecord] { throw Locked() }
    func rollups(key: String, fromHour: Int64, toHour: Int64) throws -> [HourlyRollup] { throw Locked() }
    func checks() throws -> [String] { throw Locked() }
    func prune(resultsBefore: Int64, rollupsBefore: Int64) throws { throw Locked() }
}
