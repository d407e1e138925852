import AMQPClient
import Logging
import Monitor
import ServiceLifecycle

/// The controller side of a distributed monitor (`settings.cluster`): the scheduler hands it the
/// runs of checks in other locations than `local`; it publishes one run request per run and
/// completes the run with the agent's result, or with none ("no data") when no result came in
/// time. It also follows the agents' heartbeats.
///
/// Requests are transient, with a per-message TTL of the check's `sleep` (a stale request expires
/// in the queue), published with confirms and `mandatory`: a location no agent ever declared a
/// queue for returns them at once. Results are consumed from the durable result queue and
/// acknowledged once routed.
///
/// One thread owns the connection (`BrokerThread`); the scheduler's threads hand it requests
/// through `shared`.
public final class ClusterController: Service, RemoteExecutor, Sendable {
    private struct Pending: Sendable {
        var location: String
        var deadline: Double
        var completion: @Sendable (CheckResult?) -> Void
    }

    private struct Outgoing: Sendable {
        var id: String
        var location: String
        var body: String
        var expiresAt: Double
        var ttlMillis: Int
    }

    private struct Shared: Sendable {
        var outbox: [Outgoing] = []
        var pending: [String: Pending] = [:]
        /// Agents last heard of, by location, then name (monotonic seconds).
        var agents: [String: [String: Double]] = [:]
        var connectedSince: Double?
        var stats = Stats()
        /// Each remote check's options as JSON, written at its first request (the same every period).
        var optionsJSON: [String: String] = [:]
        /// Requests answered lately, so a second answer is known: the newest, then the ones
        /// before (the last 100,000 to 200,000).
        var answered: Set<String> = []
        var answeredBefore: Set<String> = []

        /// Notes an answer to `request`; `false` when it was answered before.
        mutating func firstAnswer(to request: String) -> Bool {
            guard !answeredBefore.contains(request), answered.insert(request).inserted else { return false }
            if answered.count >= 100_000 { (answeredBefore, answered) = (answered, []) }
            return true
        }
    }

    /// Counts since start.
    public struct Stats: Sendable, Equatable {
        public var requested = 0
        public var answered = 0
        /// No result within the wait: the request expired unrun, or the broker was away.
        public var expired = 0
        /// Returned by the broker: no queue for the location (no agent has ever run there).
        public var unroutable = 0
        /// Results for requests this controller no longer waited for (after the wait, or from
        /// before a restart): routed all the same, once.
        public var late = 0
        /// Second answers to a request (an agent's result sent again after a reconnect, while a
        /// sibling ran the redelivered request): dropped.
        public var duplicates = 0
        /// Runs still waiting for their result when the controller stopped.
        public var abandoned = 0
        /// Runs that were waiting when the connection to the broker was lost.
        public var interrupted = 0
    }

    /// Where results no run waits for go (`attach`).
    private struct Attachment: Sendable {
        var keys: Set<String> = []
        var route: (@Sendable (CheckResult) -> Void)?
    }

    private let settings: ClusterSettings
    private let attachment = Locked(Attachment())
    private let endpoint: AMQPEndpoint
    private let logger: Logger
    private let shared = Locked(Shared())
    private let broker = BrokerThread(name: "cluster-amqp")
    /// When the controller was made (monotonic seconds): its first connection is on its way.
    public let createdAt = MonotonicClock().seconds()

    /// A URI that cannot be used is a config error at the place it was written.
    public init(settings: ClusterSettings, logger: Logger) throws(ConfigDiagnostic) {
        do {
            endpoint = try AMQPEndpoint(uri: settings.uri)
        } catch {
            throw ConfigDiagnostic(.error, at: settings.location ?? SourceLocation(file: "config"), path: "settings.cluster.uri", "\(error)")
        }
        self.settings = settings
        var logger = logger
        logger[metadataKey: "controller"] = "\(settings.name)"
        self.logger = logger
    }

    /// `route` takes the results no run waits for any more (late ones, and those left in the
    /// result queue by an earlier run of the controller) of the checks `keys`
    /// (`type/label@location`). Call before `run()`.
    public func attach(keys: Set<String>, route: @escaping @Sendable (CheckResult) -> Void) {
        attachment.withLock { $0 = Attachment(keys: keys, route: route) }
    }

    public var stats: Stats { shared.withLock { $0.stats } }

    /// When the controller connected to the broker (monotonic seconds; `nil`: not connected now).
    public var connectedSince: Double? { shared.withLock { $0.connectedSince } }

    /// The agents of `location` and when each was last heard of (monotonic seconds).
    public func agents(in location: String) -> [String: Double] { shared.withLock { $0.agents[location] ?? [:] } }

