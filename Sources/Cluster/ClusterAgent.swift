import AMQPClient
import Logging
import Monitor
import ServiceLifecycle

/// `healthmonitor agent`: a probe. It consumes its location's run requests, runs each check and
/// publishes the result; it needs no check config.
///
/// Delivery guarantees: a request is acknowledged only after its result is confirmed by the
/// broker (persistent, to the durable result queue). A request whose agent dies, loses its
/// connection or is stopped before that stays unacknowledged, and the broker delivers it again
/// to a sibling of the same location (or to this agent once it is back): at least once. At most
/// `prefetch` requests run at a time per agent.
///
/// One thread owns the connection (`BrokerThread`). A check that needs no waiting runs on it;
/// others run as tasks, as in `run`, and their results come back to it through `outbox`.
public final class ClusterAgent: Service, Sendable {
    public struct Settings: Sendable {
        public var uri: String
        public var location: String
        /// The agent's name in results and heartbeats (default: host name and process id).
        public var name: String
        /// Requests run at once, at most (`basic.qos`).
        public var prefetch: UInt16
        /// Seconds between heartbeats.
        public var heartbeatInterval: Double
        /// Bounds the connect, the handshake and every broker RPC, in seconds.
        public var timeout: Double

        public init(uri: String, location: String, name: String, prefetch: UInt16 = 64, heartbeatInterval: Double = 5, timeout: Double = 10) {
            self.uri = uri
            self.location = location
            self.name = name
            self.prefetch = prefetch
            self.heartbeatInterval = heartbeatInterval
            self.timeout = timeout
        }
    }

    /// Bad settings: the URI or the location name.
    public struct InvalidSettings: Error, CustomStringConvertible {
        public var description: String
    }

    /// A finished run waiting for the connection's thread to publish it: its request's delivery
    /// tag on connection `generation`.
    private struct Finished: Sendable {
        var generation: Int
        var deliveryTag: UInt64?
        var id: String
        var body: String
    }

    /// A publish awaiting its confirm.
    private enum Unconfirmed {
        /// A result: its request is acknowledged once the broker confirms it.
        case result(Finished)
        case heartbeat
    }

    private struct Shared: Sendable {
        var outbox: [Finished] = []
        var running = 0
        /// The connection served now (a delivery tag belongs to its connection).
        var generation = 0
    }

    public let settings: Settings
    private let endpoint: AMQPEndpoint
    private let checks: RequestedChecks
    private let logger: Logger
    private let shared = Locked(Shared())
    private let broker = BrokerThread(name: "agent-amqp")
    /// Results published in one write at most, while more frames wait to be read.
    private static let resultsPerWrite = 64

    public init(settings: Settings, checks: RequestedChecks, logger: Logger) throws(InvalidSettings) {
        guard CheckConfig.isValidLocation(settings.location) else {
            throw InvalidSettings(description: "location \"\(settings.location)\": expected 1 to 64 of a-z A-Z 0-9 - _")
        }
        do {
            endpoint = try AMQPEndpoint(uri: settings.uri)
        } catch {
            throw InvalidSettings(description: "cluster URI: \(error)")
        }
        self.settings = settings
        self.checks = checks
        var logger = logger
        logger[metadataKey: "location"] = "\(settings.location)"
        logger[metadataKey: "agent"] = "\(settings.name)"
        self.logger = logger
    }

    public func run() async throws {
        logger.info("agent started", metadata: ["broker": "\(endpoint.display)", "queue": "\(ClusterTopology.requestQueue(settings.location))"])
        try await broker.run(
            connect: { [self] () throws(AMQPConnection.Failure) in try connect() },
            serve: { [self] connection throws(AMQPConnection.Failure) in
                logger.notice("connected to the broker; consuming run requests", metadata: ["broker": "\(endpoint.display)"])
                try serve(connection, generation: shared.withLock { s in
                    s.generation += 1
                    return s.generation
                })
            },
            lost: { [self] error, pause in
                logger.warning(
                    "broker connection lost; unacknowledged requests go back to the queue",
                    metadata: ["broker": "\(endpoint.display)", "error": "\(error)", "retry_in": "\(pause)s"])
            })
        logger.info("agent stopped")
    }

