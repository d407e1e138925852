#if canImport(Glibc)
import Glibc
#endif
import HistorySQLite
import Logging
import Monitor

// Writes a generated history through the real recorder: CHECKS hostport checks every SLEEP
// seconds for DAYS days up to now (a failure every 97th run, an outage of an hour per check per
// week), into DIR/history.sqlite, keeping raw results for the last 7 days as the monitor would.
// Usage: history-gen DIR [CHECKS=100] [DAYS=30] [SLEEP=60]
let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: history-gen DIR [CHECKS] [DAYS] [SLEEP]")
    exit(2)
}
let directory = arguments[1]
let checks = arguments.count > 2 ? Int(arguments[2]) ?? 100 : 100
let days = arguments.count > 3 ? Int(arguments[3]) ?? 30 : 30
let sleep = arguments.count > 4 ? Double(arguments[4]) ?? 60 : 60
try FileSystem.makeDirectories(directory)
let store = try SQLiteHistoryStore(path: directory + "/history.sqlite")
let keys = (0..<checks).map { "hostport/svc\($0)" }
let recorder = HistoryRecorder(
    store: store, sleeps: Dictionary(uniqueKeysWithValues: keys.map { ($0, sleep) }), logger: Logger(label: "history-gen"))
let running = Task { try await recorder.run() }
let now = Int64(WallClock.nowMillis())
let start = now - Int64(days) * 86_400_000
let step = Int64(sleep * 1000)
var t = start
var run = 0
var total = 0
while t < now {
    for (i, key) in keys.enumerated() {
        let time = t + Int64(i) * 97
        let weekHour = (time / 3_600_000) % 168
        let failing = run % 97 == i % 97 || weekHour == Int64(i % 168)
        let label = String(key.dropFirst("hostport/".count))
        recorder.record(
            CheckResult(
                status: failing ? .failure : .success, check: "hostport", label: label,
                message: failing ? "Failed to connect to \(label):80: connection refused" : "Successfully connected to \(label):80",
                measurement: ["connect_ms": .double(0.2 + Double((run * 7 + i) % 100) / 50)], createdMillis: time))
        total += 1
    }
    run += 1
    t += step
    if run % 100 == 0 { await recorder.flush() }
}
await recorder.flush()
try store.prune(resultsBefore: now - 7 * 86_400_000, rollupsBefore: 0)
running.cancel()
print("history-gen: \(total) results for \(checks) checks over \(days) days into \(directory)/history.sqlite")