    public func submit(_ scheduled: ScheduledCheck, dueMillis: UInt64, wait: Double, completion: @escaping @Sendable (CheckResult?) -> Void) {
        let config = scheduled.config
        guard config.isRemote, let location = config.location else { return completion(nil) }
        let key = config.key
        let written = shared.withLock { $0.optionsJSON[key] } ?? {
            var options = config.options.values
            // `locations` and `quorum` are the controller's: an agent runs one location.
            options["locations"] = nil
            options["quorum"] = nil
            let text = JSONValue.object(options).json()
            shared.withLock { $0.optionsJSON[key] = text }
            return text
        }()
        let request = RunRequest(
            check: config.type, label: config.label, optionsJSON: written, location: location, dueMillis: Int64(dueMillis), controller: settings.name)
        let body = request.json()
        let now = MonotonicClock().seconds()
        let ttl = max(1, Int((config.sleep * 1000).rounded()))
        let refused = shared.withLock { s -> Bool in
            // Read under the lock: `run()` completes what is pending once the flag is set.
            guard !broker.isStopping else { return true }
            s.stats.requested += 1
            s.pending[request.id] = Pending(location: location, deadline: now + wait, completion: completion)
            s.outbox.append(Outgoing(id: request.id, location: location, body: body, expiresAt: now + Double(ttl) / 1000, ttlMillis: ttl))
            return false
        }
        if refused { completion(nil) } else { broker.wake.signal() }
    }

    public func run() async throws {
        logger.info("cluster controller started", metadata: ["broker": "\(endpoint.display)"])
        try await broker.run(
            connect: { [self] () throws(AMQPConnection.Failure) in try connect() },
            serve: { [self] connection throws(AMQPConnection.Failure) in
                logger.notice("connected to the broker", metadata: ["broker": "\(endpoint.display)"])
                shared.withLock { $0.connectedSince = MonotonicClock().seconds() }
                try serve(connection)
            },
            lost: { [self] error, pause in
                logger.warning(
                    "broker connection lost; runs in other locations have no data until it is back",
                    metadata: ["broker": "\(endpoint.display)", "error": "\(error)", "retry_in": "\(pause)s"])
                shared.withLock { $0.connectedSince = nil }
                interrupt()
            },
            pausing: { [self] in expire(now: MonotonicClock().seconds()) })
        // Runs still waiting end without a result.
        let left = shared.withLock { s in
            defer { s.pending.removeAll() }
            s.stats.abandoned += s.pending.count
            return Array(s.pending.values)
        }
        for pending in left { pending.completion(nil) }
        let s = stats
        logger.info(
            "cluster controller stopped",
            metadata: [
                "requested": "\(s.requested)", "answered": "\(s.answered)", "expired": "\(s.expired)", "unroutable": "\(s.unroutable)",
                "late": "\(s.late)", "duplicates": "\(s.duplicates)", "abandoned": "\(s.abandoned)",
                "interrupted": "\(s.interrupted)",
            ])
    }

    private func connect() throws(AMQPConnection.Failure) -> AMQPConnection {
        let connection = try AMQPConnection(
            endpoint: endpoint, heartbeat: 10, timeout: 10, caFile: nil, verify: true, name: "healthmonitor controller \(settings.name)")
        try connection.declareExchange(ClusterTopology.requestExchange, type: "direct")
        try connection.declareExchange(ClusterTopology.resultExchange, type: "direct")
        try connection.declareQueue(ClusterTopology.resultQueue)
        try connection.bind(queue: ClusterTopology.resultQueue, exchange: ClusterTopology.resultExchange, routingKey: ClusterTopology.resultRoutingKey)
        try connection.declareExchange(ClusterTopology.heartbeatExchange, type: "fanout")
        let beats = try connection.declarePrivateQueue()
        try connection.bind(queue: beats, exchange: ClusterTopology.heartbeatExchange, routingKey: "")
        try connection.declareExchange(ClusterTopology.expiredExchange, type: "fanout")
        let expired = try connection.declarePrivateQueue()
        try connection.bind(queue: expired, exchange: ClusterTopology.expiredExchange, routingKey: "")
        try connection.confirmSelect()
        try connection.qos(prefetch: 512)
        try connection.consume(ClusterTopology.resultQueue)
        try connection.consume(beats)
        try connection.consume(expired)
        return connection
    }

