// Scale benchmark of the scheduler and the hostport check: N hostport checks against a loopback
// listener, every result going to a counting notifier. Run it with scripts/bench-hostport.sh,
// which starts the listener and builds in release mode; it is never part of the test run.
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Monitor
import Synchronization

struct Arguments {
    var checks = 1000
    var seconds = 30.0
    var warmup = 3.0
    var sleep = 1.0
    var hosts = ["127.0.0.1"]
    var port = 9999
    var timeout = 5.0
    var report = "always"

    init() {
        var args = CommandLine.arguments.dropFirst().makeIterator()
        while let flag = args.next() {
            guard let value = args.next() else { fatalError("missing value for \(flag)") }
            switch flag {
            case "--checks": checks = Int(value)!
            case "--seconds": seconds = Double(value)!
            case "--warmup": warmup = Double(value)!
            case "--sleep": sleep = Double(value)!
            case "--hosts": hosts = value.split(separator: ",").map(String.init)
            case "--port": port = Int(value)!
            case "--timeout": timeout = Double(value)!
            case "--report": report = value
            default: fatalError("unknown flag \(flag)")
            }
        }
    }
}

/// Counts what the notifier receives.
final class CountingNotifier: Notifier {
    let delivered = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    let lastFailure = Mutex<String?>(nil)

    func send(_ batch: [Delivery]) async throws {
        delivered.add(batch.count, ordering: .relaxed)
        let failed = batch.filter { $0.result.status == .failure }
        if let last = failed.last {
            failures.add(failed.count, ordering: .relaxed)
            lastFailure.withLock { $0 = last.result.message }
        }
    }
}

/// Scheduling lag histogram: 10 µs buckets up to 1 s, plus the maximum.
final class LagRecorder: SchedulerObserver {
    private struct Histogram {
        var buckets = [Int](repeating: 0, count: 100_001)
        var count = 0
        var max = 0.0
        var overruns = 0
    }

    private let histogram = Mutex(Histogram())

    func runStarted(key: String, lag: Double) {
        let bucket = min(100_000, Int(lag * 100_000))
        histogram.withLock { h in
            h.buckets[bucket] += 1
            h.count += 1
            if lag > h.max { h.max = lag }
        }
    }

    func overran(key: String) {
        histogram.withLock { $0.overruns += 1 }
    }

    func reset() {
        histogram.withLock { $0 = Histogram() }
    }

    /// (p50, p99, max, samples, overruns) in milliseconds.
    func summary() -> (Double, Double, Double, Int, Int) {
        histogram.withLock { h in
            func percentile(_ p: Double) -> Double {
                let target = Int((Double(h.count) * p).rounded(.up))
                var seen = 0
                for (index, n) in h.buckets.enumerated() {
                    seen += n
                    if seen >= target { return Double(index + 1) * 0.01 }
                }
                return h.max * 1000
            }
            return (percentile(0.5), percentile(0.99), h.max * 1000, h.count, h.overruns)
        }
    }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

func fixed(_ value: Double, _ digits: Int) -> String {
    var factor = 1.0
    for _ in 0..<digits { factor *= 10 }
    let text = String((value * factor).rounded() / factor)
    return text
}

MemoryTuning.configureMalloc()  // as the healthmonitor executable does
let arguments = Arguments()
var logger = Logger(label: "bench")
logger.logLevel = .warning
let notifier = CountingNotifier()
let countingKind = NotifierKind(name: "counting", options: []) { _ in notifier }

var yaml = """
    notifiers:
      counting:
        report: \(arguments.report)
        queue_size: 1000000
        batch_size: 1000
    settings:
      state_dir: /tmp/hm-bench-state
    checks:
      hostport:

    """
for index in 0..<arguments.checks {
    let host = arguments.hosts[index % arguments.hosts.count]
    yaml += "    c\(index): {host: \(host), port: \(arguments.port), sleep: \(arguments.sleep), timeout: \(arguments.timeout)}\n"
}
let loader = ConfigLoader(checkKinds: CheckKinds.all, notifierKinds: [countingKind], environment: [:])
let config = try loader.load([ConfigSource(section: .whole, name: "bench", text: yaml)])
let runtime = try Runtime(config: config, notifierKinds: [countingKind], logger: logger)
let loadedRSS = peakRSSMegabytes()
let lags = LagRecorder()
let scheduler = runtime.scheduler(clock: ContinuousClock(), observer: lags)

var uname = utsname()
_ = Glibc.uname(&uname)
let machine = withUnsafeBytes(of: uname.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
print("hostport benchmark: \(arguments.checks) checks, sleep \(arguments.sleep) s, \(arguments.seconds) s"
    + " (first \(arguments.warmup) s not measured), targets \(arguments.hosts.joined(separator: ",")):\(arguments.port);"
    + " \(sysconf(Int32(_SC_NPROCESSORS_ONLN))) CPUs, Linux \(machine)")

struct Snapshot {
    var results: Int
    var cpu: Double
    var time: ContinuousClock.Instant
}

func snapshot() -> Snapshot {
    Snapshot(results: notifier.delivered.load(ordering: .relaxed), cpu: cpuSeconds(), time: .now)
}

let (first, last) = await withTaskGroup(of: (Snapshot, Snapshot)?.self) { group in
    group.addTask {
        try? await scheduler.run()
        return nil
    }
    for channel in runtime.channels {
        group.addTask {
            // The real delivery loop, with its once-a-second save of the policy state.
            try? await DeliveryService(channel: channel, shutdownTimeout: 1).run()
            return nil
        }
    }
    group.addTask {
        try? await Task.sleep(for: .seconds(arguments.warmup))
        lags.reset()
        let first = snapshot()
        try? await Task.sleep(for: .seconds(arguments.seconds - arguments.warmup))
        return (first, snapshot())
    }
    var measured: (Snapshot, Snapshot)?
    while let next = await group.next() {
        if let next {
            measured = next
            group.cancelAll()
        }
    }
    return measured!
}

let elapsed = first.time.duration(to: last.time).components
let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
let results = last.results - first.results
let cpu = last.cpu - first.cpu
let (p50, p99, maxLag, samples, overruns) = lags.summary()
print("results/s      \(fixed(Double(results) / seconds, 1)) achieved, \(fixed(Double(arguments.checks) / arguments.sleep, 1)) demanded")
print("CPU            \(fixed(cpu / seconds * 100, 1)) % of one core, \(fixed(cpu / Double(max(results, 1)) * 1e6, 1)) µs per check")
print("peak RSS       \(fixed(peakRSSMegabytes(), 1)) MB (\(fixed(loadedRSS, 1)) MB after loading the config)")
print("lag            p50 \(fixed(p50, 2)) ms, p99 \(fixed(p99, 2)) ms, max \(fixed(maxLag, 2)) ms (\(samples) runs, \(overruns) overruns)")
let failures = notifier.failures.load(ordering: .relaxed)
print("failures       \(failures)\(notifier.lastFailure.withLock { $0 }.map { " (last: \($0))" } ?? "")")
exit(0)
