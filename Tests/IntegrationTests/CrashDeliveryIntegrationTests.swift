import Foundation
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SinkIntegrationTests {
    /// The whole monitor (the built executable) producing about 1,000 results a second to the
    /// console, RabbitMQ and MongoDB, killed with SIGKILL while both sinks are connected:
    /// healthy, under a broker memory alarm, and with the Mongo server stopped (SIGSTOP).
    /// Started again on the same state directory, every id the console printed before the
    /// kill reaches the queue and the collection. Duplicates are allowed and reported.
    @Suite(.needs(.rabbitmq, .mongo, .script)) struct CrashDeliveryIntegrationTests {
        enum Fault: String {
            case none = "connected"
            case memoryAlarm = "memory alarm"
            case mongoStopped = "mongo SIGSTOP"
        }

        struct Setup {
            var directory: String
            var name: String
            var database: String
            var rabbitURI: String
            var mongoURI: String

            /// The notifiers of both runs; `checks` differ.
            func config(checks: String) -> String {
                """
                settings:
                  state_dir: \(directory)/state
                  shutdown_timeout: 20
                checks:
                  random:
                \(checks)
                notifiers:
                  console:
                    format: json
                    color: never
                    report: always
                  rabbitmq:
                    uri: "\(rabbitURI)"
                    exchange: \(name)
                    queue: \(name)
                    connect_timeout: 2
                    report: always
                  mongo:
                    uri: "\(mongoURI)"
                    database: \(database)
                    connect_timeout: 2
                    report: always

                """
            }

            /// Files that still hold results not confirmed by a sink or not yet in a spool.
            var pending: [String] {
                let state = directory + "/state"
                return MonitorRestartIntegrationTests.spoolFiles(state + "/notifiers/rabbitmq/spool")
                    + MonitorRestartIntegrationTests.spoolFiles(state + "/notifiers/mongo/spool")
                    + FileSystem.list(state + "/intake").filter { $0.hasSuffix(".log") }
            }
        }

        static var executable: String { MonitorRestartIntegrationTests.executable }

        func run(_ fault: Fault) async throws {
            let setup = Setup(
                directory: try SinkTest.directory("crash"), name: "hm-it-\(SinkTest.unique())",
                database: "hm_it_\(SinkTest.unique())", rabbitURI: try TestServers.value("HM_RABBITMQ_URI"),
                mongoURI: try TestServers.value("HM_MONGO_URI"))
            guard FileSystem.exists(Self.executable) else {
                Issue.record("\(Self.executable) is missing: run `swift build` first")
                return
            }
            // 100 checks every 0.1 s: about 1,000 results a second.
            let busy = (0..<100).map { "    r\($0):\n      sleep: 0.1" }.joined(separator: "\n")
            try FileSystem.writeAtomically(setup.config(checks: busy), to: setup.directory + "/busy.yml")
            try FileSystem.writeAtomically(setup.config(checks: "    calm:\n      sleep: 0.5"), to: setup.directory + "/calm.yml")
            let firstOutput = setup.directory + "/first.log"
            let secondOutput = setup.directory + "/second.log"

            let first = try ChildProcess(Self.executable, ["run", "--config", setup.directory + "/busy.yml"], output: firstOutput, errorsToOutput: true)
            #expect(await SinkTest.waitUntil(30) { MonitorRestartIntegrationTests.printedIDs(firstOutput).count >= 2000 }, "the first run produces")
            var stopped: Int32?
            switch fault {
            case .none:
                break
            case .memoryAlarm:
                _ = try await SinkTest.services("rabbitmqctl", "set_vm_memory_high_watermark", "0")
            case .mongoStopped:
                let pidText = try await SinkTest.services("pid", "mongo")
                stopped = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
                kill(stopped!, SIGSTOP)
            }
            // A moment that depends on nothing the monitor does: 1.5–2.5 s into the fault.
            let delay = 1500 + Int.random(in: 0..<1000)
            try await Task.sleep(for: .milliseconds(delay))
            first.signal(SIGKILL)
            _ = try await SinkTest.blocking.run { first.wait() }
            let printedBeforeKill = MonitorRestartIntegrationTests.printedIDs(firstOutput)
            let leftOnDisk = setup.pending.count
            switch fault {
            case .none: break
            case .memoryAlarm: _ = try await SinkTest.services("rabbitmqctl", "set_vm_memory_high_watermark", "0.4")
            case .mongoStopped: kill(stopped!, SIGCONT)
            }

            // The next start, on the same state directory, with one calm check: it replays what the
            // killed run left, and is stopped once nothing is left unconfirmed.
            let second = try ChildProcess(Self.executable, ["run", "--config", setup.directory + "/calm.yml"], output: secondOutput, errorsToOutput: true)
            #expect(await SinkTest.waitUntil(30) { MonitorRestartIntegrationTests.printedIDs(secondOutput).count >= 2 }, "the second run produces")
            let settled = await SinkTest.waitUntil(120) { setup.pending.isEmpty }
            #expect(settled, "still unconfirmed after 120 s: \(setup.pending)")
            second.signal(SIGTERM)
            let status = try await SinkTest.blocking.run { second.wait() }
            #expect(status == 0, "a graceful stop exits 0")

            let produced = printedBeforeKill + MonitorRestartIntegrationTests.printedIDs(secondOutput)
            let consumed = try await SinkTest.blocking.run { try AMQPTestClient(uri: setup.rabbitURI).drain(setup.name) }
            let stored = try await SinkTest.blocking.run { try MongoTestClient(uri: setup.mongoURI, database: setup.database).ids() }
            try await SinkTest.blocking.run {
                AMQPTestClient.cleanup(uri: setup.rabbitURI, queue: setup.name, exchange: setup.name)
                (try? MongoTestClient(uri: setup.mongoURI, database: setup.database))?.dropDatabase()
            }
            let rabbit = SinkTest.Oracle(produced: produced, consumed: consumed.compactMap(\.messageID))
            let mongo = SinkTest.Oracle(produced: produced, consumed: stored)
            print(
                "kill -9 while \(fault.rawValue) (\(delay) ms in, \(printedBeforeKill.count) printed, \(leftOnDisk) files left): "
                    + "rabbitmq \(rabbit); mongo \(mongo)")
            #expect(printedBeforeKill.count >= 2000)
            #expect(rabbit.missing.isEmpty, "rabbitmq missing \(rabbit.missing.count): \(rabbit.missing.prefix(5))")
            #expect(mongo.missing.isEmpty, "mongo missing \(mongo.missing.count): \(mongo.missing.prefix(5))")
            #expect(mongo.duplicates == 0, "documents are keyed by the result id")
        }

        @Test func killedWhilePublishingLosesNothing() async throws {
            try await run(.none)
        }

        @Test func killedDuringABrokerMemoryAlarmLosesNothing() async throws {
            try await run(.memoryAlarm)
        }

        @Test func killedWhileMongoIsStoppedLosesNothing() async throws {
            try await run(.mongoStopped)
        }
    }
}