    private func connect() throws(AMQPConnection.Failure) -> AMQPConnection {
        let connection = try AMQPConnection(
            endpoint: endpoint, heartbeat: 10, timeout: settings.timeout, caFile: nil, verify: true, name: "healthmonitor agent \(settings.name)")
        let queue = ClusterTopology.requestQueue(settings.location)
        try connection.declareExchange(ClusterTopology.requestExchange, type: "direct")
        try connection.declareQueue(queue, arguments: ClusterTopology.requestQueueArguments)
        try connection.bind(queue: queue, exchange: ClusterTopology.requestExchange, routingKey: settings.location)
        // The result queue is the controller's to declare (the agent's user need not read it).
        try connection.declareExchange(ClusterTopology.resultExchange, type: "direct")
        try connection.declareExchange(ClusterTopology.heartbeatExchange, type: "fanout")
        try connection.confirmSelect()
        try connection.qos(prefetch: settings.prefetch)
        try connection.consume(queue)
        return connection
    }

    /// Serves one connection. When it fails, the results it published without a confirm go back
    /// to the outbox: they are published again on the next connection. Their requests cannot be
    /// acknowledged there (a delivery tag belongs to its connection): the broker delivers them
    /// again, and the controller counts the second answer to a request as late.
    private func serve(_ connection: AMQPConnection, generation: Int) throws(AMQPConnection.Failure) {
        var unconfirmed: [UInt64: Unconfirmed] = [:]
        do {
            try serve(connection, generation: generation, unconfirmed: &unconfirmed)
        } catch {
            let again = unconfirmed.sorted { $0.key < $1.key }.compactMap { entry -> Finished? in
                if case .result(let result) = entry.value { result } else { nil }
            }
            shared.withLock { $0.outbox.insert(contentsOf: again, at: 0) }
            throw error
        }
    }

    private func serve(_ connection: AMQPConnection, generation: Int, unconfirmed: inout [UInt64: Unconfirmed]) throws(AMQPConnection.Failure) {
        var sequence: UInt64 = 0
        var returned: Set<String> = []
        var blocked = false
        var lastBeat = -Double.infinity
        var drainDeadline: Double?
        var acks = AckBook()
        while true {
            let now = MonotonicClock().seconds()
            let stopping = broker.isStopping
            // Acknowledgements and results wait until the frames already read are handled (a
            // burst of requests and confirms), then go out together: one write for the results,
            // one multiple ack for the requests at the front.
            let flush = !connection.hasBufferedInput || stopping
            if flush {
                let (upTo, singles) = acks.take()
                if let upTo { try connection.ack(upTo, multiple: true) }
                for tag in singles { try connection.ack(tag) }
            }
            let (finished, running) = shared.withLock { s -> ([Finished], Int) in
                guard flush || s.outbox.count >= Self.resultsPerWrite else { return ([], s.running) }
                defer { s.outbox.removeAll() }
                // A result of an earlier connection's request: published, never acknowledged here.
                let all = s.outbox.map { f in f.generation == generation ? f : Finished(generation: generation, deliveryTag: nil, id: f.id, body: f.body) }
                return (all, s.running)
            }
            if stopping {
                // Finish what runs and what awaits its confirm, for at most 5 s; requests not
                // started go back to the queue when the connection closes.
                if drainDeadline == nil { drainDeadline = now + 5 }
                if (running == 0 && unconfirmed.isEmpty && finished.isEmpty) || now >= drainDeadline! { return }
            }
            if !blocked {
                // Every result at hand in one write; unconfirmed first, so that a failed write
                // leaves them all to be sent again on the next connection. (Most turns of the
                // loop have none: no clock read, no call.)
                if !finished.isEmpty {
                    let timestamp = UInt64(WallClock.nowMillis() / 1000)
                    for result in finished {
                        sequence += 1
                        unconfirmed[sequence] = .result(result)
                    }
                    try connection.publish(
                        finished.map {
                            AMQPConnection.Message(
                                exchange: ClusterTopology.resultExchange, routingKey: ClusterTopology.resultRoutingKey, body: $0.body,
                                messageID: $0.id, timestamp: timestamp, options: .init(persistent: true, mandatory: true))
                        })
                }
                if now - lastBeat >= settings.heartbeatInterval {
                    sequence += 1
                    try connection.publish(
                        exchange: ClusterTopology.heartbeatExchange, routingKey: "", body: heartbeat(running: running),
                        messageID: ResultID.next(), timestamp: UInt64(WallClock.nowMillis() / 1000),
                        options: .init(persistent: false, expirationMillis: Int(settings.heartbeatInterval * 3000)))
                    unconfirmed[sequence] = .heartbeat
                    lastBeat = now
                }
            } else if !finished.isEmpty {
                shared.withLock { $0.outbox.insert(contentsOf: finished, at: 0) }
            }
            // While stopping, look again soon (the drain has a deadline).
            guard let event = try connection.nextEvent(waiting: stopping ? 0.05 : 0.25, orWake: broker.wake) else {
                connection.releaseBuffers()
                continue
            }
            switch event {
            case .delivery(let delivery):
                if stopping { continue }  // left unacknowledged: redelivered after the close
                if accept(delivery, generation: generation, connection: connection) { acks.delivered(delivery.tag) }
            case .ack(let tag, let multiple), .nack(let tag, let multiple):
                let confirmed: Bool = if case .ack = event { true } else { false }
                for seq in unconfirmed.keys where seq == tag || (multiple && seq < tag) {
                    guard case .result(let entry) = unconfirmed.removeValue(forKey: seq) else { continue }
                    let kept = confirmed && !returned.contains(entry.id)
                    returned.remove(entry.id)
                    if let deliveryTag = entry.deliveryTag {
                        // Not kept: the request runs again (here or at a sibling).
                        if kept {
                            acks.confirmed(deliveryTag)
                        } else {
                            acks.forget(deliveryTag)
                            try connection.reject(deliveryTag, requeue: true)
                        }
                    } else if !kept {
                        logger.warning(
                            "the broker did not keep a result sent again after a reconnect; its request runs again or expires",
                            metadata: ["id": "\(entry.id)"])
                    }
                }
            case .returned(let messageID, let code, let text):
                logger.warning("result returned by the broker as unroutable; its request is run again", metadata: ["reply": "\(code) \(text)"])
                if let messageID { returned.insert(messageID) }
            case .blocked(let reason):
                blocked = true
                logger.warning("broker blocks publishing (resource alarm); results wait", metadata: ["reason": "\(reason)"])
            case .unblocked:
                blocked = false
                logger.notice("broker unblocked publishing")
            case .other:
                break
            }
        }
    }

