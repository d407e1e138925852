import Foundation
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
        let directory = NSTemporaryDirectory() + "hm-test-rabbit-\(ResultID.next())"
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

    /// Every observed run counts (also those the policy does not send), each spooled result
    /// carries its check's uptime, and the book is saved at stop and read by the next start.
    @Test func uptimeCountsEveryRunAndSurvivesARestart() async throws {
        let directory = NSTemporaryDirectory() + "hm-test-rabbit-\(ResultID.next())"
        try FileSystem.makeDirectories(directory)
        let options: [String: JSONValue] = ["uri": "amqp://guest:guest@127.0.0.1:9/%2F"]
        let first = try RabbitMQNotifier(context: makeContext(RabbitMQNotifier.kind, options, stateDirectory: directory))
        let start = Int64(WallClock.nowMillis())
        for i in 0..<8 {
            first.observe(CheckResult(status: i < 6 ? .success : .failure, check: "ping", label: "svc", message: "", createdMillis: start + Int64(i)))
        }
        let sent = CheckResult(status: .failure, check: "ping", label: "svc", message: "", createdMillis: start + 8)
        first.observe(sent)
        try await first.send([Delivery(result: sent, reason: .failure)])  // only this one is sent
        await first.shutdown()
        var spool = Spool<CheckResult>(directory: directory + "/spool", memoryLimit: 100)
        #expect(spool.takeToSend(max: 100).map(\.record.uptime) == [6.0 / 9.0])
        #expect(FileSystem.exists(directory + "/uptime.json"))

        let second = try RabbitMQNotifier(context: makeContext(RabbitMQNotifier.kind, options, stateDirectory: directory))
        #expect(second.uptime.ratio("ping/svc", atMillis: start + 8) == 6.0 / 9.0)
        await second.shutdown()
    }
}
