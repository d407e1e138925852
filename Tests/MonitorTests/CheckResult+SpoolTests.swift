import Monitor
import Testing

@Suite struct CheckResultSpoolTests {
    @Test func aSpooledResultReadsBackEqual() throws {
        let result = CheckResult(
            status: .failure, check: "ping", label: "clowder \"main\"", message: "0/5 packets\nlost",
            measurement: ["loss": 100.0, "sent": 5, "up": false, "host": "a.example"], createdMillis: 1_764_075_909_042,
            elapsed: 4.25, config: ["host": "a.example", "password": "********"], host: "monitor-1")
        let line = result.spoolLine
        #expect(!line.contains("\n"))
        #expect(try CheckResult(spoolLine: line) == result)
    }

    @Test func anAgentsResultWithUptimeReadsBackEqualAndTheLineStartsWithItsMilliseconds() throws {
        var result = CheckResult(
            status: .success, check: "hostport", label: "db", message: "connected", measurement: ["connect_ms": 0.25],
            createdMillis: 1_764_075_909_042, elapsed: 0.5, config: ["host": "db", "port": 5432], host: "agent-1")
        result.uptime = 0.5
        result.location = "site-b"
        result.agent = "agent-1"
        let line = result.spoolLine
        #expect(line.hasPrefix(#"{"created_ms":1764075909042,"id":""#))
        #expect(line.contains(#""created":"2025-11-25T13:05:09.042Z""#), "the time stays readable in the file")
        #expect(try CheckResult(spoolLine: line) == result)
        // The same result from its members (an agent's message), and a line whose members
        // come in another order, with members a result does not have.
        #expect(try CheckResult(spoolObject: try #require(JSONValue.parse(line).objectValue)) == result)
        let reordered = #"{"host":"agent-1","category":"x","agent":"agent-1","location":"site-b","uptime":0.5,"#
            + #""config":{"port":5432,"host":"db"},"elapsed":0.5,"created_ms":1764075909042,"measurement":{"connect_ms":0.25},"#
            + #""message":"connected","label":"db","check":"hostport","status":"success","id":"\#(result.id)"}"#
        #expect(try CheckResult(spoolLine: reordered) == result)
    }

    @Test func aLineThatIsNotAResultIsRefused() {
        #expect(throws: CheckResult.DecodingError.self) { try CheckResult(spoolLine: #"{"id":"x"}"#) }
        #expect(throws: CheckResult.DecodingError.self) { try CheckResult(spoolLine: "not json") }
        #expect(throws: CheckResult.DecodingError.self) { try CheckResult(spoolLine: #"["id"]"#) }
        #expect(throws: CheckResult.DecodingError.self) {
            try CheckResult(spoolLine: #"{"id":"x","status":"success","check":"c","label":"l","message":"m","host":"h"}"#)
        }
        let error = #expect(throws: CheckResult.DecodingError.self) {
            try CheckResult(spoolLine: #"{"id":"x","status":"maybe","check":"c","label":"l","message":"m","host":"h","created_ms":1}"#)
        }
        #expect(error?.reason == "unknown status")
        let notObject = #expect(throws: CheckResult.DecodingError.self) { try CheckResult(spoolLine: "42") }
        #expect(notObject?.reason == "not a JSON object")
    }
}
