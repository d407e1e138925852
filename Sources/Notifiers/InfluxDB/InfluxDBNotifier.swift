import Logging
import Monitor
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `influxdb` (1.x) and `influxdb_v2`: every result as one line-protocol point, written in
/// batches every `flush_interval` seconds (5, as the original) or as soon as `flush_size`
/// points wait. Points are kept in a bounded buffer while InfluxDB cannot be reached and written
/// when it is back; past `buffer_size` the oldest are dropped, counted and logged. What is
/// still unwritten at shutdown is saved in the notifier's state directory and written after the
/// next start.
///
/// The notifier keeps its own buffer, so `send` never fails: the delivery core's retries are
/// not needed, and a slow InfluxDB never holds up the queue. See the README section
/// "influxdb and influxdb_v2" for the point format.
public final class InfluxDBNotifier: Notifier {
    /// Options both versions share.
    static let commonOptions: [OptionSpec] = [
        OptionSpec("tags", .stringMap, help: "tags added to every point, e.g. {env: prod}"),
        OptionSpec("verify", .boolean, default: true, help: "verify the server certificate (https)"),
        OptionSpec("ca_file", .string, help: "PEM file of CA certificates to trust instead of the system's"),
        OptionSpec("timeout", .duration(minimum: 0.1), default: 10, help: "seconds one write may take"),
        OptionSpec("flush_interval", .duration(minimum: 0.01), default: 5, help: "seconds between writes"),
        OptionSpec("flush_size", .integer(1...100_000), default: 1000, help: "write early when this many points wait; most points per write"),
        OptionSpec("buffer_size", .integer(1...10_000_000), default: 10_000, help: "points kept while InfluxDB is unreachable; the oldest beyond are dropped"),
    ]

    /// `influxdb`: InfluxDB 1.x.
    public static let v1Kind = NotifierKind(
        name: "influxdb",
        options: [
            OptionSpec("hostname", .string, default: "localhost", help: "InfluxDB host name or address"),
            OptionSpec("port", .integer(1...65535), default: 8086, help: "HTTP API port"),
            OptionSpec("ssl", .boolean, default: false, help: "use https"),
            OptionSpec("database", .string, default: "healthmonitor", help: "database, created when missing"),
            OptionSpec("username", .string, help: "user name (Basic authentication)"),
            OptionSpec("password", .string, help: "password (secret)"),
        ] + commonOptions,
        make: { context in try InfluxDBNotifier(context: context, version: 1) })

    /// `influxdb_v2`: InfluxDB 2.x (or any server with the v2 write API).
    public static let v2Kind = NotifierKind(
        name: "influxdb_v2",
        options: [
            OptionSpec("url", .string, required: true, help: "base URL, e.g. https://influx.example.org:8086"),
            OptionSpec("token", .string, required: true, help: "API token with write access to the bucket (secret)"),
            OptionSpec("org", .string, required: true, help: "organisation name or id"),
            OptionSpec("bucket", .string, required: true, help: "bucket name"),
        ] + commonOptions,
        make: { context in try InfluxDBNotifier(context: context, version: 2) })

    /// What the notifier did, for logs and tests.
    public struct Counters: Sendable, Hashable {
        /// Points the server accepted.
        public var written = 0
        /// Points in batches the server rejected as malformed (HTTP 400); not retried.
        public var rejected = 0
        /// Points dropped because the buffer was full, or left at shutdown.
        public var dropped = 0
        /// Write requests that failed and were kept for the next try.
        public var failedWrites = 0
    }

    /// Buffer, counters and outage bookkeeping, behind one lock.
    private struct State {
        var buffer: PointBuffer
        var counters = Counters()
        var flushing = false
        /// Set by `shutdown()`: only its own final flush runs from then on.
        var closing = false
        /// Whether the points saved by the last run have been taken back.
        var spoolLoaded = false
        var databaseReady = false
        /// No write before this monotonic time (a 429's `Retry-After`).
        var pausedUntil = 0.0
        /// Monotonic time the current outage began, `nil` while writes succeed.
        var failingSince: Double?
        var lastOutageReport = 0.0
    }

