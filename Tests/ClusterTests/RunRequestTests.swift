import Cluster
import Monitor
import Testing

@Suite struct RunRequestTests {
    /// What the controller writes, the agent reads back field for field.
    @Test func aRequestReadsBackAsWritten() throws {
        let request = RunRequest(
            check: "hostport", label: "web \"eu\"", options: ["host": "10.0.0.5", "port": 443, "sleep": 2.5], location: "eu-west_1",
            dueMillis: 1_764_598_000_123, controller: "ctl-1")
        let read = try RunRequest(json: Array(request.json().utf8))
        #expect(read == request)
        #expect(read.key == "hostport/web \"eu\"")
    }

    /// The reader takes the members in any order and with any spacing, steps over members it
    /// does not know, and keeps the options as their text (read back as values on demand).
    @Test func aRequestIsReadFieldByFieldInAnyOrder() throws {
        let body = #" { "options" : {"port": 443, "host": "10.0.0.5", "tags": ["a", {"b": null}]}, "due": 17, "later": {"x": [1.5]},"#
            + #" "v": 1, "label": "web \"eu\"", "location": "eu", "id": "r-1", "controller": "ctl-1", "check": "hostport" } "#
        let read = try RunRequest(json: Array(body.utf8))
        #expect(read.id == "r-1" && read.check == "hostport" && read.label == "web \"eu\"")
        #expect(read.location == "eu" && read.dueMillis == 17 && read.controller == "ctl-1")
        #expect(read.optionsJSON == #"{"port": 443, "host": "10.0.0.5", "tags": ["a", {"b": null}]}"#)
        #expect(read.options == ["port": 443, "host": "10.0.0.5", "tags": ["a", ["b": .null]]])
        #expect(read.key == "hostport/web \"eu\"")
    }

    /// A message that is not a run request says what is wrong with it.
    @Test(arguments: [
        ("[1]", "expected a JSON object"),
        ("{\"v\":2}", "run request version 2; this agent reads version 1"),
        ("{\"v\":\"1\"}", "run request version \"1\"; this agent reads version 1, an integer"),
        ("{\"v\":1,\"id\":\"a\",\"check\":\"ping\",\"label\":\"x\",\"location\":\"eu\",\"due\":1,\"controller\":\"c\"}", "\"options\" missing"),
        ("{\"v\":1,\"id\":\"a\",\"check\":\"ping\",\"label\":\"x\",\"options\":{},\"location\":\"eu\",\"controller\":\"c\"}", "\"due\" missing"),
        ("{\"v\":1,\"id\":\"a\",\"check\":7,\"label\":\"x\",\"options\":{},\"location\":\"eu\",\"due\":1,\"controller\":\"c\"}", "\"check\" missing or not a string"),
        ("not json", "not a run request: invalid JSON"),
        ("{\"v\":1,\"id\":\"a\",\"check\":\"ping\",\"label\":\"x\",\"options\":[1],\"location\":\"eu\",\"due\":1,\"controller\":\"c\"}", "\"options\" missing or not an object"),
        ("{\"v\":1,\"id\":\"a\",\"check\":\"ping\",\"label\":\"x\",\"options\":{\"host\":},\"location\":\"eu\",\"due\":1,\"controller\":\"c\"}", "not a run request: invalid JSON at byte 61"),
        ("{\"v\":1,\"other\":[1,],\"id\":\"a\"}", "not a run request: invalid JSON at byte 18"),
        ("{\"v\":1,\"id\":\"a\",\"check\":\"ping\",\"label\":\"x\",\"options\":{},\"location\":\"eu\",\"due\":1,\"controller\":\"c\"} x", "unexpected text after the value"),
        ("{\"v\":1,\"id\":\"a\",\"check\":\"ping\",\"label\":\"x\",\"options\":{},\"location\":\"eu\",\"due\":1.5,\"controller\":\"c\"}", "\"due\" missing or not an integer"),
        ("{\"v\":1,\"id\":\"a\",\"check\":\"ping\",\"label\":\"\",\"options\":{},\"location\":\"eu\",\"due\":1,\"controller\":\"c\"}", "\"label\" missing or not a string"),
    ])
    func aBadRequestIsNamed(body: String, expected: String) {
        #expect(throws: RunRequest.Invalid.self) { try RunRequest(json: Array(body.utf8)) }
        do {
            _ = try RunRequest(json: Array(body.utf8))
        } catch {
            #expect(error.description.contains(expected), "\(error)")
        }
    }

    @Test func locationNamesAreRoutingKeys() {
        #expect(CheckConfig.isValidLocation("eu-west_1"))
        #expect(!CheckConfig.isValidLocation(""))
        #expect(!CheckConfig.isValidLocation("eu.west"))
        #expect(!CheckConfig.isValidLocation("eu west"))
        #expect(!CheckConfig.isValidLocation(String(repeating: "a", count: 65)))
        #expect(ClusterTopology.requestQueue("eu") == "healthmonitor.requests.eu")
    }
}
