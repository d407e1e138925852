import Logging
import ServiceLifecycle

/// Proof of life for container health checks: every `interval` seconds the running monitor
/// writes `STATE_DIR/heartbeat.json` — `{"time": …, "results": …, "last_result": …, "started": …,
/// "checks": …, "longest_sleep": …}` — and `healthmonitor health` reads it.
///
/// The file is written by its own task, so a fresh heartbeat alone does not prove that checks
/// run: `health` also fails when checks are configured and no result has been routed for
/// 2 × the longest `sleep` + 30 s (a wedged scheduler in a live process).
public struct Heartbeat: Service {
    /// The file name inside the state directory.
    public static let fileName = "heartbeat.json"

    public let file: String
    public let router: ResultRouter
    /// Seconds between writes.
    public let interval: Double
    /// Checks configured, and the longest `sleep` among them (seconds).
    public let checks: Int
    public let longestSleep: Double
    private let started = Int64(WallClock.nowMillis())
    private let logger: Logger

    public init(
        stateDirectory: String, router: ResultRouter, interval: Double = 10, checks: Int = 0, longestSleep: Double = 0,
        logger: Logger
    ) {
        self.file = stateDirectory + "/" + Self.fileName
        self.router = router
        self.interval = interval
        self.checks = checks
        self.longestSleep = longestSleep
        self.logger = logger
    }

    public func run() async throws {
        let interval = self.interval
        // The write ends in an `fsync`: it runs on a thread of its own, never on a cooperative
        // thread, where a slow disk would stall the checks.
        let writer = DedicatedThread(name: "heartbeat")
        try? await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                _ = try? await writer.run { write() }
                try await Task.sleep(for: .seconds(interval))
            }
        }
        await writer.finish(abandonAfter: 1)
    }

    /// Writes the heartbeat; `nowMillis` is the wall-clock time to write (tests give a later one).
    func write(nowMillis now: Int64 = Int64(WallClock.nowMillis())) {
        let last = router.lastResultMillis
        let beat: JSONValue = [
            "time": .string(WallClock.iso8601(millis: now)),
            "time_ms": .int(Int(now)),
            "results": .int(router.resultCount),
            "last_result": last > 0 ? .string(WallClock.iso8601(millis: last)) : .null,
            "last_result_ms": last > 0 ? .int(Int(last)) : .null,
            "started_ms": .int(Int(started)),
            "checks": .int(checks),
            "longest_sleep": .double(longestSleep),
        ]
        do {
            try FileSystem.writeAtomically(beat.json() + "\n", to: file)
        } catch {
            logger.warning("cannot write heartbeat", metadata: ["file": "\(file)", "error": "\(error)"])
        }
    }

    /// Reads a heartbeat file: whether it was written within `maxAge` seconds and, when checks are
    /// configured, whether a result was routed within 2 × the longest `sleep` + 30 s (counted from
    /// the start when none has been yet); and a one-line summary for the health check's output.
    public static func check(
        stateDirectory: String, maxAge: Double, nowMillis: Int64 = Int64(WallClock.nowMillis())
    ) -> (healthy: Bool, summary: String) {
        let path = stateDirectory + "/" + fileName
        guard let text = try? FileSystem.readText(path),
            let object = (try? JSONValue.parse(text))?.objectValue,
            let written = object["time_ms"]?.intValue.map(Int64.init)
        else {
            return (false, "unhealthy: no heartbeat in \(path) (is healthmonitor running with this state directory?)")
        }
        let age = Double(nowMillis - written) / 1000
        let results = object["results"]?.intValue ?? 0
        let last = object["last_result"]?.stringValue ?? "none yet"
        let detail = "heartbeat \(JSONValue.format((age * 10).rounded() / 10)) s ago, \(results) results, last result \(last)"
        guard age <= maxAge else {
            return (false, "unhealthy: " + detail + " (older than \(JSONValue.format(maxAge)) s)")
        }
        let checks = object["checks"]?.intValue ?? 0
        if checks > 0, let longest = object["longest_sleep"]?.doubleValue,
            let since = (object["last_result_ms"]?.intValue ?? object["started_ms"]?.intValue).map(Int64.init)
        {
            let allowed = 2 * longest + 30
            let silent = Double(written - since) / 1000
            if silent > allowed {
                return (
                    false,
                    "unhealthy: " + detail + " (no result for \(Int(silent.rounded())) s with \(checks) checks configured;"
                        + " at most \(JSONValue.format(allowed)) s expected: 2 × the longest sleep + 30 s)"
                )
            }
        }
        return (true, "healthy: " + detail)
    }
}

extension Heartbeat: CustomStringConvertible {
    public var description: String { "Heartbeat" }
}
