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

    @Test func aLineThatIsNotAResultIsRefused() {
        #expect(throws: CheckResult.DecodingError.self) { try CheckResult(spoolLine: #"{"id":"x"}"#) }
        #expect(throws: CheckResult.DecodingError.self) { try CheckResult(spoolLine: "not json") }
    }
}
