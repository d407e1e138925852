import Foundation
import Logging
import Monitor
import Testing

@testable import Notifiers

@Suite struct MSTeamsNotifierTests {
    static let result = CheckResult(
        id: "01J-TEST", status: .failure, check: "download", label: "site",
        message: "Failed to download the file: HTTP 500 from example.org (expected 2xx)",
        measurement: ["bytes": 21, "status": 500, "speed": 0.5], createdMillis: 1_795_000_000_123, elapsed: 0.2,
        config: ["url": "https://example.org/x"], host: "mon1")

    static let facts: JSONValue = [
        ["title": "Check", "value": "download"], ["title": "Label", "value": "site"],
        ["title": "Status", "value": "failure"],
        ["title": "Message", "value": "Failed to download the file: HTTP 500 from example.org (expected 2xx)"],
        ["title": "Time", "value": .string(result.created)], ["title": "Host", "value": "mon1"],
        ["title": "bytes", "value": "21"], ["title": "speed", "value": "0.5"], ["title": "status", "value": "500"],
    ]

    @Test func adaptiveCardFieldByField() throws {
        let payload = MSTeamsNotifier.adaptiveCard(Delivery(result: Self.result, reason: .failure))
        let message = try #require(payload.objectValue)
        #expect(message["type"] == "message")
        let attachments = try #require(message["attachments"]?.arrayValue)
        #expect(attachments.count == 1)
        let attachment = try #require(attachments[0].objectValue)
        #expect(attachment["contentType"] == "application/vnd.microsoft.card.adaptive")
        #expect(attachment["contentUrl"] == .null)
        let card = try #require(attachment["content"]?.objectValue)
        #expect(card["type"] == "AdaptiveCard")
        #expect(card["version"] == "1.4")
        #expect(card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json")
        let body = try #require(card["body"]?.arrayValue)
        #expect(body.count == 3)
        let header = try #require(body[0].objectValue)
        #expect(header["type"] == "Container")
        #expect(header["style"] == "attention")
        let title = try #require(header["items"]?.arrayValue?.first?.objectValue)
        #expect(title["type"] == "TextBlock")
        #expect(title["text"] == "healthmonitor: download/site failure")
        #expect(title["color"] == "Attention")
        #expect(title["weight"] == "Bolder")
        #expect(body[1] == ["type": "TextBlock", "text": .string(Self.result.message), "wrap": true])
        #expect(body[2] == ["type": "FactSet", "facts": Self.facts])
    }

    @Test func successCardIsGreen() throws {
        var ok = Self.result
        ok.status = .success
        let card = MSTeamsNotifier.adaptiveCard(Delivery(result: ok, reason: .recovery))
        let header = card.objectValue?["attachments"]?.arrayValue?.first?.objectValue?["content"]?.objectValue?["body"]?
            .arrayValue?.first?.objectValue
        #expect(header?["style"] == "good")
        let title = header?["items"]?.arrayValue?.first?.objectValue
        #expect(title?["color"] == "Good")
        #expect(title?["text"] == "healthmonitor: download/site success (recovered)")
    }

    @Test func messageCardFieldByField() throws {
        let card = try #require(MSTeamsNotifier.messageCard(Delivery(result: Self.result, reason: .failure)).objectValue)
        #expect(card["@type"] == "MessageCard")
        #expect(card["@context"] == "https://schema.org/extensions")
        #expect(card["themeColor"] == "E01E5A")
        #expect(card["title"] == "healthmonitor: download/site failure")
        #expect(card["summary"] == "healthmonitor: download/site failure")
        let section = try #require(card["sections"]?.arrayValue?.first?.objectValue)
        #expect(section["activityTitle"] == .string(Self.result.message))
        let facts = try #require(section["facts"]?.arrayValue)
        #expect(facts.first == ["name": "Check", "value": "download"])
        #expect(facts.count == 9)
        var ok = Self.result
        ok.status = .success
        #expect(MSTeamsNotifier.messageCard(Delivery(result: ok, reason: .always)).objectValue?["themeColor"] == "2EB886")
    }

    @Test func measurementFactsAreCapped() {
        var big = Self.result
        big.measurement = Dictionary(uniqueKeysWithValues: (0..<30).map { ("m\($0)", JSONValue.int($0)) })
        #expect(MSTeamsNotifier.facts(big).count == 6 + MSTeamsNotifier.maxMeasurementFacts)
    }

    @Test func formatOptionChoosesTheCard() throws {
        let context = NotifierContext(
            name: "teams", options: Options(["webhook": "https://x.example/wf?sig=S", "format": "messagecard"]),
            logger: Logger(label: "t"), stateDirectory: NSTemporaryDirectory())
        let teams = try #require(try MSTeamsNotifier.kind.make(context) as? MSTeamsNotifier)
        #expect(teams.format == .messageCard)
        #expect(MSTeamsNotifier.kind.options.first { $0.name == "format" }?.defaultValue == "adaptivecard")
    }
}