    let target: InfluxDBTarget
    let tags: [String: String]
    let flushInterval: Double
    let flushSize: Int
    private let client: HTTPClient
    private let logger: Logger
    /// Where unwritten points wait between runs (`<state dir>/unsent.lp`); `nil`: nowhere.
    let spoolPath: String?
    private let state: Locked<State>
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Seconds between "still failing" reports during an outage.
    private let outageReportInterval = 60.0

    convenience init(context: NotifierContext, version: Int) throws {
        let options = context.options
        self.init(
            target: try Self.target(options, version: version), tags: options.stringMap("tags") ?? [:],
            flushInterval: options.double("flush_interval") ?? 5, flushSize: options.int("flush_size") ?? 1000,
            bufferSize: options.int("buffer_size") ?? 10_000, client: .shared, logger: context.logger,
            spoolPath: context.stateDirectory + "/unsent.lp")
    }

    init(
        target: InfluxDBTarget, tags: [String: String], flushInterval: Double, flushSize: Int, bufferSize: Int,
        client: HTTPClient, logger: Logger, spoolPath: String? = nil
    ) {
        self.target = target
        self.tags = tags
        self.flushInterval = flushInterval
        self.flushSize = flushSize
        self.client = client
        self.logger = logger
        self.spoolPath = spoolPath
        self.state = Locked(State(buffer: PointBuffer(capacity: bufferSize)))
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The target from validated options; throws a `ConfigDiagnostic` for unusable ones.
    static func target(_ options: Options, version: Int) throws(ConfigDiagnostic) -> InfluxDBTarget {
        let verify = options.bool("verify") ?? true
        let caFile = options.string("ca_file")
        let timeout = options.double("timeout") ?? 10
        if version == 1 {
            let hostname = options.string("hostname") ?? "localhost"
            if hostname.isEmpty || hostname.contains("://") || hostname.contains("/") || hostname.contains(" ") {
                throw options.problem("hostname", "\"\(hostname)\" is not a host name (write influx.example.org, not a URL)")
            }
            let database = options.string("database") ?? "healthmonitor"
            if database.isEmpty { throw options.problem("database", "the database name is empty") }
            let username = options.string("username").flatMap { $0.isEmpty ? nil : $0 }
            let password = options.string("password")
            if username == nil && password != nil { throw options.problem("username", "password is set, so a username is needed") }
            let host = hostname.contains(":") && !hostname.hasPrefix("[") ? "[\(hostname)]" : hostname
            let scheme = options.bool("ssl") == true ? "https" : "http"
            return InfluxDBTarget(
                api: .v1(database: database, username: username, password: password),
                baseURL: "\(scheme)://\(host):\(options.int("port") ?? 8086)", verifyTLS: verify, caFile: caFile,
                timeout: timeout)
        }
        var url = options.string("url") ?? ""
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), HTTPRequest.host(of: url) != "?" else {
            throw options.problem("url", "expected an http:// or https:// URL with a host")
        }
        if url.contains("?") || url.contains("#") {
            throw options.problem("url", "give the base URL only (no query): /api/v2/write is added")
        }
        while url.hasSuffix("/") { url.removeLast() }
        for name in ["token", "org", "bucket"] where (options.string(name) ?? "").isEmpty {
            throw options.problem(name, "\(name) must not be empty")
        }
        return InfluxDBTarget(
            api: .v2(org: options.string("org")!, bucket: options.string("bucket")!, token: options.string("token")!),
            baseURL: url, verifyTLS: verify, caFile: caFile, timeout: timeout)
    }

    /// Buffers the results' points; writes happen in `run()`. Never throws.
    public func send(_ batch: [Delivery]) async throws {
        let lines = batch.compactMap { LineProtocol.line(LineProtocol.Point(result: $0.result, configured: tags)) }
        let full = state.withLock { state in
            state.buffer.append(lines)
            return state.buffer.count >= flushSize
        }
        if full { wake.yield() }
    }

