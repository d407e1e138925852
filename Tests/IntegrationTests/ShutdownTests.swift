import Foundation
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A TCP port that accepts connections (the kernel completes them into the backlog) and never
/// says a word: a webhook that never answers, an SMTP server that never greets.
final class SilentListener {
    let fd: Int32
    let port: UInt16

    init(port: UInt16 = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 128) == 0 else {
            if fd >= 0 { _ = Glibc.close(fd) }
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = UInt16(bigEndian: address.sin_port)
    }

    /// A free loopback port for a server a test starts (the monitor's HTTP face, Prometheus).
    /// It is chosen below the kernel's ephemeral range (`ip_local_port_range`), so no outgoing
    /// connection of a parallel test can take it between choosing and binding; the kernel's own
    /// choice (`closedPort`) is in that range and was taken that way once in CI.
    static func listenPort() throws -> UInt16 {
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let ephemeralLow = range.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { Int($0) } ?? 32768
        let candidates = 10_000..<max(10_001, ephemeralLow)
        for _ in 0..<200 {
            let port = UInt16(Int.random(in: candidates))
            if let listener = try? SilentListener(port: port) {
                listener.close()
                return port
            }
        }
        throw POSIXError(.EADDRINUSE)
    }

    /// A port nothing listens on (bound, then closed).
    static func closedPort() throws -> UInt16 {
        let listener = try SilentListener()
        let port = listener.port
        listener.close()
        return port
    }

    private var closed = false
    func close() {
        guard !closed else { return }
        closed = true
        _ = Glibc.close(fd)
    }

    deinit { close() }
}

extension SinkIntegrationTests {
    // With the sink suites, one at a time: a stop is timed against its deadline, and the
    // cluster tests' agents and broker restarts beside it stretched one past it (5.1 s for 5).
    @Suite(.serialized) struct ShutdownTests {
        init() throws {
            try #require(FileManager.default.isExecutableFile(atPath: Binary.path), "build first: swift build")
        }

        /// Seven notifiers whose endpoints are all dead or silent: the whole stop fits in
        /// `shutdown_timeout` (+2 s), the exit status is 0, and every result the RabbitMQ and Mongo
        /// notifiers were handed is on disk for the next start.
        @Test func aStopWithEveryEndpointDeadFitsTheDeadlineAndLosesNothing() async throws {
            let dir = scratchDirectory()
            let silent = try SilentListener()
            defer { silent.close() }
            let closed = try SilentListener.closedPort()
            let shutdownTimeout = 3.0
            try """
            settings: {state_dir: \(dir)/state, shutdown_timeout: \(shutdownTimeout)}
            checks:
              random:
                a: {sleep: 0.1, seed: 1}
                b: {sleep: 0.1, seed: 2}
                c: {sleep: 0.1, seed: 3}
            notifiers:
              console: {report: always, format: json}
              email: {report: always, to: ops@example.org, server: "127.0.0.1:\(silent.port)", timeout: 60, retries: 5}
              influxdb: {report: always, hostname: 127.0.0.1, port: \(closed), flush_interval: 0.2, timeout: 60}
              slack: {report: always, webhook: "http://127.0.0.1:\(silent.port)/hook", timeout: 60, retries: 5}
              msteams: {report: always, webhook: "http://127.0.0.1:\(silent.port)/teams", timeout: 60, retries: 5}
              rabbitmq: {uri: "amqp://guest:guest@127.0.0.1:\(closed)/%2F", connect_timeout: 2}
              mongo: {uri: "mongodb://127.0.0.1:\(closed)", connect_timeout: 2}
            """.write(toFile: dir + "/c.yml", atomically: true, encoding: .utf8)

            let launched = try Binary.start(["run", "--config", "c.yml"], directory: dir)
            try await Task.sleep(for: .seconds(2))
            let start = ContinuousClock.now
            launched.process.signal(SIGTERM)
            let out = await launched.finish()
            let took = start.duration(to: .now)
            #expect(out.status == 0, "\(out.stderr)")
            #expect(took < .seconds(shutdownTimeout + 2), "stop took \(took)")
            #expect(out.stderr.contains("healthmonitor stopped"))

            // Every result routed before the stop went to every notifier; the console printed them.
            let ids = Self.printedIDs(out.stdout)
            #expect(ids.count >= 3, "results printed: \(ids.count)")
            for sink in ["rabbitmq", "mongo"] {
                let kept = Self.resultIDs(under: "\(dir)/state/notifiers/\(sink)")
                let missing = ids.filter { !kept.contains($0) }
                #expect(missing.isEmpty, "\(sink): \(missing.count) of \(ids.count) results not on disk")
            }
            // Secrets: webhook URLs never reach the log.
            #expect(!out.stderr.contains("/hook") && !out.stderr.contains("/teams"))
        }