    /// Starts the run a delivery asks for; `false` when it asks for none. A message that is not
    /// a run request cannot be answered (no check to name): it is logged and acknowledged, so it
    /// does not come back.
    private func accept(_ delivery: AMQPConnection.Delivery, generation: Int, connection: AMQPConnection) -> Bool {
        let request: RunRequest
        do {
            request = try RunRequest(json: delivery.body)
        } catch {
            logger.error("dropped a message that is not a run request", metadata: ["message_id": "\(delivery.messageID ?? "none")", "error": "\(error)"])
            try? connection.ack(delivery.tag)
            return false
        }
        let started = checks.begin(request)
        let configJSON = started.configJSON
        switch started.run {
        case .finished(let result):
            // Ended on this thread (no task, no hop): published on the loop's next turn.
            let item = finished(result, configJSON: configJSON, request: request, deliveryTag: delivery.tag, generation: generation)
            shared.withLock { $0.outbox.append(item) }
        case .running(let rest):
            shared.withLock { $0.running += 1 }
            Task { [self] in
                let item = await rest().map { finished($0, configJSON: configJSON, request: request, deliveryTag: delivery.tag, generation: generation) }
                shared.withLock { s in
                    s.running -= 1
                    if let item { s.outbox.append(item) }
                }
                broker.wake.signal()
            }
        }
        return true
    }

    /// A result to publish: its own JSON with the location and agent, the request it answers and
    /// the exact creation time. `configJSON`: the check's config as `RequestedChecks` wrote it.
    private func finished(_ result: CheckResult, configJSON: String?, request: RunRequest, deliveryTag: UInt64, generation: Int) -> Finished {
        var result = result
        result.location = settings.location
        result.agent = settings.name
        let body = result.json(extra: [("request", .string(request.id)), ("created_ms", .int(Int(result.createdMillis)))], configJSON: configJSON)
        return Finished(generation: generation, deliveryTag: deliveryTag, id: result.id, body: body)
    }

    private func heartbeat(running: Int) -> String {
        JSONValue.object([
            "agent": .string(settings.name), "location": .string(settings.location), "host": .string(HostName.current),
            "time": .int(Int(WallClock.nowMillis())), "interval": .double(settings.heartbeatInterval), "running": .int(running),
        ]).json()
    }
}
