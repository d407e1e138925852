import Foundation
import Testing

@testable import Monitor

/// `HTTPClient.send(_:retry:logger:)` against a local server that fails on purpose.
@Suite struct HTTPClientRetryTests {
    let client = HTTPClient.shared
    let fast = HTTPRetryPolicy(maxAttempts: 4, initialDelay: 0.05, maxDelay: 0.2)

    @Test func retriesServerErrorsUntilSuccess() async throws {
        try await LocalHTTPServer.with { server in
            let logs = LogRecorder()
            let url = server.base + "/hook/fail500x2/SECRET1"
            let response = try await client.send(.postJSON("{}", to: url), retry: fast, logger: logs.logger(), what: "test hook")
            #expect(response.status == 200)
            #expect(try await Self.recorded(server, "/hook/fail500x2/SECRET1").count == 3)
            #expect(logs.all.filter { $0.contains("will retry") }.count == 2)
            #expect(logs.text.contains("HTTP 500"))
            #expect(!logs.text.contains("SECRET1"))
        }
    }

    @Test func honoursRetryAfterSecondsOn429() async throws {
        try await LocalHTTPServer.with { server in
            let url = server.base + "/hook/throttle1/SECRET2?ra=1"
            let response = try await client.send(.postJSON("{}", to: url), retry: fast, logger: LogRecorder().logger())
            #expect(response.status == 200)
            let times = try await Self.recorded(server, "/hook/throttle1/SECRET2").map { $0["time"] as! Double }
            #expect(times.count == 2)
            #expect(times[1] - times[0] >= 0.95)
        }
    }

    @Test func honoursRetryAfterDateOn429() async throws {
        try await LocalHTTPServer.with { server in
            let url = server.base + "/hook/throttledate/SECRET3"
            let response = try await client.send(.postJSON("{}", to: url), retry: fast, logger: LogRecorder().logger())
            #expect(response.status == 200)
            let times = try await Self.recorded(server, "/hook/throttledate/SECRET3").map { $0["time"] as! Double }
            #expect(times.count == 2)
            // The date is 2 s ahead at whole-second resolution: at least ~1 s later.
            #expect(times[1] - times[0] >= 0.9)
        }
    }

    @Test func neverRetriesOther4xxAndLogsTheBody() async throws {
        try await LocalHTTPServer.with { server in
            let logs = LogRecorder()
            let url = server.base + "/hook/bad/SECRET4"
            do throws(HTTPError) {
                _ = try await client.send(.postJSON("{}", to: url), retry: fast, logger: logs.logger(), what: "test hook")
                Issue.record("a 400 counted as delivered")
            } catch {
                #expect(error.kind == .status(400))
                #expect(error.isPermanent)
                #expect(error.description == "POST 127.0.0.1: HTTP 400: invalid_payload")
            }
            let requests = try await Self.recorded(server, "/hook/bad/SECRET4")
            #expect(requests.count == 1)
            #expect(logs.all.count == 1)
            #expect(logs.text.contains("rejected") && logs.text.contains("invalid_payload"))
            #expect(!logs.text.contains("SECRET4"))
        }
    }

    @Test func givesUpAfterMaxAttemptsWithTheLastError() async throws {
        try await LocalHTTPServer.with { server in
            let policy = HTTPRetryPolicy(maxAttempts: 2, initialDelay: 0.01, maxDelay: 0.01)
            do throws(HTTPError) {
                _ = try await client.send(
                    .postJSON("{}", to: server.base + "/hook/fail500x9/s"), retry: policy, logger: LogRecorder().logger())
                Issue.record("succeeded against a failing server")
            } catch {
                #expect(error.kind == .status(500))
                #expect(!error.isPermanent)
            }
            let requests = try await Self.recorded(server, "/hook/fail500x9/s")
            #expect(requests.count == 2)
        }
    }

    /// The requests the server recorded under `prefix`, as JSON objects.
    static func recorded(_ server: LocalHTTPServer, _ prefix: String) async throws -> [[String: Any]] {
        let response = try await HTTPClient.shared.execute(
            HTTPRequest(url: server.base + "/_requests?prefix=" + prefix, responseBody: .collect(limit: 16 << 20)))
        let json = try JSONSerialization.jsonObject(with: Data(response.body))
        return json as? [[String: Any]] ?? []
    }
}