        /// A second SIGTERM stops at once, still with the sinks' results on disk.
        @Test func aSecondSignalStopsAtOnce() async throws {
            let dir = scratchDirectory()
            let silent = try SilentListener()
            defer { silent.close() }
            let closed = try SilentListener.closedPort()
            try """
            settings: {state_dir: \(dir)/state, shutdown_timeout: 60}
            checks:
              random:
                a: {sleep: 0.1, seed: 1}
            notifiers:
              console: {report: always, format: json}
              slack: {report: always, webhook: "http://127.0.0.1:\(silent.port)/hook", timeout: 120}
              rabbitmq: {uri: "amqp://guest:guest@127.0.0.1:\(closed)/%2F", connect_timeout: 2}
            """.write(toFile: dir + "/c.yml", atomically: true, encoding: .utf8)

            let launched = try Binary.start(["run", "--config", "c.yml"], directory: dir)
            try await Task.sleep(for: .seconds(1.5))
            launched.process.signal(SIGTERM)
            try await Task.sleep(for: .milliseconds(500))
            let start = ContinuousClock.now
            launched.process.signal(SIGTERM)
            let out = await launched.finish()
            let took = start.duration(to: .now)
            #expect(out.status == 0, "\(out.stderr)")
            // Far below the 60 s deadline the first signal allowed.
            #expect(took < .seconds(10), "second signal: stop took \(took)")
            #expect(out.stderr.contains("second signal"))
            let ids = Self.printedIDs(out.stdout)
            #expect(!ids.isEmpty)
            let kept = Self.resultIDs(under: "\(dir)/state/notifiers/rabbitmq")
            #expect(ids.allSatisfy { kept.contains($0) }, "\(ids.filter { !kept.contains($0) }.count) of \(ids.count) not on disk")
        }

        /// The container stack gives the monitor the time its stop may take: `stop_grace_period` of
        /// docker-compose.yml exceeds `shutdown_timeout` of config.compose.yml plus the 1 s
        /// escalation and 5 s cancellation grace (README, "Stopping"), so Docker never kills it first.
        @Test func composeStopGracePeriodExceedsTheShutdownDeadline() throws {
            let compose = try String(contentsOfFile: Binary.repository.path + "/docker-compose.yml", encoding: .utf8)
            let config = try String(contentsOfFile: Binary.repository.path + "/config.compose.yml", encoding: .utf8)
            func number(after key: String, in text: String) -> Double? {
                guard let line = text.split(separator: "\n").first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(key + ":") }) else { return nil }
                let value = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
                return Double(value.hasSuffix("s") ? String(value.dropLast()) : value)
            }
            let grace = try #require(number(after: "stop_grace_period", in: compose), "stop_grace_period (seconds) in docker-compose.yml")
            let deadline = try #require(number(after: "shutdown_timeout", in: config), "settings.shutdown_timeout in config.compose.yml")
            #expect(grace > deadline + 6, "stop_grace_period \(grace) s, shutdown_timeout \(deadline) s")
        }

        /// The ids of the results the console notifier printed (`format: json`), in order.
        static func printedIDs(_ stdout: String) -> [String] {
            stdout.split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("{") else { return nil }
                return (try? JSONValue.parse(String(line)))?.objectValue?["id"]?.stringValue
            }
        }

        /// The ids of the results in a notifier's spool files and intake journal (all files under
        /// its state directory).
        static func resultIDs(under directory: String) -> Set<String> {
            var ids: Set<String> = []
            for name in FileManager.default.subpaths(atPath: directory) ?? [] {
                guard let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) else { continue }
                for line in text.split(separator: "\n") {
                    // Spool lines may carry a sequence number before the JSON.
                    guard let brace = line.firstIndex(of: "{") else { continue }
                    if let id = (try? JSONValue.parse(String(line[brace...])))?.objectValue?["id"]?.stringValue { ids.insert(id) }
                }
            }
            return ids
        }
    }
}