    private func serve(_ connection: AMQPConnection) throws(AMQPConnection.Failure) {
        var lastSweep = 0.0
        var unroutableLogged: Set<String> = []
        while true {
            let now = MonotonicClock().seconds()
            if broker.isStopping { return }
            let outgoing = shared.withLock { s in
                defer { s.outbox.removeAll() }
                return s.outbox
            }
            for request in outgoing {
                guard request.expiresAt > now else {
                    // Its period is over before it could be sent (the broker was away): no data.
                    expire(request.id)
                    continue
                }
                try connection.publish(
                    exchange: ClusterTopology.requestExchange, routingKey: request.location, body: request.body, messageID: request.id,
                    timestamp: WallClock.nowMillis() / 1000, options: .init(persistent: false, mandatory: true, expirationMillis: request.ttlMillis))
            }
            if now - lastSweep >= 0.1 {
                expire(now: now)
                lastSweep = now
            }
            // At most 0.1 s asleep: the sweep of runs waiting past their deadline.
            guard let event = try connection.nextEvent(waiting: 0.1, orWake: broker.wake) else {
                connection.releaseBuffers()
                continue
            }
            switch event {
            case .delivery(let delivery):
                switch delivery.routingKey {
                case ClusterTopology.resultRoutingKey: answer(delivery)
                case ClusterTopology.expiredRoutingKey:
                    // No agent took it within its period: no data, now rather than at the wait's end.
                    if let request = try? RunRequest(json: delivery.body) { expire(request.id) }
                default: heard(delivery, at: now)
                }
                try connection.ack(delivery.tag)
            case .returned(let id, _, _):
                // No queue for the location: nothing can run it. No data, at once.
                guard let id, let pending = shared.withLock({ s -> Pending? in
                    guard let p = s.pending.removeValue(forKey: id) else { return nil }
                    s.stats.unroutable += 1
                    return p
                }) else { break }
                if unroutableLogged.insert(pending.location).inserted {
                    logger.error(
                        "no agent has ever served this location (no queue for it): its checks have no data",
                        metadata: ["location": "\(pending.location)", "queue": "\(ClusterTopology.requestQueue(pending.location))"])
                }
                pending.completion(nil)
            case .ack, .nack, .blocked, .unblocked, .other:
                // A nacked request is not sent again: its run expires ("no data") and the next
                // period asks anew.
                break
            }
        }
    }

    /// Completes the run an agent's result answers.
    private func answer(_ delivery: AMQPConnection.Delivery) {
        let object = (try? JSONValue.parse(String(decoding: delivery.body, as: UTF8.self)))?.objectValue
        guard let object, let result = try? CheckResult(spoolObject: object), let request = object["request"]?.stringValue else {
            logger.error("dropped a message on the result queue that is not a result", metadata: ["message_id": "\(delivery.messageID ?? "none")"])
            return
        }
        enum Answer { case awaited(Pending), late, duplicate, foreign }
        let (keys, route) = attachment.withLock { ($0.keys, $0.route) }
        let known = keys.contains(result.key) && route != nil
        let answer = shared.withLock { s -> Answer in
            guard s.firstAnswer(to: request) else {
                s.stats.duplicates += 1
                return .duplicate
            }
            if let p = s.pending.removeValue(forKey: request) {
                s.stats.answered += 1
                return .awaited(p)
            }
            guard known else { return .foreign }
            s.stats.late += 1
            return .late
        }
        switch answer {
        case .awaited(let pending): pending.completion(result)
        case .late: route?(result)
        case .duplicate: logger.debug("a second answer to a request; dropped", metadata: ["check": "\(result.key)", "request": "\(request)"])
        case .foreign: logger.warning("a result of a check this controller does not have; dropped", metadata: ["check": "\(result.key)"])
        }
    }

    /// Notes an agent's heartbeat.
    private func heard(_ delivery: AMQPConnection.Delivery, at now: Double) {
        guard let beat = (try? JSONValue.parse(String(decoding: delivery.body, as: UTF8.self)))?.objectValue,
            let agent = beat["agent"]?.stringValue, let location = beat["location"]?.stringValue
        else { return }
        let first = shared.withLock { s in
            defer { s.agents[location, default: [:]][agent] = now }
            return s.agents[location]?[agent] == nil
        }
        if first { logger.info("agent joined", metadata: ["agent": "\(agent)", "location": "\(location)"]) }
    }

    /// Ends the run of request `id` without a result, if it still waits.
    private func expire(_ id: String) {
        let pending = shared.withLock { s -> Pending? in
            guard let p = s.pending.removeValue(forKey: id) else { return nil }
            s.stats.expired += 1
            return p
        }
        pending?.completion(nil)
    }

    /// Ends every waiting run without a result when the connection is lost: their requests may
    /// be gone (transient messages do not survive a broker restart), and the next periods ask
    /// anew. An answer that comes later all the same is routed as late, not lost.
    private func interrupt() {
        let waiting = shared.withLock { s in
            defer {
                s.pending.removeAll()
                s.outbox.removeAll()
            }
            s.stats.interrupted += s.pending.count
            return Array(s.pending.values)
        }
        for pending in waiting { pending.completion(nil) }
    }

    /// Ends the runs whose wait is over without a result.
    private func expire(now: Double) {
        let expired = shared.withLock { s -> [Pending] in
            let ids = s.pending.filter { $0.value.deadline <= now }.map(\.key)
            s.stats.expired += ids.count
            return ids.compactMap { s.pending.removeValue(forKey: $0) }
        }
        for pending in expired { pending.completion(nil) }
    }
}
