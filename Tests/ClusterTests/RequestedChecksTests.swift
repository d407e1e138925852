import Cluster
import Logging
import Monitor
import Testing

@Suite struct RequestedChecksTests {
    private let checks = RequestedChecks(logger: Logger(label: "test"))

    private func request(_ check: String, _ options: [String: JSONValue]) -> RunRequest {
        RunRequest(check: check, label: "probe", options: options, location: "eu", dueMillis: 0, controller: "test")
    }

    /// A request runs the check as `run` would: the same result fields, the masked config.
    @Test func aRequestRunsItsCheck() async throws {
        let result = try #require(await checks.run(request("random", ["mark": 0, "sleep": 1])))
        #expect(result.status == .success)
        #expect(result.check == "random" && result.label == "probe")
        #expect(result.host == HostName.current)
    }

    /// A request begun names its check's config as JSON, written once per built check: the
    /// result's `config` as `CheckResult.json` would write it. A refused request has none.
    @Test func aBegunRequestCarriesItsConfigAsJSON() async throws {
        let started = checks.begin(request("random", ["mark": 0, "sleep": 1]))
        let result: CheckResult? = switch started.run {
        case .finished(let result): result
        case .running(let rest): await rest()
        }
        let config = try #require(result?.config)
        #expect(config["mark"]?.doubleValue == 0)
        #expect(started.configJSON == JSONValue.object(config).json())
        #expect(checks.begin(request("smtp", ["host": "x"])).configJSON == nil)
    }

    /// A check is built again when its options change: the cache compares their text.
    @Test func changedOptionsBuildTheCheckAgain() async throws {
        let first = try #require(await checks.run(request("random", ["mark": 0, "sleep": 1])))
        let second = try #require(await checks.run(request("random", ["mark": 1, "sleep": 1])))
        #expect(first.config["mark"]?.doubleValue == 0)
        #expect(second.config["mark"]?.doubleValue == 1)
    }

    /// An unknown check type or invalid options end as a failure result that says why.
    @Test func anUnknownTypeOrBadOptionsFailSayingWhy() async throws {
        let unknown = try #require(await checks.run(request("smtp", ["host": "x"])))
        #expect(unknown.status == .failure)
        #expect(unknown.message.hasPrefix("this agent does not know the check type \"smtp\" (it knows "))
        #expect(unknown.message.contains("hostport"))
        let bad = try #require(await checks.run(request("hostport", ["host": "127.0.0.1", "port": "nine"])))
        #expect(bad.status == .failure)
        #expect(bad.message.contains("invalid run request"), "\(bad.message)")
        #expect(bad.message.contains("expected an integer from 1 to 65535"), "\(bad.message)")
    }
}
