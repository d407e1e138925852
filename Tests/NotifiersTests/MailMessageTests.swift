import Monitor
import Testing

@testable import Notifiers

@Suite struct MailMessageTests {
    let from = MailAddress("Health Monitor <hm@monitor.example.org>")!
    let to = [MailAddress("ops@example.org")!, MailAddress("Jürgen <j@example.org>")!]

    func result(_ label: String, _ status: Status, _ message: String = "0/5 packets") -> CheckResult {
        CheckResult(
            id: "0190a5c8-0000-7000-8000-00000000000\(label.count % 10)", status: status, check: "ping", label: label,
            message: message, measurement: ["loss": 100.0, "sent": 5], createdMillis: 1_795_611_909_042, elapsed: 4.5,
            config: ["host": "clowder.example.org", "count": 5], host: "monitor1")
    }

    @Test(arguments: [
        (Status.failure, ReportReason.failure, "[HEALTH] FAILURE ping/clowder: 0/5 packets"),
        (.failure, .reminder, "[HEALTH] STILL FAILING ping/clowder: 0/5 packets"),
        (.success, .recovery, "[HEALTH] RECOVERED ping/clowder: 0/5 packets"),
        (.success, .always, "[HEALTH] SUCCESS ping/clowder: 0/5 packets"),
    ])
    func singleSubject(_ status: Status, _ reason: ReportReason, _ subject: String) {
        let delivery = Delivery(result: result("clowder", status), reason: reason)
        #expect(MailMessage.subject([delivery], prefix: "[HEALTH]") == subject)
        #expect(MailMessage.subject([delivery], prefix: "[HEALTH] ") == subject)
    }

    @Test func subjectWithoutPrefixAndWithLongMultilineMessage() {
        let message = "line one\nline two " + String(repeating: "x", count: 200)
        let subject = MailMessage.subject([Delivery(result: result("a", .failure, message), reason: .failure)], prefix: "")
        #expect(subject.hasPrefix("FAILURE ping/a: line one line two xx"))
        #expect(subject.hasSuffix("…"))
        #expect(!subject.contains("\n"))
    }

    /// A subject is one header line: CR and LF from a check's message (a server's error body)
    /// or from a label become spaces, whatever their order, and the encoded words fold with
    /// CRLF + space only.
    @Test func lineBreaksInTheMessageOrLabelStayOutOfTheSubjectHeader() {
        let hostile = result("a\r\nBcc: x@example.org", .failure, "lone CR\rthen LF\nthen CRLF\r\nBcc: victim@example.org")
        let subject = MailMessage.subject([Delivery(result: hostile, reason: .failure)], prefix: "[HEALTH]")
        #expect(!subject.contains("\r") && !subject.contains("\n"))
        let text = MailMessage.compose([Delivery(result: hostile, reason: .failure)], prefix: "[HEALTH]", from: from, to: to, dateMillis: 0, id: "x")
            .rendered()
        let headers = text[..<text.range(of: "\r\n\r\n")!.lowerBound].split(separator: "\r\n")
        #expect(!headers.contains { $0.hasPrefix("Bcc") })
        // Folded continuation lines (starting with a space) belong to the subject.
        let start = headers.firstIndex { $0.hasPrefix("Subject: ") }!
        let folded = headers[(start + 1)...].prefix { $0.hasPrefix(" ") }
        #expect(headers[start].hasPrefix("Subject: =?UTF-8?B?"))
        #expect(folded.allSatisfy { $0.hasPrefix(" =?UTF-8?B?") })
        #expect(!text.contains("\n\n") && !text.replacing("\r\n", with: "").contains("\r"))
    }

    @Test func groupSubjectCounts() {
        let deliveries = [
            Delivery(result: result("a", .failure), reason: .failure),
            Delivery(result: result("b", .failure), reason: .reminder),
            Delivery(result: result("c", .success), reason: .recovery),
        ]
        #expect(MailMessage.subject(deliveries, prefix: "[HM]") == "[HM] 3 results: 2 failing, 1 successful")
        #expect(MailMessage.subject(Array(deliveries.prefix(2)), prefix: "") == "2 results: 2 failing")
    }

