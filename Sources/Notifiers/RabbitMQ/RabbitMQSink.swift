import AMQPClient
import Logging
import Monitor

/// The RabbitMQ side of the `rabbitmq` notifier: one connection and channel with publisher
/// confirms, `mandatory` publishes and `basic.return` handling, driven by a `SinkWorker` on its
/// dedicated thread (librabbitmq is neither thread-safe nor threaded).
///
/// A connection is declared dead, and dropped without a close handshake, when librabbitmq
/// reports a socket error or a heartbeat timeout (no frame from the broker for two heartbeat
/// intervals), when the broker closes the channel, or when a confirm is overdue
/// (`confirmTimeout`) while the broker is not blocking publishers. The worker then reconnects
/// with backoff; `connect()` redoes confirm mode and the declarations, and the spool sends
/// everything unconfirmed again.
final class RabbitMQSink: Sink {
    struct Settings: Sendable {
        var endpoint: AMQPEndpoint
        var exchange: String
        var exchangeType: String
        var routingKey: String
        /// A durable queue declared and bound to the exchange; `nil`: none.
        var queue: String?
        var caFile: String?
        var verify: Bool
        /// Heartbeat interval negotiated with the broker, in seconds.
        var heartbeat: Int
        /// Bound on connect, handshake and each RPC, in seconds.
        var connectTimeout: Double
        /// Seconds after which a missing confirm means the connection is dead.
        var confirmTimeout: Double
        /// Unconfirmed messages allowed at once.
        var maxInFlight: Int
        /// The connection name the broker shows (management UI, `rabbitmqctl list_connections`).
        var connectionName: String
        /// The message body format.
        var format: RabbitMQMessage.Format = .clowder
        /// Seconds to wait for broker frames when there is nothing to publish (results
        /// arriving end the wait at once).
        var idleWait = 0.05
    }

    let settings: Settings
    private let logger: Logger
    private var connection: AMQPConnection?
    private var tracker = ConfirmTracker()
    private var blocked = false
    /// No publishing before this time (seconds on `clock`): after a return with a queue configured.
    private var holdUntil = 0.0
    private var redeclare = false
    private var returnsSinceLog = 0
    private var lastReturnLog = -1e9
    private var nacksSinceLog = 0
    private var lastNackLog = -1e9
    /// `created` of the `clowder` events published, unique per kind.
    private var clowderTimes = ClowderTimes()
    /// The worker's arrivals, and what they signal to end a wait on the socket.
    private var arrivals: SinkArrivals?
    private let arrived = WakeSignal()
    /// Publishes per round before reading confirms again.
    private static let burst = 256

    /// Times confirms, the pause after a return and the log rate limits.
    private let clock: any ThreadClock

    init(settings: Settings, logger: Logger, clock: any ThreadClock = MonotonicClock()) {
        self.settings = settings
        self.logger = logger
        self.clock = clock
    }

    var endpoint: String {
        settings.endpoint.display + " exchange \"\(settings.exchange)\""
    }

    /// Results that arrive while this thread waits on the socket with nothing to publish end
    /// the wait: they are published at once, not after `idleWait` (the first of a burst after a
    /// quiet spell waited up to 50 ms).
    func watch(_ arrivals: SinkArrivals) {
        self.arrivals = arrivals
    }

    func connect() throws {
        let c = try AMQPConnection(
            endpoint: settings.endpoint, heartbeat: settings.heartbeat, timeout: settings.connectTimeout,
            caFile: settings.caFile, verify: settings.verify, name: settings.connectionName)
        try c.confirmSelect()
        if !settings.exchange.isEmpty { try c.declareExchange(settings.exchange, type: settings.exchangeType) }
        if let queue = settings.queue {
            try c.declareQueue(queue)
            if !settings.exchange.isEmpty {
                try c.bind(queue: queue, exchange: settings.exchange, routingKey: settings.routingKey)
            }
        }
        connection = c
        tracker.reset()
        blocked = false
        redeclare = false
        holdUntil = 0
    }

    func disconnect(graceful: Bool) {
        if graceful { connection?.closeGracefully() }
        connection = nil  // deinit closes the socket
        tracker.reset()
    }

    /// Runs of 2,000 (about 7 ms of writing to the spool files) while up to `max_in_flight`
    /// messages keep the broker busy: a burst of 30,000 written at once kept it idle for 100 ms
    /// before the first was published (issue 18's burst benchmark: 0.89 → 0.94 of the floor).
    var intakeRun: Int? { 2_000 }

