/// The checks with a `quorum:`: each location's result is recorded under its own key
/// (`type/label@location`), and the check as a whole (`type/label`) gets a result of its own
/// after each of them: down while at least `quorum` of its locations fail (their latest
/// results), up otherwise. Only that overall result goes to the notifiers, so one probe's broken
/// network pages nobody; the history keeps both, so reports show every location and the whole.
public final class QuorumBook: Sendable {
    struct Group: Sendable {
        var type: String
        var label: String
        var quorum: Int
        /// Member keys, in config order.
        var members: [String]
        var locations: [String]
    }

    /// Group (overall key) of each member key.
    private let groupOf: [String: String]
    private let groups: [String: Group]
    private let latest = Locked<[String: (status: Status, message: String)]>([:])

    /// `nil` when no check has a quorum.
    public init?(checks: [CheckConfig]) {
        var groups: [String: Group] = [:]
        var groupOf: [String: String] = [:]
        for check in checks {
            guard let quorum = check.quorum else { continue }
            let overall = CheckConfig.key(type: check.type, label: check.label, location: nil)
            groups[overall, default: Group(type: check.type, label: check.label, quorum: quorum, members: [], locations: [])].members.append(check.key)
            groups[overall]?.locations.append(check.location ?? CheckConfig.localLocation)
            groupOf[check.key] = overall
        }
        guard !groups.isEmpty else { return nil }
        self.groups = groups
        self.groupOf = groupOf
    }

    /// The configs of the checks as a whole (never scheduled: what the history, the live status
    /// and the metrics know them by).
    public static func overallConfigs(of checks: [CheckConfig]) -> [CheckConfig] {
        var seen: Set<String> = []
        return checks.compactMap { check in
            guard check.quorum != nil, seen.insert(check.type + "/" + check.label).inserted else { return nil }
            var overall = check
            overall.location = nil
            return overall
        }
    }

    /// Whether `key` is a location's key of a check with a quorum (not sent to the notifiers).
    public func isMember(_ key: String) -> Bool { groupOf[key] != nil }

    /// The overall result after `result` of the member `key`, or `nil` when `key` is no member.
    public func overall(after result: CheckResult, key: String, host: String) -> CheckResult? {
        guard let groupKey = groupOf[key], let group = groups[groupKey] else { return nil }
        let states = latest.withLock { latest in
            latest[key] = (result.status, result.message)
            return group.members.map { latest[$0] }
        }
        let failing = zip(group.locations, states).filter { $0.1?.status == .failure }
        let down = failing.count >= group.quorum
        let heard = states.compactMap { $0 }.count
        var message: String
        if failing.isEmpty {
            message = "up in \(heard) of \(group.locations.count) locations"
        } else {
            message = "failing in \(failing.count) of \(group.locations.count) locations (\(failing.map(\.0).joined(separator: ", "))); quorum \(group.quorum)"
            if down, let first = failing.first?.1 { message += ": " + first.message }
        }
        return CheckResult(
            id: ResultID.next(millis: UInt64(max(0, result.createdMillis))), status: down ? .failure : .success, check: group.type,
            label: group.label, message: message,
            measurement: ["failing": .int(failing.count), "locations": .int(group.locations.count), "quorum": .int(group.quorum)],
            createdMillis: result.createdMillis, elapsed: result.elapsed, config: result.layeredConfig, host: host)
    }
}
