import Foundation
import Logging
import Monitor
import Testing

@testable import Notifiers

@Suite struct SlackNotifierTests {
    static let result = CheckResult(
        id: "01J-TEST", status: .failure, check: "download", label: "site", message: "Failed to download the file: HTTP 404",
        measurement: ["bytes": 12, "status": 404], createdMillis: 1_795_000_000_123, elapsed: 0.2,
        config: ["url": "https://example.org/x", "password": "********", "sleep": 60], host: "mon1")

    static func notifier(channel: String? = nil, user: String? = nil, tags: [String: String] = [:]) -> SlackNotifier {
        SlackNotifier(
            webhook: "https://hooks.slack.com/services/T0/B0/SECRET", channel: channel, user: user, tags: tags,
            logger: Logger(label: "test"))
    }

    @Test func attachmentFieldByField() throws {
        let slack = Self.notifier(tags: ["team": "ops", "env": "prod"])
        let attachment = try #require(slack.attachment(Delivery(result: Self.result, reason: .failure)).objectValue)
        #expect(attachment["color"] == "danger")
        #expect(attachment["pretext"] == "Failed to download the file: HTTP 404")
        #expect(attachment["ts"] == .int(1_795_000_000))
        #expect(
            attachment["text"] == .string(
                """
                ```
                Label           : site
                Check           : download
                Status          : failure

                Config
                - password      : ********
                - sleep         : 60
                - url           : https://example.org/x
                ```
                """))
        #expect(
            attachment["fallback"] == .string(
                """
                ```
                Label           : site
                Check           : download
                Status          : failure

                Tags
                - env           : prod
                - team          : ops

                Config
                - password      : ********
                - sleep         : 60
                - url           : https://example.org/x
                ```
                """))
        #expect(
            attachment["fields"] == [
                ["title": "env", "value": "prod", "short": false], ["title": "team", "value": "ops", "short": false],
            ])
        #expect(attachment.count == 6)
    }

    @Test func successIsGreenAndRemindersSayso() throws {
        var ok = Self.result
        ok.status = .success
        ok.message = "Finished download 12 bytes"
        let slack = Self.notifier()
        let green = try #require(slack.attachment(Delivery(result: ok, reason: .recovery)).objectValue)
        #expect(green["color"] == "good")
        #expect(green["pretext"] == "Finished download 12 bytes (recovered)")
        #expect(green["fields"] == [])
        let reminder = try #require(slack.attachment(Delivery(result: Self.result, reason: .reminder)).objectValue)
        #expect(reminder["pretext"] == "Failed to download the file: HTTP 404 (still failing)")
    }

    @Test func emptyMessageFallsBackToStatusFromCheckLabel() throws {
        var quiet = Self.result
        quiet.message = ""
        let attachment = try #require(Self.notifier().attachment(Delivery(result: quiet, reason: .always)).objectValue)
        #expect(attachment["pretext"] == "failure from download-site")
    }

    /// A message or label holding Slack control sequences is shown as text: no `@channel`
    /// ping, no mention, no link.
    @Test func ampersandAndAngleBracketsAreEscaped() throws {
        var result = Self.result
        result.message = "down <!channel> <@U123> & <http://evil.example|click>"
        result.label = "a<b>&c"
        let slack = Self.notifier(tags: ["owner": "<@U999>"])
        let attachment = try #require(slack.attachment(Delivery(result: result, reason: .failure)).objectValue)
        #expect(attachment["pretext"] == "down &lt;!channel&gt; &lt;@U123&gt; &amp; &lt;http://evil.example|click&gt;")
        let text = try #require(attachment["text"]?.stringValue)
        #expect(text.contains("Label           : a&lt;b&gt;&amp;c"))
        let everything = slack.payload([Delivery(result: result, reason: .failure)]).json()
        #expect(!everything.contains("<"), "\(everything)")
        #expect(!everything.contains(">"), "\(everything)")
    }

    @Test func channelAndUserOnlyWhenConfigured() {
        let deliveries = [Delivery(result: Self.result, reason: .always), Delivery(result: Self.result, reason: .always)]
        let bare = Self.notifier().payload(deliveries).objectValue ?? [:]
        #expect(Set(bare.keys) == ["attachments"])
        #expect(bare["attachments"]?.arrayValue?.count == 2)
        let named = Self.notifier(channel: "#ops", user: "healthmonitor").payload(deliveries).objectValue ?? [:]
        #expect(named["channel"] == "#ops")
        #expect(named["username"] == "healthmonitor")
    }

    @Test func secretsInConfigAreMaskedEvenIfAResultCarriesThem() {
        var leaky = Self.result
        leaky.config = ["token": "abc123", "url": "https://user:pw123@example.org/"]
        let text = SlackNotifier.block(leaky, tags: [])
        #expect(!text.contains("abc123") && !text.contains("pw123"))
        #expect(text.contains("- token         : ********"))
    }

    @Test func webhookMustBeAURLAndIsNotEchoed() {
        let options = Options(["webhook": "hooks.slack.com/services/SECRET"], path: "notifiers.slack")
        do {
            _ = try SlackNotifier.kind.make(NotifierContext(name: "slack", options: options, logger: Logger(label: "t"), stateDirectory: NSTemporaryDirectory()))
            Issue.record("a webhook without a scheme was accepted")
        } catch let diagnostic as ConfigDiagnostic {
            #expect(diagnostic.path == "notifiers.slack.webhook")
            #expect(!diagnostic.description.contains("SECRET"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
