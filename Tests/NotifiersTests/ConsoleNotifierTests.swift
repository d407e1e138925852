import Foundation
import Monitor
import Notifiers
import Testing

@Suite struct ConsoleNotifierTests {
    let result = CheckResult(
        id: "0190b1e0-0000-7000-8000-000000000001", status: .failure, check: "hostport", label: "db",
        message: "connection refused", measurement: ["connection": 0, "connect_ms": 0.123], createdMillis: 1_764_115_509_042,
        elapsed: 0.002, config: ["host": "localhost", "port": 5432], host: "probe")

    @Test func textLine() {
        let line = ConsoleNotifier.line(for: Delivery(result: result, reason: .failure), color: false)
        #expect(line == "2025-11-26T00:05:09.042Z FAIL hostport/db connection refused  connect_ms=0.123 connection=0")
        var ok = result
        ok.status = .success
        #expect(ConsoleNotifier.line(for: Delivery(result: ok, reason: .recovery), color: false).contains(" OK   hostport/db ") )
        #expect(ConsoleNotifier.line(for: Delivery(result: ok, reason: .recovery), color: false).hasSuffix("(recovered)"))
    }

    /// A message or measurement from a server (an error body) must not forge the next line
    /// or send escape sequences to the terminal.
    @Test func serverTextStaysOnItsLine() {
        var hostile = result
        hostile.message = "HTTP 500: oops\r\n2025-11-26T00:05:09.042Z OK   hostport/db forged"
        hostile.measurement = ["body": "a\nb", "status\r\n": "\u{1B}[2J"]
        let line = ConsoleNotifier.line(for: Delivery(result: hostile, reason: .failure), color: true)
        #expect(line.hasSuffix(
            "FAIL\u{1B}[0m hostport/db HTTP 500: oops\\r\\n2025-11-26T00:05:09.042Z OK   hostport/db forged  body=a\\nb status\\r\\n=\\u{1B}[2J"))
    }

    @Test func colourOnlyWhenAsked() {
        let plain = ConsoleNotifier.line(for: Delivery(result: result, reason: .failure), color: false)
        let coloured = ConsoleNotifier.line(for: Delivery(result: result, reason: .failure), color: true)
        #expect(!plain.contains("\u{1B}["))
        #expect(coloured.contains("\u{1B}[1;31mFAIL\u{1B}[0m"))
    }

    @Test func jsonLinesWrittenToTheDescriptor() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let notifier = ConsoleNotifier(json: true, color: false, fd: fds[1])
        try await notifier.send([Delivery(result: result, reason: .always), Delivery(result: result, reason: .always)])
        await notifier.shutdown()
        close(fds[1])
        var bytes = [UInt8](repeating: 0, count: 65536)
        let n = read(fds[0], &bytes, bytes.count)
        close(fds[0])
        let lines = String(decoding: bytes[0..<max(0, n)], as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { String($0) == result.json() })
    }
}
