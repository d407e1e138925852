import Monitor

/// `rabbitmq`: publishes every result to a RabbitMQ exchange as one persistent JSON message in
/// Clowder's event-sink format (`RabbitMQMessage`), with publisher confirms, and keeps what the
/// broker has not confirmed in a spool under the notifier's state directory, so no result is lost
/// while the broker is away, blocked or restarting, nor across a restart of the monitor.
public final class RabbitMQNotifier: DurableNotifier {
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
        ] + SpoolOptions.specs,
        defaultReport: .always,
        make: { context in try RabbitMQNotifier(context: context) })

    private let worker: SinkWorker<RabbitMQSink>
    private let flushTimeout: Double

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
            maxInFlight: options.int("max_in_flight") ?? 5000, connectionName: "healthmonitor \(context.name) on \(HostName.current)")
        let sink = RabbitMQSink(settings: settings, logger: context.logger, clock: clock)
        worker = SpoolOptions.worker(sink, context: context, type: "rabbitmq", clock: clock)
        flushTimeout = SpoolOptions.flushTimeout(options)
    }

    /// Takes the results into the spool; never waits for the broker, never throws.
    public func send(_ batch: [Delivery]) async throws {
        worker.accept(batch.map(\.result), intake: batch.map(\.intake).max() ?? 0)
    }

    /// Reports intake-log numbers once their results are in the spool files.
    public func onDurable(_ handler: @escaping @Sendable (UInt64) -> Void) {
        worker.onDurable(handler)
    }

    /// Connects, publishes and reconnects until shutdown or cancellation.
    public func run() async throws {
        await worker.run()
    }

    /// Publishes what is held for at most `flush_timeout` seconds, then spills the rest.
    public func shutdown() async {
        await worker.shutdown(timeout: flushTimeout)
    }

    /// Delivery counters (confirmed, returned, spooled, …).
    public var stats: SinkStats { worker.stats }
}
