// sink-bench: results per second the rabbitmq and mongo notifiers sustain with publisher
// confirms / acknowledged inserts. Run through scripts/bench-sinks.sh (release build).
//
//   sink-bench rabbitmq|mongo [--count N] [--uri URI] [--batch B] [--burst] [--state-root DIR] [--option key=value ...]
//
// The notifier's state (its spool files) goes to a new directory under --state-root (/tmp).
//
// The results are made before the clock starts; then they are handed to the notifier in
// batches of B (the core's default batch_size, 100), and the clock stops when the last one is
// confirmed by the broker / acknowledged by the server. Sustained mode (the default) keeps as
// much outstanding as the spool holds in memory (`spool_memory` less one batch), as a stream of
// checks faster than the sink would, without spilling; --burst hands everything over at once,
// so most of it spills to the file spool and is read back.
import CAMQP
import CMongo
import Foundation
import Logging
import Monitor
import Notifiers
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct Arguments {
    var sink = ""
    var count = 100_000
    var uri: String?
    var batch = 100
    var burst = false
    var stateRoot = "/tmp"
    var options: [String: JSONValue] = [:]

    init(_ argv: [String]) {
        var it = argv.dropFirst().makeIterator()
        while let arg = it.next() {
            switch arg {
            case "--count": count = Int(it.next() ?? "") ?? count
            case "--uri": uri = it.next()
            case "--batch": batch = Int(it.next() ?? "") ?? batch
            case "--burst": burst = true
            case "--state-root": stateRoot = it.next() ?? stateRoot
            case "--option":
                let pair = (it.next() ?? "").split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { continue }
                options[pair[0]] =
                    pair[1] == "true" ? .bool(true) : pair[1] == "false" ? .bool(false)
                    : Int(pair[1]).map(JSONValue.int) ?? Double(pair[1]).map(JSONValue.double) ?? .string(pair[1])
            default: sink = arg
            }
        }
    }
}

func machine() -> String {
    let cpu = ((try? FileSystem.readText("/proc/cpuinfo")) ?? "").split(separator: "\n")
        .first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingSpaces() } ?? "?"
    let memory = ((try? FileSystem.readText("/proc/meminfo")) ?? "").split(separator: "\n").first ?? "?"
    var name = utsname()
    uname(&name)
    let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    return "\(sysconf(Int32(_SC_NPROCESSORS_ONLN))) CPU(s) \(cpu), \(memory.split(separator: " ", omittingEmptySubsequences: true).dropFirst().joined(separator: " ")) RAM, Linux \(release)"
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}

func context(_ kind: NotifierKind, _ options: [String: JSONValue], directory: String) -> NotifierContext {
    var values: [String: JSONValue] = [:]
    for spec in kind.options { if let d = spec.defaultValue { values[spec.name] = d } }
    for (k, v) in options { values[k] = v }
    var logger = Logger(label: "bench")
    logger.logLevel = .warning
    return NotifierContext(name: kind.name, options: Options(values), logger: logger, stateDirectory: directory)
}

/// Deletes the benchmark queue and exchange.
func cleanUpRabbitMQ(uri: String, name: String) {
    var buffer = Array(uri.utf8CString)
    var info = amqp_connection_info()
    let ok = buffer.withUnsafeMutableBufferPointer { raw -> Bool in
        amqp_default_connection_info(&info)
        guard amqp_parse_url(raw.baseAddress, &info) == 0 else { return false }
        let state = amqp_new_connection()
        defer { amqp_destroy_connection(state) }
        guard let socket = amqp_tcp_socket_new(state), amqp_socket_open(socket, info.host, info.port) == 0 else { return false }
        guard camqp_login_plain(state, info.vhost, 0, 131_072, 0, info.user, info.password).reply_type == AMQP_RESPONSE_NORMAL else { return false }
        amqp_channel_open(state, 1)
        name.withCString { n in
            _ = amqp_queue_delete(state, 1, amqp_cstring_bytes(n), 0, 0)
            _ = amqp_exchange_delete(state, 1, amqp_cstring_bytes(n), 0)
        }
        _ = amqp_connection_close(state, 200)
        return true
    }
    if !ok { print("note: could not delete queue/exchange \(name)") }
}

/// Drops the benchmark database.
func cleanUpMongo(uri: String, database: String) {
    mongoc_init()
    guard let client = mongoc_client_new(uri) else { return }
    defer { mongoc_client_destroy(client) }
    let db = mongoc_client_get_database(client, database)
    defer { mongoc_database_destroy(db) }
    var error = bson_error_t()
    _ = mongoc_database_drop(db, &error)
}

