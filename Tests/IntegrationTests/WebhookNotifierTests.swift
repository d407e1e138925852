import Foundation
import Logging
import Testing

@testable import Monitor
@testable import Notifiers

/// Slack and Teams notifiers against a local HTTP server that records every request: payloads
/// field by field, retries on 500 and 429 (Retry-After), none on 400, no webhook in the logs.
@Suite struct WebhookNotifierTests {
    static let fast = HTTPRetryPolicy(maxAttempts: 4, initialDelay: 0.05, maxDelay: 0.2)

    static func result(_ n: Int = 1, status: Status = .failure) -> CheckResult {
        CheckResult(
            status: status, check: "download", label: "site\(n)", message: "Failed to download the file: HTTP 404 from example.org (expected 2xx)",
            measurement: ["bytes": 12, "status": 404], createdMillis: 1_795_000_000_000 + Int64(n), elapsed: 0.1,
            config: ["url": "https://example.org/x", "headers": ["Authorization": "********"]], host: "mon1")
    }

    static func deliveries(_ count: Int) -> [Delivery] {
        (1...count).map { Delivery(result: result($0), reason: .failure) }
    }

    static func bodies(_ server: LocalHTTPServer, _ path: String) async throws -> [[String: Any]] {
        try await HTTPClientRetryTests.recorded(server, path).map { record in
            let body = record["body"] as? String ?? ""
            return try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] ?? [:]
        }
    }

    // MARK: Slack

    @Test func slackPostsOneAttachmentPerResult() async throws {
        try await LocalHTTPServer.with { server in
            let path = "/hook/ok/T0/B0/SLACKSECRET1"
            let logs = LogRecorder()
            let slack = SlackNotifier(
                webhook: server.base + path, channel: "#ops", user: "healthmonitor", tags: ["env": "prod", "team": "infra"],
                retry: Self.fast, logger: logs.logger())
            var ok = Self.result(2, status: .success)
            ok.message = "Finished download 12 bytes in 0.001 seconds (96 Mbit/s, HTTP 200)"
            try await slack.send([Delivery(result: Self.result(1), reason: .failure), Delivery(result: ok, reason: .recovery)])

            let records = try await HTTPClientRetryTests.recorded(server, path)
            #expect(records.count == 1)
            #expect(records.first?["method"] as? String == "POST")
            #expect((records.first?["headers"] as? [String: String])?["Content-Type"] == "application/json")
            let body = try #require(try await Self.bodies(server, path).first)
            #expect(body["channel"] as? String == "#ops")
            #expect(body["username"] as? String == "healthmonitor")
            let attachments = try #require(body["attachments"] as? [[String: Any]])
            #expect(attachments.count == 2)
            let red = attachments[0]
            #expect(red["color"] as? String == "danger")
            #expect(red["pretext"] as? String == "Failed to download the file: HTTP 404 from example.org (expected 2xx)")
            #expect(red["ts"] as? Int == 1_795_000_000)
            let text = try #require(red["text"] as? String)
            #expect(text.hasPrefix("```\nLabel           : site1\nCheck           : download\nStatus          : failure\n"))
            #expect(text.contains("- headers       : {\"Authorization\":\"********\"}\n"))
            #expect(text.contains("- url           : https://example.org/x\n"))
            #expect(text.hasSuffix("```"))
            #expect((red["fallback"] as? String)?.contains("Tags\n- env           : prod\n- team          : infra\n") == true)
            let fields = try #require(red["fields"] as? [[String: Any]])
            #expect(fields.map { $0["title"] as? String } == ["env", "team"])
            #expect(fields.map { $0["value"] as? String } == ["prod", "infra"])
            #expect(fields.allSatisfy { $0["short"] as? Bool == false })
            let green = attachments[1]
            #expect(green["color"] as? String == "good")
            #expect(green["pretext"] as? String == "Finished download 12 bytes in 0.001 seconds (96 Mbit/s, HTTP 200) (recovered)")
            #expect(!logs.text.contains("SLACKSECRET1"))
        }
    }

    @Test func slackRetriesServerErrors() async throws {
        try await LocalHTTPServer.with { server in
            let path = "/hook/fail500x2/T0/B0/SLACKSECRET2"
            let logs = LogRecorder()
            let slack = SlackNotifier(webhook: server.base + path, retry: Self.fast, logger: logs.logger())
            try await slack.send(Self.deliveries(1))
            let bodies = try await Self.bodies(server, path)
            #expect(bodies.count == 3)
            #expect((bodies.last?["attachments"] as? [Any])?.count == 1)
            #expect(logs.all.filter { $0.contains("will retry") }.count == 2)
            #expect(logs.text.contains("slack webhook") && logs.text.contains("HTTP 500"))
            #expect(!logs.text.contains("SLACKSECRET2"))
        }
    }

    @Test func slackHonoursRetryAfterOn429() async throws {
        try await LocalHTTPServer.with { server in
            let path = "/hook/throttle1/T0/B0/SLACKSECRET3"
            let slack = SlackNotifier(webhook: server.base + path + "?ra=1", retry: Self.fast, logger: LogRecorder().logger())
            try await slack.send(Self.deliveries(1))
            let times = try await HTTPClientRetryTests.recorded(server, path).map { $0["time"] as! Double }
            #expect(times.count == 2)
            #expect(times[1] - times[0] >= 0.95)  // Retry-After: 1, not the 0.05 s backoff
        }
    }

    @Test func slackDoesNotRetry400AndTheCoreGivesUpAtOnce() async throws {
        try await LocalHTTPServer.with { server in
            let path = "/hook/bad/T0/B0/SLACKSECRET4"
            let logs = LogRecorder()
            let slack = SlackNotifier(webhook: server.base + path, retry: Self.fast, logger: logs.logger())
            // Through the real delivery loop with `retries: 3`: a 400 must not be retried there either.
            let channel = Self.channel(for: slack, logger: logs.logger())
            await DeliveryService(channel: channel, shutdownTimeout: 1, retryDelay: 0.01).deliver(Self.deliveries(2))
            #expect(channel.stats.failed == 2)
            #expect(channel.stats.delivered == 0)
            let records = try await HTTPClientRetryTests.recorded(server, path)
            #expect(records.count == 1)
            #expect(logs.text.contains("invalid_payload"))
            #expect(logs.text.contains("rejected"))
            #expect(!logs.text.contains("SLACKSECRET4"))
        }
    }

    @Test func slackRetriedBatchDoesNotRepostWhatWentOut() async throws {
        try await LocalHTTPServer.with { server in
            let path = "/hook/failnth2/T0/B0/SLACKSECRET5"
            let slack = SlackNotifier(webhook: server.base + path, retry: .never, logger: LogRecorder().logger())
            let batch = Self.deliveries(25)  // two messages: 20 + 5 attachments
            do {
                try await slack.send(batch)
                Issue.record("the second message's 500 was not reported")
            } catch {}
            try await slack.send(batch)  // what the delivery loop does next
            let counts = try await Self.bodies(server, path).map { ($0["attachments"] as? [Any])?.count ?? 0 }
            #expect(counts == [20, 5, 5])
            #expect(slack.poster.rememberedCount == 0)
        }
    }

    /// A batch the delivery loop gave up on is forgotten when the next one comes: what the
    /// poster remembers stays bounded by one batch.
    @Test func aBatchGivenUpOnIsForgotten() async throws {
        try await LocalHTTPServer.with { server in
            let slack = SlackNotifier(webhook: server.base + "/hook/failnth2/T0/B0/SLACKSECRET6", retry: .never, logger: LogRecorder().logger())
            do {
                try await slack.send(Self.deliveries(25))  // the second message (request 2) fails
                Issue.record("the second message's 500 was not reported")
            } catch {}
            #expect(slack.poster.rememberedCount == 20)
            // The delivery loop gave up on it; the next batch (other results) goes out whole.
            let next = (26...30).map { Delivery(result: Self.result($0), reason: .failure) }
            try await slack.send(next)
            #expect(slack.poster.rememberedCount == 0, "the abandoned batch's ids are still held")
        }
    }

    // MARK: Teams

    @Test func teamsPostsAnAdaptiveCardPerResult() async throws {
        try await LocalHTTPServer.with { server in
            let path = "/hook/ok/workflows/TEAMSSECRET1"
            let logs = LogRecorder()
            let teams = MSTeamsNotifier(webhook: server.base + path + "?sig=SIG", retry: Self.fast, logger: logs.logger())
            try await teams.send(Self.deliveries(2))
            let bodies = try await Self.bodies(server, path)
            #expect(bodies.count == 2)
            let message = try #require(bodies.first)
            #expect(message["type"] as? String == "message")
            let attachment = try #require((message["attachments"] as? [[String: Any]])?.first)
            #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
            let card = try #require(attachment["content"] as? [String: Any])
            #expect(card["type"] as? String == "AdaptiveCard")
            #expect(card["version"] as? String == "1.4")
            let body = try #require(card["body"] as? [[String: Any]])
            #expect(body[0]["style"] as? String == "attention")
            let title = try #require((body[0]["items"] as? [[String: Any]])?.first)
            #expect(title["text"] as? String == "healthmonitor: download/site1 failure")
            #expect(body[1]["text"] as? String == "Failed to download the file: HTTP 404 from example.org (expected 2xx)")
            let facts = try #require(body[2]["facts"] as? [[String: String]])
            #expect(facts.map { $0["title"]! } == ["Check", "Label", "Status", "Message", "Time", "Host", "bytes", "status"])
            #expect(facts[1]["value"] == "site1")
            #expect(facts[7]["value"] == "404")
            #expect(!logs.text.contains("TEAMSSECRET1") && !logs.text.contains("SIG"))
        }
    }

    @Test func teamsPostsALegacyMessageCard() async throws {
        try await LocalHTTPServer.with { server in
            let path = "/hook/ok/connector/TEAMSSECRET2"
            let teams = MSTeamsNotifier(webhook: server.base + path, format: .messageCard, retry: Self.fast, logger: LogRecorder().logger())
            try await teams.send(Self.deliveries(1))
            let card = try #require(try await Self.bodies(server, path).first)
            #expect(card["@type"] as? String == "MessageCard")
            #expect(card["themeColor"] as? String == "E01E5A")
            #expect(card["title"] as? String == "healthmonitor: download/site1 failure")
            let section = try #require((card["sections"] as? [[String: Any]])?.first)
            let facts = try #require(section["facts"] as? [[String: String]])
            #expect(facts.first == ["name": "Check", "value": "download"])
            #expect(facts.count == 8)
        }
    }

    @Test func teamsRetries429And500ButNot400() async throws {
        try await LocalHTTPServer.with { server in
            let logs = LogRecorder()
            let throttled = MSTeamsNotifier(webhook: server.base + "/hook/throttle1/TEAMSSECRET3?ra=1", retry: Self.fast, logger: logs.logger())
            try await throttled.send(Self.deliveries(1))
            let times = try await HTTPClientRetryTests.recorded(server, "/hook/throttle1/TEAMSSECRET3").map { $0["time"] as! Double }
            #expect(times.count == 2 && times[1] - times[0] >= 0.95)

            let failing = MSTeamsNotifier(webhook: server.base + "/hook/fail500x1/TEAMSSECRET3", retry: Self.fast, logger: logs.logger())
            try await failing.send(Self.deliveries(1))
            #expect(try await HTTPClientRetryTests.recorded(server, "/hook/fail500x1/TEAMSSECRET3").count == 2)

            let rejected = MSTeamsNotifier(webhook: server.base + "/hook/bad/TEAMSSECRET3", retry: Self.fast, logger: logs.logger())
            do {
                try await rejected.send(Self.deliveries(1))
                Issue.record("a 400 counted as delivered")
            } catch let error as HTTPError {
                #expect(error.isPermanent)
                #expect(error.kind == .status(400))
            }
            #expect(try await HTTPClientRetryTests.recorded(server, "/hook/bad/TEAMSSECRET3").count == 1)
            #expect(!logs.text.contains("TEAMSSECRET3"))
        }
    }

    /// A channel around `notifier` with the core's defaults (`retries: 3`), report always.
    static func channel(for notifier: any Notifier, logger: Logger) -> NotifierChannel {
        let config = NotifierConfig(
            name: "hooks", type: "slack", report: .always, threshold: 1, resolved: false, repeatInterval: nil,
            queueSize: 100, overflow: .dropOldest, retries: 3, batchSize: 100, options: Options([:]))
        return NotifierChannel(
            config: config, notifier: notifier, policies: PolicyBook(basePolicy: ReportPolicy(mode: .always, threshold: 1), file: nil),
            logger: logger)
    }
}
