import Monitor
import Testing

@testable import Notifiers

@Suite struct MongoDocumentTests {
    @Test func documentKeepsTypesAndUsesTheResultIDAsID() throws {
        let document = MongoDocument.make(sampleResult(id: "019ac0e4-0000-7000-8000-000000000001"))
        let json = try #require(try JSONValue.parse(document.canonicalJSON).objectValue)
        #expect(json["_id"] == "019ac0e4-0000-7000-8000-000000000001")
        #expect(json["category"] == "healthmonitor")
        #expect(json["type"] == "ping")
        #expect(json["check"] == "ping")
        #expect(json["status"] == "failure")
        #expect(json["created"] == ["$date": ["$numberLong": "1764075909042"]])
        #expect(json["elapsed"] == ["$numberDouble": "4.25"])
        let measurement = try #require(json["measurement"]?.objectValue)
        #expect(measurement["loss"] == ["$numberDouble": "100.0"])
        #expect(measurement["sent"] == ["$numberLong": "5"])
        #expect(measurement["reachable"] == false)
        #expect(measurement["address"] == "10.0.0.1")
        #expect(measurement["none"] == .null)
        #expect(json["config"]?.objectValue?["password"] == "********")
        #expect(json["host"] == "monitor-1")
        #expect(json.count == 12)
    }

    @Test func emptyTextStaysTextAndNestedValuesKeepTheirShape() throws {
        let document = BSONDocument()
        document.append("empty", string: "")
        document.append("list", [1, 2.5, ["k": "v"]])
        let json = try JSONValue.parse(document.canonicalJSON)
        #expect(json == ["empty": "", "list": [["$numberLong": "1"], ["$numberDouble": "2.5"], ["k": "v"]]])
    }
}
