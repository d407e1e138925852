import AMQPClient
import Logging
import Monitor

/// `rabbitmq`: publishes every result to a RabbitMQ exchange as one persistent JSON message in
/// Clowder's event-sink format (`RabbitMQMessage`), with publisher confirms, and keeps what the
/// broker has not confirmed in a spool under the notifier's state directory, so no result is lost
/// while the broker is away, blocked or restarting, nor across a restart of the monitor.
///
/// It observes every result, also those its report policy does not send, to keep each check's
/// uptime over `uptime_window` (saved in `uptime.json` in its state directory every 30 s and at
/// stop); each message carries the uptime at the moment it was handed over.
public final class RabbitMQNotifier: DurableNotifier, ObservingNotifier, SinkStatsReporting {
    /// The options of `rabbitmq`.
    public static let kind = NotifierKind(
        name: "rabbitmq",
        options: [
            OptionSpec(
                "uri", .string, default: "amqp://guest:guest@localhost:5672/%2F",
                help: "broker URI: amqp://user:password@host:port/vhost (vhost / is %2F); amqps:// for TLS"),
            OptionSpec("exchange", .string, default: "clowder.metrics", help: "exchange to publish to (declared durable)"),
            OptionSpec(
                "exchange_type", .choice(["fanout", "direct", "topic", "headers"]), default: "fanout",
                help: "type the exchange is declared with"),
            OptionSpec("routing_key", .string, default: "", help: "routing key of every message"),
            OptionSpec("queue", .string, help: "a queue to declare (durable) and bind to the exchange; unset: none"),
            OptionSpec("ca_file", .string, help: "PEM file of the CA that signed the broker's certificate (amqps://)"),
            OptionSpec("verify", .boolean, default: true, help: "verify the broker's TLS certificate and host name (amqps://)"),
            OptionSpec("heartbeat", .duration(minimum: 1), default: 10, help: "AMQP heartbeat interval; 2 missed ones mean the link is dead"),
            OptionSpec("connect_timeout", .duration(minimum: 0.1), default: 10, help: "bound on connecting, the handshake and each declaration"),
            OptionSpec(
                "confirm_timeout", .duration(minimum: 1), default: 30,
                help: "a confirm overdue this long means the connection is dead (at least twice the heartbeat)"),
            OptionSpec("max_in_flight", .integer(1...100_000), default: 5000, help: "published, unconfirmed messages allowed at once"),
            OptionSpec(
                "format", .choice(["clowder", "full"]), default: "clowder",
                help: "clowder: flat event Clowder's event-sink consumers read; full: the nested result"),
            OptionSpec(
                "uptime_window", .duration(minimum: 60), default: 86400,
                help: "seconds over which each message's uptime (share of successful runs) is counted"),
        ] + SpoolOptions.specs,
        defaultReport: .always,
        make: { context in try RabbitMQNotifier(context: context) })

    private let worker: SinkWorker<RabbitMQSink>
    private let flushTimeout: Double
    /// Each check's uptime, fed by `observe`.
    public let uptime: UptimeBook
    private let uptimeFile: String
    private let uptimeWriter: DedicatedThread
    private let logger: Logger

    /// Builds the notifier from validated options; problems in them (a bad URI, a missing CA
    /// file) are config errors. `clock` times confirms, backoff and shutdown.
    public init(context: NotifierContext, clock: any ThreadClock = MonotonicClock()) throws {
        let options = context.options
        let uri = options.string("uri") ?? "amqp://guest:guest@localhost:5672/%2F"
        let endpoint: AMQPEndpoint
        do {
            endpoint = try AMQPEndpoint(uri: uri)
        } catch {
            throw options.problem("uri", error.description)
        }
        let caFile = options.string("ca_file")
        if let caFile, !FileSystem.exists(caFile) {
            throw options.problem("ca_file", "\(caFile) does not exist")
        }
        let heartbeat = Int((options.double("heartbeat") ?? 10).rounded(.up))
        let settings = RabbitMQSink.Settings(
            endpoint: endpoint, exchange: options.string("exchange") ?? "clowder.metrics",
            exchangeType: options.string("exchange_type") ?? "fanout", routingKey: options.string("routing_key") ?? "",
            queue: options.string("queue").flatMap { $0.isEmpty ? nil : $0 }, caFile: caFile,
            verify: options.bool("verify") ?? true, heartbeat: heartbeat,
            connectTimeout: options.double("connect_timeout") ?? 10,
            // A confirm may legitimately take as long as the heartbeat timeout to come.
            confirmTimeout: max(options.double("confirm_timeout") ?? 30, Double(2 * heartbeat)),
            maxInFlight: options.int("max_in_flight") ?? 5000, connectionName: "healthmonitor \(context.name) on \(HostName.current)",
            format: RabbitMQMessage.Format(rawValue: options.string("format") ?? "clowder") ?? .clowder)
        let sink = RabbitMQSink(settings: settings, logger: context.logger, clock: clock)
        worker = SpoolOptions.worker(sink, context: context, type: "rabbitmq", clock: clock)
        flushTimeout = SpoolOptions.flushTimeout(options)
        logger = context.logger
        uptime = UptimeBook(window: options.double("uptime_window") ?? 86400)
        uptimeFile = context.stateDirectory + "/uptime.json"
        uptimeWriter = DedicatedThread(name: "uptime-\(context.name)")
        if FileSystem.exists(uptimeFile) {
            let problem: String?
            do {
                problem = uptime.load(json: try FileSystem.readText(uptimeFile))
            } catch {
                problem = "\(error)"
            }
            if let problem { context.logger.warning("cannot read saved uptime, starting fresh", metadata: ["file": "\(uptimeFile)", "error": "\(problem)"]) }
        }
    }

    /// Counts every run of every check for its uptime. Never waits.
    public func observe(_ result: CheckResult) {
        uptime.record(result.key, success: result.status == .success, atMillis: result.createdMillis)
    }

    /// Takes the results, each with its check's uptime at its start, into the spool; never waits for the
    /// broker, never throws.
    public func send(_ batch: [Delivery]) async throws {
        let results = batch.map { delivery in
            var result = delivery.result
            result.uptime = uptime.ratio(result.key, atMillis: result.createdMillis)
            return result
        }
        worker.accept(results, intake: batch.map(\.intake).max() ?? 0)
    }

    /// Writes the uptime book when it changed (on its own thread: the write ends in an fsync).
    private func saveUptime() async {
        let (json, changed) = uptime.snapshot(markClean: true)
        guard changed else { return }
        let file = uptimeFile
        do {
            try await uptimeWriter.run { try FileSystem.writeAtomically(json + "\n", to: file) }
        } catch {
            logger.warning("cannot save uptime", metadata: ["file": "\(file)", "error": "\(error)"])
        }
    }

    /// Reports intake-log numbers once their results are in the spool files.
    public func onDurable(_ handler: @escaping @Sendable (UInt64) -> Void) {
        worker.onDurable(handler)
    }

    /// Connects, publishes and reconnects until shutdown or cancellation; saves the uptime
    /// book every 30 s.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(30))
                    await saveUptime()
                }
            }
            await worker.run()
            group.cancelAll()
        }
    }

    /// Publishes what is held for at most `flush_timeout` seconds, then spills the rest; saves
    /// the uptime book.
    public func shutdown() async {
        await worker.shutdown(timeout: flushTimeout)
        await saveUptime()
        await uptimeWriter.finish(abandonAfter: 1)
    }

    /// Delivery counters (confirmed, returned, spooled, …).
    public var stats: SinkStats { worker.stats }
}
