import Logging
import Monitor
import Testing

@Suite struct LogLineStreamTests {
    final class Recorder: TextOutputStream, Sendable {
        private let writes = Locked<[String]>([])
        var text: String { writes.withLock { $0.joined() } }
        func write(_ string: String) { writes.withLock { $0.append(string) } }
    }

    /// What a check or server wrote (a message, metadata, an error) cannot forge a log line.
    @Test func eachRecordStaysOnOneLine() {
        let recorder = Recorder()
        var logger = Logger(label: "hm\nfake") { StreamLogHandler(label: $0, stream: LogLineStream(recorder)) }
        logger[metadataKey: "check"] = "download/x\r\nINFO forged"
        logger.warning("result: HTTP 500\r\n2026-01-01T00:00:00+0000 info healthmonitor: forged", metadata: ["body": "a\nb\u{1B}[2J"])
        logger.info("second")
        let lines = recorder.text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3 && lines.last == "")
        #expect(lines[0].contains("hm\\nfake"))
        #expect(lines[0].contains("body=a\\nb\\u{1B}[2J"))
        #expect(lines[0].contains("check=download/x\\r\\nINFO forged"))
        #expect(lines[0].hasSuffix("result: HTTP 500\\r\\n2026-01-01T00:00:00+0000 info healthmonitor: forged"))
        #expect(lines[1].hasSuffix("second"))
        #expect(!recorder.text.contains("\r"))
    }
}
