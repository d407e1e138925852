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