    func exchange(_ spool: inout Spool<CheckResult>, stats: inout SinkStats, flushing: Bool) throws -> Double {
        guard let c = connection else { throw AMQPConnection.Failure(operation: "publish", detail: "not connected") }
        var now = clock.seconds()
        if redeclare && tracker.count == 0, let queue = settings.queue {
            try c.declareQueue(queue)
            if !settings.exchange.isEmpty {
                try c.bind(queue: queue, exchange: settings.exchange, routingKey: settings.routingKey)
            }
            redeclare = false
        }
        let mayPublish = !blocked && !redeclare && now >= holdUntil
        if mayPublish && tracker.count < settings.maxInFlight {
            let entries = spool.takeToSend(max: min(Self.burst, settings.maxInFlight - tracker.count))
            // Publish only what the socket takes now: a full socket (a stalled broker) must not
            // block this thread; the confirm timeout and heartbeats decide about the link.
            let sent = try c.publish(upTo: entries.count) { index in
                let result = entries[index].record
                return AMQPConnection.Message(
                    exchange: settings.exchange, routingKey: settings.routingKey,
                    body: RabbitMQMessage.body(result, format: settings.format, times: &clowderTimes), messageID: result.id,
                    timestamp: RabbitMQMessage.timestamp(result), options: .init(mandatory: true))
            }
            for entry in entries[..<sent] { tracker.published(seq: entry.seq, id: entry.record.id, at: now) }
            if sent < entries.count { spool.retry(entries[sent...].map(\.seq)) }
        }

        let morePending = mayPublish && spool.pendingCount > 0 && tracker.count < settings.maxInFlight
        var wait = morePending ? 0 : settings.idleWait
        var armed = false
        if wait > 0, let arrivals {
            let arrived = self.arrived
            armed = arrivals.arm { arrived.signal() }
            if !armed { wait = 0 }  // results wait to be taken: no sleeping on the socket
        }
        defer { if armed { arrivals?.disarm() } }
        var events = 0
        while events < 4096, let event = try (armed && events == 0 ? c.nextEvent(waiting: wait, orWake: arrived) : c.nextEvent(waiting: wait)) {
            now = clock.seconds()
            handle(event, spool: &spool, stats: &stats, now: now)
            events += 1
            wait = 0
        }
        c.releaseBuffers()

        if !blocked, tracker.isOverdue(now: clock.seconds(), timeout: settings.confirmTimeout) {
            throw AMQPConnection.Failure(
                operation: "publisher confirm",
                detail: "none within \(JSONValue.format(settings.confirmTimeout)) s; the connection is considered dead")
        }
        return 0  // this round already waited on the socket
    }

    private func handle(_ event: AMQPConnection.Event, spool: inout Spool<CheckResult>, stats: inout SinkStats, now: Double) {
        switch event {
        case .ack(let tag, let multiple):
            var delivered: [UInt64] = []
            for settled in tracker.settle(tag: tag, multiple: multiple) {
                if !settled.returned {
                    delivered.append(settled.seq)
                } else if settings.queue != nil {
                    // The configured queue did not take it (deleted meanwhile?): keep it,
                    // declare the queue again, and retry after a pause.
                    spool.retry([settled.seq])
                    redeclare = true
                    holdUntil = now + 1
                } else {
                    // Nothing is bound to receive it: counted and logged, then dropped, so an
                    // unconsumed exchange cannot grow the spool without bound.
                    spool.complete([settled.seq])
                    stats.undeliverable += 1
                }
            }
            spool.complete(delivered)
            stats.delivered += delivered.count
        case .nack(let tag, let multiple):
            let settled = tracker.settle(tag: tag, multiple: multiple)
            spool.retry(settled.map(\.seq))
            stats.nacked += settled.count
            nacksSinceLog += settled.count
            if now - lastNackLog >= 10 {
                logger.warning(
                    "broker refused results (nack); sending them again",
                    metadata: ["endpoint": "\(endpoint)", "results": "\(nacksSinceLog)"])
                nacksSinceLog = 0
                lastNackLog = now
            }
        case .returned(let messageID, let code, let text):
            if let messageID { tracker.returned(id: messageID) }
            stats.returned += 1
            returnsSinceLog += 1
            if now - lastReturnLog >= 10 {
                logger.warning(
                    "results returned by the broker as unroutable: undeliverable, not counted as delivered",
                    metadata: [
                        "endpoint": "\(endpoint)", "routing_key": "\(settings.routingKey)", "reply": "\(code) \(text)",
                        "results": "\(returnsSinceLog)",
                        "action": "\(settings.queue == nil ? "dropped (no queue configured; bind a queue to the exchange)" : "kept and retried")",
                    ])
                returnsSinceLog = 0
                lastReturnLog = now
            }
        case .blocked(let reason):
            if !blocked {
                blocked = true
                stats.blocks += 1
                stats.blocked = true
                logger.warning(
                    "broker blocks publishing (resource alarm); results are kept until it unblocks",
                    metadata: ["endpoint": "\(endpoint)", "reason": "\(reason)"])
            }
        case .unblocked:
            if blocked {
                blocked = false
                stats.blocked = false
                tracker.restartClock(at: now)
                logger.notice("broker unblocked publishing", metadata: ["endpoint": "\(endpoint)"])
            }
        case .delivery, .other:
            break  // the notifier consumes nothing
        }
    }
}
