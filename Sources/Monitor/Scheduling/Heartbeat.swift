import Foundation
import Logging
import ServiceLifecycle

/// Proof of life for container health checks: every `interval` seconds the running monitor
/// writes `STATE_DIR/heartbeat.json` — `{"time": …, "results": …, "last_result": …}` — and
/// `healthmonitor health` reads it.
public struct Heartbeat: Service {
    /// The file name inside the state directory.
    public static let fileName = "heartbeat.json"

    public let file: String
    public let router: ResultRouter
    /// Seconds between writes.
    public let interval: Double
    private let logger: Logger

    public init(stateDirectory: String, router: ResultRouter, interval: Double = 10, logger: Logger) {
        self.file = stateDirectory + "/" + Self.fileName
        self.router = router
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let interval = self.interval
        // The write ends in an `fsync`: it runs on a thread of its own, never on a cooperative
        // thread, where a slow disk would stall the checks.
        let writer = DedicatedThread(name: "heartbeat")
        defer { writer.stop() }
        try? await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                _ = try? await writer.run { write() }
                try await Task.sleep(for: .seconds(interval))
            }
        }
    }

    func write() {
        let last = router.lastResultMillis
        let now = Int64(WallClock.nowMillis())
        let beat: JSONValue = [
            "time": .string(WallClock.iso8601(millis: now)),
            "time_ms": .int(Int(now)),
            "results": .int(router.resultCount),
            "last_result": last > 0 ? .string(WallClock.iso8601(millis: last)) : .null,
        ]
        do {
            try FileSystem.writeAtomically(beat.json() + "\n", to: file)
        } catch {
            logger.warning("cannot write heartbeat", metadata: ["file": "\(file)", "error": "\(error)"])
        }
    }

    /// Reads a heartbeat file: whether it was written within `maxAge` seconds, and a one-line
    /// summary for the health check's output.
    public static func check(stateDirectory: String, maxAge: Double) -> (healthy: Bool, summary: String) {
        let path = stateDirectory + "/" + fileName
        guard let text = try? FileSystem.readText(path),
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let written = (object["time_ms"] as? NSNumber)?.int64Value
        else {
            return (false, "unhealthy: no heartbeat in \(path) (is healthmonitor running with this state directory?)")
        }
        let age = Double(Int64(WallClock.nowMillis()) - written) / 1000
        let results = (object["results"] as? NSNumber)?.intValue ?? 0
        let last = object["last_result"] as? String ?? "none yet"
        let detail = "heartbeat \(JSONValue.format((age * 10).rounded() / 10)) s ago, \(results) results, last result \(last)"
        return age <= maxAge ? (true, "healthy: " + detail) : (false, "unhealthy: " + detail + " (older than \(JSONValue.format(maxAge)) s)")
    }
}
