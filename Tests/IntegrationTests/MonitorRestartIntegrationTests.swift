import Foundation
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SinkIntegrationTests {
    /// The whole monitor (the built `healthmonitor` executable) with console, rabbitmq and mongo
    /// notifiers: killed with SIGKILL while both sinks are down, started again, every result
    /// printed on the console arrives in the queue and the collection.
    @Suite(.needs(.rabbitmq, .mongo, .script)) struct MonitorRestartIntegrationTests {
        static let executable: String = {
            // Tests/IntegrationTests/ThisFile.swift → the package root.
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().path
            return root + "/.build/debug/healthmonitor"
        }()

        /// The ids of the JSON lines the console notifier printed so far.
        static func printedIDs(_ file: String) -> [String] {
            let text = (try? FileSystem.readText(file)) ?? ""
            return text.split(separator: "\n").compactMap { line in
                guard line.hasPrefix("{") else { return nil }
                return (try? JSONValue.parse(String(line)))?.objectValue?["id"]?.stringValue
            }
        }

        static func spoolFiles(_ directory: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".spool") }
        }

        @Test func killedWithANonEmptySpoolDeliversEverythingAfterARestart() async throws {
            let rabbitURI = try TestServers.value("HM_RABBITMQ_URI")
            let mongoURI = try TestServers.value("HM_MONGO_URI")
            guard FileSystem.exists(Self.executable) else {
                Issue.record("\(Self.executable) is missing: run `swift build` first")
                return
            }
            let directory = try SinkTest.directory("restart")
            let name = "hm-it-\(SinkTest.unique())"
            let database = "hm_it_\(SinkTest.unique())"
            let setup = CrashDeliveryIntegrationTests.Setup(
                directory: directory, name: name, database: database, rabbitURI: rabbitURI, mongoURI: mongoURI)
            let config = setup.config(checks: "    it:\n      sleep: 1")
            try FileSystem.writeAtomically(config, to: directory + "/config.yml")
            let output = directory + "/output.log"
            let arguments = ["run", "--config", directory + "/config.yml"]

            let first = try ChildProcess(Self.executable, arguments, output: output, errorsToOutput: true)
            #expect(await SinkTest.waitUntil(20) { Self.printedIDs(output).count >= 3 })
            try await SinkTest.services("stop-one", "rabbitmq")
            try await SinkTest.services("stop-one", "mongo")
            try await Task.sleep(for: .seconds(3))
            // Kill between two results (checks run every second), once the last one was spooled.
            let seen = Self.printedIDs(output).count
            #expect(await SinkTest.waitUntil(20) { Self.printedIDs(output).count > seen })
            try await Task.sleep(for: .milliseconds(400))
            first.signal(SIGKILL)
            _ = try await SinkTest.blocking.run { first.wait() }
            let printedBeforeKill = Self.printedIDs(output)
            let rabbitSpool = Self.spoolFiles(directory + "/state/notifiers/rabbitmq/spool")
            let mongoSpool = Self.spoolFiles(directory + "/state/notifiers/mongo/spool")
            #expect(!rabbitSpool.isEmpty, "the rabbitmq spool should hold results at the kill")
            #expect(!mongoSpool.isEmpty, "the mongo spool should hold results at the kill")

            try await SinkTest.services("start-one", "rabbitmq")
            try await SinkTest.services("start-one", "mongo")
            let second = try ChildProcess(Self.executable, arguments, output: output, errorsToOutput: true)
            #expect(await SinkTest.waitUntil(20) { Self.printedIDs(output).count >= printedBeforeKill.count + 4 })
            second.signal(SIGTERM)
            let status = try await SinkTest.blocking.run { second.wait() }
            #expect(status == 0, "a graceful stop exits 0")

            let produced = Self.printedIDs(output)
            let consumed = try await SinkTest.blocking.run { try AMQPTestClient(uri: rabbitURI).drain(name) }
            let stored = try await SinkTest.blocking.run { try MongoTestClient(uri: mongoURI, database: database).ids() }
            try await SinkTest.blocking.run {
                AMQPTestClient.cleanup(uri: rabbitURI, queue: name, exchange: name)
                (try? MongoTestClient(uri: mongoURI, database: database))?.dropDatabase()
            }

            let rabbit = SinkTest.Oracle(produced: produced, consumed: consumed.compactMap(\.messageID))
            let mongo = SinkTest.Oracle(produced: produced, consumed: stored)
            print("monitor kill -9 and restart: rabbitmq \(rabbit); mongo \(mongo); spool files at kill: \(rabbitSpool.count) + \(mongoSpool.count)")
            #expect(rabbit.missing.isEmpty, "rabbitmq missing: \(rabbit.missing.prefix(5))")
            #expect(mongo.missing.isEmpty, "mongo missing: \(mongo.missing.prefix(5))")
            #expect(rabbit.inOrder)
            #expect(produced.count >= printedBeforeKill.count + 4)
        }
    }
}