MemoryTuning.configureMalloc()  // as the healthmonitor executable does
let arguments = Arguments(CommandLine.arguments)
guard arguments.sink == "rabbitmq" || arguments.sink == "mongo" else {
    print("usage: sink-bench rabbitmq|mongo [--count N] [--uri URI] [--batch B] [--burst] [--state-root DIR] [--option key=value ...]")
    exit(2)
}
let unique = String(ResultID.next().suffix(8))
let directory = "\(arguments.stateRoot)/hm-bench-\(unique)"
try FileSystem.makeDirectories(directory)
let notifier: any Notifier
let stats: @Sendable () -> SinkStats
let uri: String
var cleanup: () -> Void
if arguments.sink == "rabbitmq" {
    uri = arguments.uri ?? "amqp://guest:guest@127.0.0.1:5672/%2F"
    let name = "hm-bench-\(unique)"
    var options: [String: JSONValue] = ["uri": .string(uri), "exchange": .string(name), "queue": .string(name)]
    for (k, v) in arguments.options { options[k] = v }
    let n = try RabbitMQNotifier(context: context(RabbitMQNotifier.kind, options, directory: directory))
    notifier = n
    stats = { n.stats }
    cleanup = { cleanUpRabbitMQ(uri: uri, name: name) }
} else {
    uri = arguments.uri ?? "mongodb://127.0.0.1:27017"
    let database = "hm_bench_\(unique)"
    var options: [String: JSONValue] = ["uri": .string(uri), "database": .string(database)]
    for (k, v) in arguments.options { options[k] = v }
    let n = try MongoNotifier(context: context(MongoNotifier.kind, options, directory: directory))
    notifier = n
    stats = { n.stats }
    cleanup = { cleanUpMongo(uri: uri, database: database) }
}

let results = (0..<arguments.count).map { i in
    Delivery(
        result: CheckResult(
            status: i % 10 == 0 ? .failure : .success, check: "ping", label: "bench-\(i % 50)",
            message: "5/5 packets, avg 0.051 ms", measurement: ["loss": 0.0, "sent": 5, "received": 5, "avg": 0.051, "up": true],
            elapsed: 4.01, config: ["host": "clowder.example.org", "count": 5, "sleep": 60], host: "bench"),
        reason: .always)
}
let running = Task { try await notifier.run() }
let connected = MonotonicClock().seconds()
while stats().connects == 0 {
    if MonotonicClock().seconds() - connected > 15 {
        print("cannot connect to \(SecretMasking.maskURLPassword(uri)) within 15 s")
        try? FileManager.default.removeItem(atPath: directory)
        exit(1)
    }
    try await Task.sleep(for: .milliseconds(10))
}
/// Sustained: at most what the spool keeps in memory (less a batch, so nothing spills), which
/// leaves the notifier its whole `max_in_flight` at the sink, as the floor has at every moment.
/// (Half of it, as before, kept the notifier's window at the broker short of the floor's: part
/// of those 5,000 was always in the handoff or the spool.)
let outstandingLimit = max(arguments.batch, (arguments.options["spool_memory"]?.intValue ?? 10_000) - arguments.batch)
/// Where the benchmark waits for the notifier: a plain thread looking at its counters every
/// 2 ms (a fraction of what is outstanding: thousands of results, hundreds of ms of work).
/// `Task.sleep` did the same through the concurrency runtime's timers, at about 150 µs of CPU a
/// look (a timer thread waking a pool thread, perf): 8 % of a core taken from the broker, which
/// measured the benchmark more than the notifier. The product's delivery loop does not poll.
let waiter = DedicatedThread(name: "bench-wait")
let maxOnDisk = Mutex(0)
/// Returns once `done()` holds, looking every 2 ms.
func wait(until done: @escaping @Sendable () -> Bool) async throws {
    try await waiter.run {
        while !done() {
            maxOnDisk.withLock { $0 = max($0, stats().spooledOnDisk) }
            usleep(2000)
        }
    }
}
let start = MonotonicClock().seconds()
var index = 0
while index < results.count {
    if !arguments.burst && index - stats().delivered >= outstandingLimit {
        let handed = index
        try await wait { handed - stats().delivered < outstandingLimit }
        continue
    }
    let end = min(results.count, index + arguments.batch)
    try await notifier.send(Array(results[index..<end]))
    index = end
}
let handedOver = MonotonicClock().seconds() - start
let count = arguments.count
try await wait { stats().delivered >= count }
let elapsed = MonotonicClock().seconds() - start
let final = stats()
_ = await waiter.finish()
await notifier.shutdown()
running.cancel()
cleanup()
try? FileManager.default.removeItem(atPath: directory)  // the notifier's state: its spool directory, empty now
let rate = Double(arguments.count) / elapsed
print("""
    sink-bench \(arguments.sink): \(arguments.count) results in \((elapsed * 1000).rounded() / 1000) s = \(Int(rate.rounded())) results/s \
    (\(arguments.sink == "rabbitmq" ? "publisher confirms" : "acknowledged inserts"), \(arguments.burst ? "burst" : "sustained"); handed over in \((handedOver * 1000).rounded() / 1000) s \
    in batches of \(arguments.batch); peak on disk \(maxOnDisk.withLock { $0 }); delivered \(final.delivered), duplicates \(final.duplicates), \
    connection losses \(final.connectionLosses))
    message: \(arguments.sink == "rabbitmq" ? "\(RabbitMQNotifier.messageBody(results[0].result).utf8.count) bytes (the first result's body)" : "\(MongoNotifier.documentSize(results[0].result)) bytes (the first result's document)")
    options: \(arguments.options.isEmpty ? "defaults" : arguments.options.map { "\($0.key)=\($0.value.displayText)" }.sorted().joined(separator: " "))
    machine: \(machine())
    """)
