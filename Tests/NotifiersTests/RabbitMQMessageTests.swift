import Monitor
import Testing

@testable import Notifiers

@Suite struct RabbitMQMessageTests {
    @Test func bodyFollowsTheEventSinkConventionWithTheWholeResult() throws {
        let result = sampleResult(id: "019ac0e4-0000-7000-8000-000000000001")
        let body = RabbitMQMessage.body(result)
        #expect(body.hasPrefix(#"{"category":"healthmonitor","type":"ping","id":"019ac0e4-0000-7000-8000-000000000001","#))
        let object = try #require(try JSONValue.parse(body).objectValue)
        #expect(object["status"] == "failure")
        #expect(object["check"] == "ping")
        #expect(object["label"] == "clowder")
        #expect(object["message"] == "0/5 packets")
        #expect(object["created"] == "2025-11-25T13:05:09.042Z")
        #expect(object["elapsed"] == .double(4.25))
        #expect(object["host"] == "monitor-1")
        #expect(object["measurement"] == ["loss": 100.0, "sent": 5, "reachable": false, "address": "10.0.0.1", "none": .null])
        #expect(object["config"]?.objectValue?["password"] == "********")
        #expect(object.count == 12)
    }

    @Test func timestampIsWholeUnixSeconds() {
        #expect(RabbitMQMessage.timestamp(sampleResult()) == 1_764_075_909)
    }
}
