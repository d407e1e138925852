import Monitor

/// `agents/LOCATION`: the controller's built-in check that a location has live agents (one heard
/// of within `AgentsCheck.liveWithin`, three heartbeat intervals). It fails when none is, so the
/// notifiers' policies alert on it and report its recovery like any check's; its history is the
/// location's coverage. `healthmonitor run` adds one per location its checks use (`ClusterWiring`).
///
/// Right after the controller connects no heartbeat may have come yet: a run then waits for one,
/// up to `liveWithin` after the connection, before it says there is none; and right after the
/// controller started, for its first connection, up to `firstConnectionWithin`.
public struct AgentsCheck: Check {
    /// An agent heard of within this many seconds is live.
    public static let liveWithin = 15.0
    /// How often the check runs.
    public static let period = 10.0
    /// A run waits this long after the controller started for its first connection to the
    /// broker before it says the controller is not connected.
    public static let firstConnectionWithin = 5.0

    let controller: ClusterController
    let location: String

    public static func kind(_ controller: ClusterController) -> CheckKind {
        CheckKind(
            name: "agents",
            options: [OptionSpec("timeout", .duration(minimum: 1), default: .double(liveWithin + 5), help: "seconds a run may wait for a first heartbeat")],
            make: { context in AgentsCheck(controller: controller, location: context.label) })
    }

    /// The config of `location`'s check.
    public static func config(location: String) -> CheckConfig {
        let options = Options(["sleep": .double(period), "timeout": .double(liveWithin + 5)], path: "checks.agents.\(location)")
        return CheckConfig(type: "agents", label: location, sleep: period, options: options, maskedConfig: options.layers)
    }

    public func start() -> CheckStart {
        if let outcome = verdict(waiting: false) { return .finished(outcome) }
        return .pending(run)
    }

    public func run() async -> CheckOutcome {
        while true {
            if let outcome = verdict(waiting: true) { return outcome }
            do { try await Task.sleep(for: .milliseconds(200)) } catch { return .failure("cancelled while waiting for a heartbeat") }
        }
    }

    /// The outcome now, or `nil` while it is too early to say there is no agent.
    func verdict(waiting: Bool) -> CheckOutcome? {
        let now = MonotonicClock().seconds()
        let agents = controller.agents(in: location)
        let live = agents.filter { now - $0.value <= Self.liveWithin }.keys.sorted()
        if !live.isEmpty {
            return .success("\(live.count) live agent\(live.count == 1 ? "" : "s") in \(location): \(live.joined(separator: ", "))", ["agents": .int(live.count)])
        }
        guard let since = controller.connectedSince else {
            // Just started: the first connection is on its way (the first runs start at once).
            if now - controller.createdAt < Self.firstConnectionWithin { return nil }
            return .failure("no live agent in \(location): the controller is not connected to the broker", ["agents": 0])
        }
        if now - since < Self.liveWithin { return nil }
        let last = agents.max { $0.value < $1.value }
        let heard = last.map { "last heard: \($0.key), \(Int(now - $0.value)) s ago" } ?? "none heard since the controller connected"
        return .failure("no live agent in \(location) (\(heard))", ["agents": 0])
    }
}
