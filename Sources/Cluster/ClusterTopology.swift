import Monitor

/// The names the controller and its agents meet under on the broker (see the README's
/// "Distributed checks").
///
/// - Run requests: the direct exchange `healthmonitor.requests`, routing key = location, into
///   the durable work queue `healthmonitor.requests.LOCATION` that the location's agents share
///   (competing consumers).
/// - Results: the direct exchange `healthmonitor.results`, routing key `result`, into the durable
///   queue `healthmonitor.results` that controllers consume.
/// - Heartbeats: the fanout exchange `healthmonitor.agents`.
/// - Expired requests: dead-lettered to the fanout exchange `healthmonitor.expired`.
public enum ClusterTopology {
    public static let requestExchange = "healthmonitor.requests"
    public static let resultExchange = "healthmonitor.results"
    public static let resultQueue = "healthmonitor.results"
    public static let resultRoutingKey = "result"
    public static let heartbeatExchange = "healthmonitor.agents"
    /// Requests that expired unrun in a work queue are dead-lettered here (fanout), with the
    /// routing key `expired`: the controller ends their runs at once, without data.
    public static let expiredExchange = "healthmonitor.expired"
    public static let expiredRoutingKey = "expired"

    /// The arguments every work queue is declared with (the same everywhere: a queue declared
    /// with others is refused).
    public static let requestQueueArguments: [(key: String, value: String)] = [
        ("x-dead-letter-exchange", expiredExchange), ("x-dead-letter-routing-key", expiredRoutingKey),
    ]

    /// The work queue of `location`.
    public static func requestQueue(_ location: String) -> String { "\(requestExchange).\(location)" }
}
