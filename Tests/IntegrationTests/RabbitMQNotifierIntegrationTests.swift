import AMQPClient
import Foundation
import Logging
import Monitor
import Testing

@testable import Notifiers

#if canImport(Glibc)
import Glibc
#endif

extension SinkIntegrationTests {
    /// The `rabbitmq` notifier against Debian's rabbitmq-server (scripts/services.sh).
    @Suite(.needs(.rabbitmq, .script)) struct RabbitMQNotifierIntegrationTests {
        struct Setup {
            var notifier: RabbitMQNotifier
            var running: Task<Void, Never>
            var uri: String
            var exchange: String
            var queue: String?
            var recorder: LogRecorder
        }

        /// A running notifier on a fresh exchange (and, with `queue`, a fresh bound queue).
        func start(_ uri: String, queue: Bool = true, _ extra: [String: JSONValue] = [:]) throws -> Setup {
            let name = SinkTest.unique()
            let exchange = "hm-it-\(name)"
            let queueName = queue ? "hm-it-\(name)" : nil
            var options: [String: JSONValue] = ["uri": .string(uri), "exchange": .string(exchange), "connect_timeout": 3]
            if let queueName { options["queue"] = .string(queueName) }
            for (k, v) in extra { options[k] = v }
            let recorder = LogRecorder()
            let notifier = try RabbitMQNotifier(
                context: SinkTest.context(
                    RabbitMQNotifier.kind, options, stateDirectory: try SinkTest.directory("rabbitmq"), logger: recorder.logger()))
            let running = Task { _ = try? await notifier.run() }
            return Setup(notifier: notifier, running: running, uri: uri, exchange: exchange, queue: queueName, recorder: recorder)
        }

        func finish(_ setup: Setup) async throws {
            await setup.notifier.shutdown()
            setup.running.cancel()
            let (uri, queue, exchange) = (setup.uri, setup.queue, setup.exchange)
            try await SinkTest.blocking.run { try AMQPTestClient(uri: uri).delete(queue: queue, exchange: exchange) }
        }

        func consume(_ setup: Setup) async throws -> [AMQPTestClient.Message] {
            let (uri, queue) = (setup.uri, setup.queue!)
            return try await SinkTest.blocking.run { try AMQPTestClient(uri: uri).drain(queue) }
        }

        /// Waits until everything produced was taken in and the spool is empty.
        func drained(_ setup: Setup, produced: Int, within seconds: Double = 60) async -> Bool {
            await SinkTest.waitUntil(seconds) {
                let s = setup.notifier.stats
                return s.accepted == produced && s.spooled == 0
            }
        }

        @Test func publishesEveryFieldAndProperty() async throws {
            let uri = try TestServers.value("HM_RABBITMQ_URI")
            let setup = try start(uri, ["format": "full"])
            let results = (1...3).map { SinkTest.result($0) }
            try await setup.notifier.send(results.map { Delivery(result: $0, reason: .always) })
            #expect(await drained(setup, produced: 3, within: 20))
            let messages = try await consume(setup)
            try await finish(setup)

            #expect(messages.count == 3)
            #expect(setup.notifier.stats.delivered == 3)
            for (message, result) in zip(messages, results) {
                #expect(message.messageID == result.id)
                #expect(message.contentType == "application/json")
                #expect(message.appID == "healthmonitor")
                #expect(message.deliveryMode == 2)
                #expect(message.timestamp == UInt64(result.createdMillis / 1000))
                let body = try #require(try JSONValue.parse(message.body).objectValue)
                #expect(body["category"] == "healthmonitor")
                #expect(body["type"] == .string(result.check))
                #expect(body["id"] == .string(result.id))
                #expect(body["check"] == .string(result.check))
                #expect(body["label"] == .string(result.label))
                #expect(body["status"] == .string(result.status.rawValue))
                #expect(body["message"] == .string(result.message))
                #expect(body["measurement"] == .object(result.measurement))
                #expect(body["created"] == .string(result.created))
                #expect(body["elapsed"] == .double(result.elapsed))
                #expect(body["config"] == .object(result.config))
                #expect(body["host"] == .string(result.host))
                #expect(message.body.hasPrefix(#"{"category":"healthmonitor","type":"random","#))
            }
            print("example message body: \(messages.first?.body ?? "-")")
        }

        /// A result that arrives while the notifier waits on a quiet connection is published at
        /// once, not when that wait ends: here the wait is 60 s (and the broker's heartbeats 30 s
        /// apart), and each result must be confirmed within 10 (before, the wait ran out first: up
        /// to 50 ms in the product). The stop request ends the wait too.
        @Test func aResultArrivingOnAQuietConnectionIsPublishedWithoutWaitingOutTheIdleWait() async throws {
            let uri = try TestServers.value("HM_RABBITMQ_URI")
            let name = "hm-it-\(SinkTest.unique())"
            let settings = RabbitMQSink.Settings(
                endpoint: try AMQPEndpoint(uri: uri), exchange: name, exchangeType: "fanout", routingKey: "", queue: name, caFile: nil,
                verify: true, heartbeat: 60, connectTimeout: 3, confirmTimeout: 120, maxInFlight: 5000, connectionName: "hm-it-idle",
                idleWait: 60)
            let logger = Logger(label: "it")
            let worker = SinkWorker(
                sink: RabbitMQSink(settings: settings, logger: logger),
                settings: .init(spoolDirectory: try SinkTest.directory("rabbitmq-idle"), memoryLimit: 100, maxBytes: 1 << 30),
                logger: logger, threadName: "it-idle")
            let running = Task { await worker.run() }
            let results = [SinkTest.result(1), SinkTest.result(2)]
            // The first is taken at the connect; the second comes while the worker waits on the
            // quiet connection after the first's confirm.
            worker.accept([results[0]])
            #expect(await SinkTest.waitUntil(10) { worker.stats.delivered == 1 }, "\(worker.stats)")
            try await Task.sleep(for: .milliseconds(300))
            worker.accept([results[1]])
            #expect(await SinkTest.waitUntil(10) { worker.stats.delivered == 2 }, "still waiting on the socket: \(worker.stats)")
            let stopping = MonotonicClock().seconds()
            await worker.shutdown(timeout: 5)
            #expect(MonotonicClock().seconds() - stopping < 5, "the stop request did not end the wait")
            running.cancel()
            let messages = try await SinkTest.blocking.run { try AMQPTestClient(uri: uri).drain(name) }
            try await SinkTest.blocking.run { try AMQPTestClient(uri: uri).delete(queue: name, exchange: name) }
            #expect(messages.map(\.messageID) == results.map(\.id))
        }

        @Test func brokerStopAndRestartLosesNothing() async throws {
            let uri = try TestServers.value("HM_RABBITMQ_URI")
            let setup = try start(uri)
            let producer = SinkTest.Producer(setup.notifier, interval: 0.02)
            try await Task.sleep(for: .seconds(1))
            try await SinkTest.services("stop-one", "rabbitmq")
            try await Task.sleep(for: .seconds(2))
            #expect(setup.notifier.stats.spooledOnDisk + setup.notifier.stats.spooled > 0)
            try await SinkTest.services("start-one", "rabbitmq")
            try await Task.sleep(for: .seconds(1))
            let produced = await producer.stop()
            #expect(await drained(setup, produced: produced.count))
            let messages = try await consume(setup)
            try await finish(setup)

            let oracle = SinkTest.Oracle(produced: produced, consumed: messages.compactMap(\.messageID))
            print("rabbitmq stop/restart: \(oracle), stats \(setup.notifier.stats)")
            #expect(oracle.missing.isEmpty, "missing: \(oracle.missing.prefix(5))")
            #expect(oracle.inOrder)
            #expect(setup.notifier.stats.connectionLosses >= 1)
            #expect(producer.slowestSend < 0.5, "send waited \(producer.slowestSend) s for the broker")
        }

        @Test func silentHangIsDetectedAndNothingIsLost() async throws {
            let uri = try TestServers.value("HM_RABBITMQ_URI")
            // Heartbeat 2 s: librabbitmq gives up after 2 missed intervals (4 s).
            let setup = try start(uri, ["heartbeat": 2, "confirm_timeout": 4])
            let producer = SinkTest.Producer(setup.notifier, interval: 0.02)
            try await Task.sleep(for: .seconds(1))
            let pidText = try await SinkTest.services("pid", "rabbitmq")
            let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
            let before = producer.count
            kill(pid, SIGSTOP)
            try? await Task.sleep(for: .seconds(9))
            let producedWhileStopped = producer.count - before
            let lossesWhileStopped = setup.notifier.stats.connectionLosses
            kill(pid, SIGCONT)
            try await Task.sleep(for: .seconds(2))
            let produced = await producer.stop()
            #expect(await drained(setup, produced: produced.count))
            let messages = try await consume(setup)
            try await finish(setup)

            let oracle = SinkTest.Oracle(produced: produced, consumed: messages.compactMap(\.messageID))
            print("rabbitmq SIGSTOP 9 s: \(oracle), stats \(setup.notifier.stats)")
            #expect(lossesWhileStopped >= 1, "the dead connection was not detected while the broker was stopped")
            #expect(producedWhileStopped > 200, "checks kept running: \(producedWhileStopped) results while stopped")
            #expect(producer.slowestSend < 0.5)
            #expect(oracle.missing.isEmpty, "missing: \(oracle.missing.prefix(5))")
            #expect(oracle.inOrder)
        }

        @Test func resourceAlarmPausesPublishingAndNothingIsLost() async throws {
            let uri = try TestServers.value("HM_RABBITMQ_URI")
            let setup = try start(uri)
            let producer = SinkTest.Producer(setup.notifier, interval: 0.02)
            try await Task.sleep(for: .seconds(1))
            var pausedDelivered: (Int, Int) = (0, 0)
            var blockedSeen = false
            do {
                try await SinkTest.services("rabbitmqctl", "set_vm_memory_high_watermark", "0")
                blockedSeen = await SinkTest.waitUntil(20) { setup.notifier.stats.blocked }
                let first = setup.notifier.stats.delivered
                try await Task.sleep(for: .seconds(3))
                pausedDelivered = (first, setup.notifier.stats.delivered)
            } catch {
                Issue.record("alarm phase failed: \(error)")
            }
            try await SinkTest.services("rabbitmqctl", "set_vm_memory_high_watermark", "0.4")
            try await Task.sleep(for: .seconds(1))
            let produced = await producer.stop()
            #expect(await drained(setup, produced: produced.count))
            let messages = try await consume(setup)
            try await finish(setup)

            let oracle = SinkTest.Oracle(produced: produced, consumed: messages.compactMap(\.messageID))
            print("rabbitmq memory alarm: \(oracle), stats \(setup.notifier.stats)")
            #expect(blockedSeen, "connection.blocked never arrived")
            #expect(pausedDelivered.0 == pausedDelivered.1, "results were confirmed while the broker blocked publishers")
            #expect(setup.notifier.stats.blocks >= 1)
            #expect(!setup.notifier.stats.blocked)
            #expect(producer.slowestSend < 0.5)
            #expect(oracle.missing.isEmpty, "missing: \(oracle.missing.prefix(5))")
            #expect(setup.recorder.all.contains { $0.contains("broker blocks publishing") })
        }

        @Test func unroutableResultsAreCountedAndLoggedNotDelivered() async throws {
            let uri = try TestServers.value("HM_RABBITMQ_URI")
            let setup = try start(uri, queue: false)
            let results = (1...10).map { SinkTest.result($0) }
            try await setup.notifier.send(results.map { Delivery(result: $0, reason: .always) })
            #expect(await drained(setup, produced: 10, within: 20))
            try await finish(setup)
            let stats = setup.notifier.stats
            #expect(stats.returned == 10)
            #expect(stats.undeliverable == 10)
            #expect(stats.delivered == 0)
            #expect(setup.recorder.all.contains { $0.contains("unroutable") && $0.contains("undeliverable") })
        }
    }
}
