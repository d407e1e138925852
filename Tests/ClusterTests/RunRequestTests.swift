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

    /// A message that is not a run request says what is wrong with it.
    @Test(arguments: [
        ("[1]", "expected a JSON object"),
        ("{\"v\":2}", "run request version 2; this agent reads version 1"),
        ("{\"v\":1,\"id\":\"a\",\"check\":\"ping\",\"label\":\"x\",\"location\":\"eu\",\"due\":1,\"controller\":\"c\"}", "\"options\" missing"),
        ("{\"v\":1,\"id\":\"a\",\"check\":\"ping\",\"label\":\"x\",\"options\":{},\"location\":\"eu\",\"controller\":\"c\"}", "\"due\" missing"),
        ("{\"v\":1,\"id\":\"a\",\"check\":7,\"label\":\"x\",\"options\":{},\"location\":\"eu\",\"due\":1,\"controller\":\"c\"}", "\"check\" missing or not a string"),
        ("not json", "not a run request: invalid JSON"),
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
