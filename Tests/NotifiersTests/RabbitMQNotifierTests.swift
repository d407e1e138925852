import Monitor
import Testing

@testable import Notifiers

@Suite struct RabbitMQNotifierTests {
    @Test func aBadURIIsAConfigErrorOnTheURIOption() {
        #expect(throws: ConfigDiagnostic.self) {
            _ = try RabbitMQNotifier(context: makeContext(RabbitMQNotifier.kind, ["uri": "http://x:secret@y"]))
        }
    }

    @Test func aMissingCAFileIsAConfigError() {
        #expect(throws: ConfigDiagnostic.self) {
            _ = try RabbitMQNotifier(
                context: makeContext(RabbitMQNotifier.kind, ["uri": "amqps://localhost", "ca_file": "/nonexistent/ca.pem"]))
        }
    }

    @Test func sendNeverWaitsNorFailsWithoutABrokerAndShutdownSpillsToTheStateDirectory() async throws {
        let directory = "/tmp/hm-test-rabbit-\(ResultID.next())"
        try FileSystem.makeDirectories(directory)
        // Port 9 (discard) on loopback: nothing listens, every connect is refused at once.
        let notifier = try RabbitMQNotifier(
            context: makeContext(RabbitMQNotifier.kind, ["uri": "amqp://guest:guest@127.0.0.1:9/%2F"], stateDirectory: directory))
        let running = Task { try await notifier.run() }
        let results = (0..<20).map { _ in sampleResult() }
        try await notifier.send(results.map { Delivery(result: $0, reason: .always) })
        await notifier.shutdown()
        running.cancel()
        #expect(notifier.stats.accepted == 20)
        #expect(notifier.stats.delivered == 0)
        var spool = Spool<CheckResult>(directory: directory + "/spool", memoryLimit: 100)
        #expect(spool.takeToSend(max: 100).map(\.record.id) == results.map(\.id))
    }
}
