import Logging
import Monitor
import Testing

@Suite struct QuorumBookTests {
    private static let yaml = """
        settings: {cluster: {uri: "amqp://guest:guest@127.0.0.1:5672/%2F"}}
        checks:
          hostport:
            web: {host: h, port: 80, locations: [local, eu, us], quorum: 2}
            solo: {host: h, port: 81, locations: [local, eu]}
        notifiers:
          console: {report: always}
        """

    /// With a quorum, every location (`local` too) has its own key; without one the local run
    /// keeps the plain key.
    @Test func aQuorumGivesEveryLocationItsKey() throws {
        let config = try load(Self.yaml)
        #expect(config.checks.map(\.key) == ["hostport/web@local", "hostport/web@eu", "hostport/web@us", "hostport/solo", "hostport/solo@eu"])
        #expect(config.checks.map(\.isRemote) == [false, true, true, false, true])
        #expect(QuorumBook.overallConfigs(of: config.checks).map(\.key) == ["hostport/web"])
    }

    /// The quorum table: the check as a whole is down only while at least `quorum` of its
    /// locations fail (their latest results; a location not heard from does not fail).
    /// Latest statuses of local, eu and us (`nil`: no result yet), and whether the check as a
    /// whole is down with quorum 2.
    static let table: [([Status?], Bool)] = [
        ([.failure, nil, nil], false),
        ([.failure, .success, .success], false),
        ([.failure, .failure, .success], true),
        ([.failure, .failure, .failure], true),
        ([.success, .failure, .failure], true),
        ([.success, .success, .failure], false),
        ([nil, .failure, .failure], true),
    ]

    @Test(arguments: table)
    func theQuorumTable(statuses: [Status?], down: Bool) throws {
        let config = try load(Self.yaml)
        let book = try #require(QuorumBook(checks: config.checks))
        var last: CheckResult?
        for (location, status) in zip(["local", "eu", "us"], statuses) {
            guard let status else { continue }
            var result = CheckResult(status: status, check: "hostport", label: "web", message: "\(location) says \(status.rawValue)")
            result.location = location
            last = book.overall(after: result, key: result.key, host: "ctl")
        }
        let overall = try #require(last)
        #expect(overall.key == "hostport/web")
        #expect(overall.status == (down ? .failure : .success), "\(overall.message)")
        let failing = statuses.filter { $0 == .failure }.count
        #expect(overall.measurement["failing"] == .int(failing))
        #expect(overall.measurement["quorum"] == 2 && overall.measurement["locations"] == 3)
        if down { #expect(overall.message.contains("; quorum 2: ") && overall.message.contains(" says failure")) }
        #expect(book.isMember("hostport/web@eu") && !book.isMember("hostport/web") && !book.isMember("hostport/solo@eu"))
    }

    /// The router shows the notifiers the check as a whole and never a location's result of a
    /// check with a quorum, and records both (the live status here).
    @Test func theNotifiersSeeTheWholeCheck() throws {
        let config = try load(Self.yaml)
        let policies = PolicyBook(basePolicy: ReportPolicy(mode: .failure, threshold: 1), file: nil)
        let channel = NotifierChannel(
            config: NotifierConfig(name: "rec", type: "rec", report: .failure), notifier: RecordingNotifier(), policies: policies,
            logger: Logger(label: "test"))
        let live = LiveStatus(checks: config.checks + QuorumBook.overallConfigs(of: config.checks))
        let router = ResultRouter(channels: [channel], logger: Logger(label: "test"), live: live, quorum: QuorumBook(checks: config.checks))
        for location in ["local", "eu"] {
            var result = CheckResult(status: .failure, check: "hostport", label: "web", message: "down")
            result.location = location
            router.route(result)
        }
        var solo = CheckResult(status: .failure, check: "hostport", label: "solo", message: "down")
        solo.location = "eu"
        router.route(solo)
        // The policy saw the whole check twice (up with one location failing, then down) and the
        // check without a quorum's location as it is.
        #expect(policies.state(for: "hostport/web")?.streakStatus == .failure)
        #expect(policies.state(for: "hostport/web")?.streakLength == 1)
        #expect(policies.state(for: "hostport/web@local") == nil && policies.state(for: "hostport/web@eu") == nil)
        #expect(policies.state(for: "hostport/solo@eu")?.streakStatus == .failure)
        #expect(live.state("hostport/web@eu")?.status == .failure)
        #expect(live.state("hostport/web@local")?.status == .failure)
        #expect(live.state("hostport/web")?.status == .failure)
        #expect(router.resultCount == 3)
    }

    /// A quorum needs two locations or more, and at most as many as there are.
    @Test func aQuorumBeyondTheLocationsIsAnError() {
        let found = errors(
            """
            settings: {cluster: {uri: "amqp://guest:guest@127.0.0.1:5672/%2F"}}
            checks:
              hostport:
                two: {host: h, port: 80, locations: [local, eu], quorum: 3}
                one: {host: h, port: 80, quorum: 1}
            notifiers:
              console: {}
            """)
        #expect(found.map(\.path) == ["checks.hostport.two.quorum", "checks.hostport.one.quorum"])
        #expect(found.first?.message == "found 3, expected a number from 1 to the number of locations (2); a quorum needs two locations or more")
        #expect(found.first?.location.line == 4)
    }
}