    /// Writes every `flush_interval` seconds, and early when `flush_size` points wait.
    public func run() async throws {
        loadSpool()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [wake, flushInterval] in
                while !Task.isCancelled {
                    do { try await Task.sleep(for: .seconds(flushInterval)) } catch { break }
                    wake.yield()
                }
            }
            for await _ in wakeups {
                if Task.isCancelled { break }
                await flush()
            }
            group.cancelAll()
        }
    }

    /// One last write of what is buffered (no retries: shutdown has a deadline); what cannot be
    /// written is saved for the next start (or, without a spool file, counted and logged as lost).
    public func shutdown() async {
        loadSpool()  // `healthmonitor once` never calls `run()`: keep the old points too
        state.withLock { $0.closing = true }
        wake.finish()
        // Let a write in flight end first (it is bounded by `timeout`), unless the shutdown
        // deadline passed already: then the points go to the spool file at once.
        while state.withLock({ $0.flushing }) && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await flush(final: true)
        let leftLines = state.withLock { Array($0.buffer.batch(max: $0.buffer.count).lines) }
        if !leftLines.isEmpty, let spoolPath {
            do {
                try FileSystem.writeAtomically(leftLines.joined(separator: "\n") + "\n", to: spoolPath)
                logger.warning(
                    "InfluxDB unreachable at shutdown, points saved for the next start",
                    metadata: ["host": "\(target.host)", "points": "\(leftLines.count)", "file": "\(spoolPath)"])
                return
            } catch {
                logger.error("cannot save unwritten points", metadata: ["file": "\(spoolPath)", "error": "\(error)"])
            }
        }
        let (left, counters) = state.withLock { state in
            let left = state.buffer.count
            state.counters.dropped += left
            return (left, state.counters)
        }
        if left > 0 {
            logger.error(
                "InfluxDB unreachable at shutdown, points lost",
                metadata: ["host": "\(target.host)", "points": "\(left)", "dropped_total": "\(counters.dropped)"])
        }
    }

    /// Takes the points saved by the last shutdown into the buffer (once) and removes the file.
    /// Not in `init`: building a notifier (as config checks do) must not consume the file.
    private func loadSpool() {
        guard let spoolPath, !state.withLock({ $0.spoolLoaded }) else { return }
        state.withLock { $0.spoolLoaded = true }
        guard FileSystem.exists(spoolPath) else { return }
        do {
            let lines = try FileSystem.readText(spoolPath).split(separator: "\n").map(String.init)
            state.withLock { $0.buffer.append(lines) }
            unlink(spoolPath)
            logger.info("points saved at the last shutdown will be written", metadata: ["points": "\(lines.count)"])
        } catch {
            logger.error("cannot read saved points", metadata: ["file": "\(spoolPath)", "error": "\(error)"])
        }
    }

    /// A snapshot of the counters.
    public var counters: Counters { state.withLock { $0.counters } }

    /// Points waiting to be written.
    public var buffered: Int { state.withLock { $0.buffer.count } }

    /// Writes buffered points in batches of `flush_size` until the buffer is empty or a write
    /// fails. Only one flush runs at a time; a second caller returns at once. After `shutdown()`
    /// began, only its `final` flush runs.
    func flush(final: Bool = false) async {
        let now = Self.monotonicSeconds()
        let (start, dropped) = state.withLock { state -> (Bool, Int) in
            let dropped = state.buffer.takeDropped()
            state.counters.dropped += dropped
            guard !state.flushing, !state.closing || final, now >= state.pausedUntil, !state.buffer.isEmpty else {
                return (false, dropped)
            }
            state.flushing = true
            return (true, dropped)
        }
        if dropped > 0 {
            logger.error(
                "InfluxDB point buffer full, oldest points dropped",
                metadata: ["host": "\(target.host)", "dropped": "\(dropped)", "buffer_size": "\(state.withLock { $0.buffer.capacity })"])
        }
        guard start else { return }
        defer { state.withLock { $0.flushing = false } }

        while true {
            let (lines, end, ready) = state.withLock { state in
                let batch = state.buffer.batch(max: flushSize)
                return (batch.lines, batch.end, state.databaseReady)
            }
            if lines.isEmpty { return }
            if !ready { await prepareDatabase() }
            switch await write(lines) {
            case .written:
                let recovered = state.withLock { state -> Double? in
                    state.buffer.confirm(end)
                    state.counters.written += lines.count
                    defer { state.failingSince = nil }
                    return state.failingSince
                }
                if let since = recovered {
                    logger.info(
                        "InfluxDB writes resumed",
                        metadata: [
                            "host": "\(target.host)", "outage": "\(Int(Self.monotonicSeconds() - since))s",
                            "buffered": "\(buffered)",
                        ])
                }
            case .rejected(let error):
                state.withLock { state in
                    state.buffer.confirm(end)
                    state.counters.rejected += lines.count
                }
                logger.error(
                    "InfluxDB rejected points, not retrying them",
                    metadata: ["host": "\(target.host)", "points": "\(lines.count)", "error": "\(error)"])
            case .unavailable(let error, let retryAfter):
                noteFailure(error, retryAfter: retryAfter)
                return
            }
        }
    }

    private enum WriteOutcome {
        case written
        /// The server refused the points themselves (malformed, type conflict): retrying the
        /// same lines cannot help.
        case rejected(HTTPError)
        /// Try again later; the points stay buffered.
        case unavailable(HTTPError, retryAfter: Double?)
    }

    private func write(_ lines: ArraySlice<String>) async -> WriteOutcome {
        let request = target.write(lines)
        let response: HTTPResponse
        do {
            response = try await client.execute(request)
        } catch {
            return .unavailable(error, retryAfter: nil)
        }
        if response.isSuccess { return .written }
        let error = HTTPError(
            kind: .status(response.status), method: "POST", host: target.host,
            detail: String(response.bodyText.prefix(500)), partial: response)
        switch response.status {
        case 400, 413, 422:
            // 1.x answers 400 "partial write" after storing the valid points of the batch.
            return .rejected(error)
        case 404 where response.bodyText.contains("database not found"):
            state.withLock { $0.databaseReady = false }
            return .unavailable(error, retryAfter: nil)
        default:
            // 401/403 (credentials), 404 (bucket), 429, 5xx: keep the points, they are fine.
            return .unavailable(error, retryAfter: response.status == 429 ? response.retryAfter() : nil)
        }
    }

    /// `CREATE DATABASE` (1.x) before the first write and after "database not found". Failure
    /// is logged and the write attempted anyway: the database may exist, and a user without
    /// admin rights may still write to it.
    private func prepareDatabase() async {
        guard let request = target.createDatabase() else {
            state.withLock { $0.databaseReady = true }
            return
        }
        do {
            let response = try await client.execute(request)
            // 1.x reports statement errors with status 200 and an "error" member.
            if response.isSuccess && !response.bodyText.contains("\"error\"") {
                state.withLock { $0.databaseReady = true }
                return
            }
            state.withLock { $0.databaseReady = true }  // do not ask again on every flush
            logger.warning(
                "cannot create InfluxDB database, writing anyway",
                metadata: ["host": "\(target.host)", "status": "\(response.status)", "reply": "\(response.bodyText.prefix(300))"])
        } catch {
            // Unreachable: the write will fail too and be retried with the database step.
        }
    }

    /// Logs an outage once when it starts and then every `outageReportInterval` seconds.
    private func noteFailure(_ error: HTTPError, retryAfter: Double?) {
        let now = Self.monotonicSeconds()
        let (report, first, buffered, dropped) = state.withLock { state -> (Bool, Bool, Int, Int) in
            state.counters.failedWrites += 1
            if let retryAfter { state.pausedUntil = now + min(retryAfter, 300) }
            let first = state.failingSince == nil
            if first { state.failingSince = now }
            let report = first || now - state.lastOutageReport >= outageReportInterval
            if report { state.lastOutageReport = now }
            return (report, first, state.buffer.count, state.counters.dropped)
        }
        guard report else { return }
        logger.warning(
            first ? "InfluxDB write failed, keeping points for later" : "InfluxDB still unreachable, keeping points",
            metadata: [
                "host": "\(target.host)", "error": "\(error)", "buffered": "\(buffered)", "dropped_total": "\(dropped)",
            ])
    }

    /// Seconds on a monotonic clock (since the first call).
    private static func monotonicSeconds() -> Double {
        let start = processStart  // initialised before `now` is read, so the result is never negative
        let now = ContinuousClock.now - start
        return Double(now.components.seconds) + Double(now.components.attoseconds) * 1e-18
    }

    private static let processStart = ContinuousClock.now
}