    @Test func plainBodyFollowsTheOriginal() {
        let message = MailMessage.compose(
            [Delivery(result: result("clowder", .failure), reason: .failure)], prefix: "", from: from, to: to,
            dateMillis: 0, id: "x")
        #expect(
            message.plainText == """
                The following checks are now failing:

                - ping/clowder: 0/5 packets
                  time: 2026-11-25T13:05:09.042Z, host: monitor1, took 4.500 s
                  measurements: loss = 100.0, sent = 5

                The configuration for "ping/clowder" is:
                - count = 5
                - host = clowder.example.org

                -- 
                healthmonitor

                """)
    }

    @Test func groupBodyHasOneSectionPerKindAndOneConfigurationPerCheck() {
        let deliveries = [
            Delivery(result: result("a", .failure), reason: .failure),
            Delivery(result: result("b", .success), reason: .recovery),
            Delivery(result: result("a", .failure), reason: .reminder),
        ]
        let text = MailMessage.compose(deliveries, prefix: "", from: from, to: to, dateMillis: 0).plainText
        let now = text.range(of: "The following checks are now failing:")!
        let still = text.range(of: "The following checks are still failing:")!
        let ok = text.range(of: "The following checks are now successful:")!
        #expect(now.lowerBound < still.lowerBound && still.lowerBound < ok.lowerBound)
        #expect(text.ranges(of: "The configuration for \"ping/a\" is:").count == 1)
        #expect(text.ranges(of: "The configuration for \"ping/b\" is:").count == 1)
    }

    @Test(arguments: [(0.000231725, "0.000"), (4.25, "4.250"), (12.3456, "12.346"), (0.9999, "1.000")])
    func secondsHaveThreeDecimals(_ value: Double, _ text: String) {
        #expect(MailMessage.seconds(value) == text)
    }

    @Test func htmlEscapesUserText() {
        let hostile = Delivery(result: result("<script>", .failure, "a < b & \"c\"\nnext"), reason: .failure)
        let html = MailMessage.compose([hostile], prefix: "", from: from, to: to, dateMillis: 0).html
        #expect(!html.contains("<script>"))
        #expect(html.contains("ping/&lt;script&gt;"))
        #expect(html.contains("a &lt; b &amp; &quot;c&quot;<br>next"))
    }

    @Test func longGroupsAreCounted() {
        let deliveries = (0..<(MailMessage.listLimit + 5)).map {
            Delivery(result: result("c\($0)", .failure), reason: .failure)
        }
        let message = MailMessage.compose(deliveries, prefix: "", from: from, to: to, dateMillis: 0)
        #expect(message.plainText.contains("… and 5 more results, not listed."))
        #expect(message.subject == "\(deliveries.count) results: \(deliveries.count) failing")
    }

    @Test func renderedHeadersAndParts() {
        let message = MailMessage.compose(
            [Delivery(result: result("clowder", .failure, "Prüfung fehlgeschlagen"), reason: .failure)],
            prefix: "[HEALTH]", from: from, to: to, dateMillis: 1_795_611_909_042, id: "abc-123")
        let text = message.rendered()
        let headerEnd = text.range(of: "\r\n\r\n")!
        let headers = text[..<headerEnd.lowerBound]
        #expect(headers.hasPrefix("Date: Wed, 25 Nov 2026 13:05:09 +0000\r\n"))
        #expect(headers.contains("\r\nFrom: Health Monitor <hm@monitor.example.org>\r\n"))
        #expect(headers.contains("\r\nTo: ops@example.org, =?UTF-8?B?SsO8cmdlbg==?= <j@example.org>\r\n"))
        #expect(headers.contains("\r\nSubject: =?UTF-8?B?"))
        #expect(headers.contains("\r\nMessage-ID: <abc-123@monitor.example.org>\r\n"))
        #expect(headers.contains("\r\nMIME-Version: 1.0\r\n"))
        #expect(headers.contains("\r\nContent-Type: multipart/alternative; boundary=\"=_healthmonitor_abc-123\""))
        #expect(text.contains("\r\n--=_healthmonitor_abc-123\r\nContent-Type: text/plain; charset=utf-8\r\n"))
        #expect(text.contains("\r\n--=_healthmonitor_abc-123\r\nContent-Type: text/html; charset=utf-8\r\n"))
        #expect(text.hasSuffix("\r\n--=_healthmonitor_abc-123--\r\n"))
        // Every line is CRLF-terminated and short; no bare LF.
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: false) {
            #expect(!line.contains("\n") && !line.contains("\r"))
            #expect(line.utf8.count <= 998)
        }
    }
}
