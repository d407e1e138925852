import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import Notifiers

extension SinkIntegrationTests {
    /// The `mongo` notifier against SecantusDB (MongoDB wire protocol; scripts/services.sh).
    @Suite(.needs(.mongo, .script)) struct MongoNotifierIntegrationTests {
        struct Setup {
            var notifier: MongoNotifier
            var running: Task<Void, Never>
            var uri: String
            var database: String
            var stateDirectory: String
        }

        func start(_ uri: String, database: String = "hm_it_\(SinkTest.unique())", _ extra: [String: JSONValue] = [:]) throws -> Setup {
            var options: [String: JSONValue] = ["uri": .string(uri), "database": .string(database), "connect_timeout": 2]
            for (k, v) in extra { options[k] = v }
            let stateDirectory = try SinkTest.directory("mongo")
            let notifier = try MongoNotifier(context: SinkTest.context(MongoNotifier.kind, options, stateDirectory: stateDirectory))
            let running = Task { _ = try? await notifier.run() }
            return Setup(notifier: notifier, running: running, uri: uri, database: database, stateDirectory: stateDirectory)
        }

        func finish(_ setup: Setup) async throws {
            await setup.notifier.shutdown()
            setup.running.cancel()
            let (uri, database) = (setup.uri, setup.database)
            try await SinkTest.blocking.run { try MongoTestClient(uri: uri, database: database).dropDatabase() }
        }

        func drained(_ setup: Setup, produced: Int, within seconds: Double = 60) async -> Bool {
            await SinkTest.waitUntil(seconds) {
                let s = setup.notifier.stats
                return s.accepted == produced && s.spooled == 0
            }
        }

        /// libmongoc is not linked: the monitor opens it (and its constructor initialises
        /// OpenSSL) only when a mongo notifier is configured, and then writes through it.
        @Test func theMonitorOpensLibmongocOnlyForAMongoNotifier() async throws {
            let uri = try TestServers.value("HM_MONGO_URI")
            let executable = MonitorRestartIntegrationTests.executable
            let directory = try SinkTest.directory("mongo-lazy")
            let database = "hm_it_\(SinkTest.unique())"
            let mongo = """
                  mongo:
                    uri: "\(uri)"
                    database: \(database)
                    report: always
                """
            /// The monitor's mapped files once it has printed a result, and its results in the
            /// collection then.
            func run(_ name: String, notifiers extra: String) async throws -> (maps: String, stored: Int) {
                let config = """
                    settings: {state_dir: \(directory)/\(name)}
                    checks:
                      random:
                        r: {seed: 1, mark: 0.0, sleep: 0.2}
                    notifiers:
                      console: {format: json, color: never, report: always}
                    \(extra)
                    """
                try FileSystem.writeAtomically(config, to: "\(directory)/\(name).yml")
                let output = "\(directory)/\(name).log"
                let monitor = try ChildProcess(executable, ["run", "--config", "\(directory)/\(name).yml"], output: output, errorsToOutput: true)
                let printed = await SinkTest.waitUntil(30) { MonitorRestartIntegrationTests.printedIDs(output).count >= 3 }
                #expect(printed, "\(name): \((try? FileSystem.readText(output)) ?? "")")
                let maps = (try? FileSystem.readText("/proc/\(monitor.pid)/maps")) ?? ""
                var stored = 0
                if !extra.isEmpty {
                    _ = await SinkTest.waitUntil(30) {
                        stored = (try? MongoTestClient(uri: uri, database: database).documents().count) ?? 0
                        return stored >= 3
                    }
                }
                monitor.signal(SIGTERM)
                let status = try await SinkTest.blocking.run { monitor.wait() }
                #expect(status == 0)
                return (maps, stored)
            }
            let without = try await run("console", notifiers: "")
            #expect(without.maps.contains("/healthmonitor"), "the maps are the monitor's")
            #expect(!without.maps.contains("libmongoc"), "libmongoc is not mapped without a mongo notifier")
            let with = try await run("mongo", notifiers: mongo)
            #expect(with.maps.contains("libmongoc-1.0.so"), "a mongo notifier opens libmongoc")
            #expect(with.stored >= 3, "and writes through it: \(with.stored) documents")
            try await SinkTest.blocking.run { try MongoTestClient(uri: uri, database: database).dropDatabase() }
        }

        @Test func storesTypedDocumentsWithIndexesAndTTL() async throws {
            let uri = try TestServers.value("HM_MONGO_URI")
            let setup = try start(uri, ["ttl_days": 7])
            let results = (1...3).map { SinkTest.result($0) }
            try await setup.notifier.send(results.map { Delivery(result: $0, reason: .always) })
            #expect(await drained(setup, produced: 3, within: 20))
            let (uri2, database) = (setup.uri, setup.database)
            let (documents, indexes) = try await SinkTest.blocking.run {
                let client = try MongoTestClient(uri: uri2, database: database)
                return (try client.documents(), try client.indexes())
            }
            try await finish(setup)

            #expect(documents.count == 3)
            for (document, result) in zip(documents, results.sorted { $0.id < $1.id }) {
                let d = try #require(document.objectValue)
                #expect(d["_id"] == .string(result.id))
                #expect(d["category"] == "healthmonitor")
                #expect(d["type"] == "random")
                #expect(d["check"] == "random")
                #expect(d["label"] == "it")
                #expect(d["status"] == .string(result.status.rawValue))
                #expect(d["message"] == .string(result.message))
                #expect(d["created"] == ["$date": ["$numberLong": .string(String(result.createdMillis))]])
                #expect(d["elapsed"]?.objectValue?["$numberDouble"]?.stringValue.flatMap(Double.init) == 0.001)
                #expect(d["host"] == "it-host")
                let m = try #require(d["measurement"]?.objectValue)
                #expect(m["n"] == ["$numberLong": .string(String(result.measurement["n"]!.intValue!))])
                #expect(m["value"]?.objectValue?["$numberDouble"] != nil)
                #expect(m["ok"] == result.measurement["ok"])
                #expect(m["tag"] == result.measurement["tag"])
                #expect(d["config"]?.objectValue?["password"] == "********")
                #expect(d.count == 12)
            }
            let byName = Dictionary(indexes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            #expect(byName["label_1_created_-1"]?.keys == ["label:1", "created:-1"])
            #expect(byName["check_1_created_-1"]?.keys == ["check:1", "created:-1"])
            #expect(byName["created_ttl"]?.keys == ["created:1"])
            #expect(byName["created_ttl"]?.expireAfterSeconds == 7 * 86_400)
        }

        /// A result the client library refuses to send (a document over the server's 16 MB
        /// limit) goes to the dead-letter file; the results around it are stored, and nothing
        /// stays stuck at the head of the spool.
        @Test func aDocumentTheClientRefusesIsDeadLetteredAndBlocksNothing() async throws {
            let uri = try TestServers.value("HM_MONGO_URI")
            let setup = try start(uri)
            var huge = SinkTest.result(2)
            huge.message = String(repeating: "x", count: 17 * 1024 * 1024)
            let results = [SinkTest.result(1), huge, SinkTest.result(3)]
            try await setup.notifier.send(results.map { Delivery(result: $0, reason: .always) })
            #expect(await drained(setup, produced: 3, within: 60))
            let stats = setup.notifier.stats
            let (uri2, database) = (setup.uri, setup.database)
            let ids = try await SinkTest.blocking.run {
                try MongoTestClient(uri: uri2, database: database).documents().compactMap { $0.objectValue?["_id"]?.stringValue }
            }
            let deadLetters = try FileSystem.readText(setup.stateDirectory + "/dead-letter.jsonl")
            try await finish(setup)
            #expect(Set(ids) == [results[0].id, results[2].id])
            #expect(stats.delivered == 2)
            #expect(stats.undeliverable == 1)
            let lines = deadLetters.split(separator: "\n")
            #expect(lines.count == 1)
            #expect(try CheckResult(spoolLine: String(lines[0])).id == huge.id)
        }

        @Test func aDuplicateIDOnARetriedInsertCountsAsDelivered() async throws {
            let uri = try TestServers.value("HM_MONGO_URI")
            let first = SinkTest.result(1)
            let database = "hm_it_\(SinkTest.unique())"
            // The result is already stored, as after an insert whose acknowledgement was lost.
            // (Before the notifier starts: SecantusDB 0.7 wedges when another connection inserts
            // into a new collection while its indexes are being created.)
            try await SinkTest.blocking.run {
                try MongoTestClient(uri: uri, database: database).insert(json: #"{"_id": "\#(first.id)", "marker": "first attempt"}"#)
            }
            let setup = try start(uri, database: database)
            let uri2 = setup.uri
            try await setup.notifier.send([first, SinkTest.result(2)].map { Delivery(result: $0, reason: .always) })
            #expect(await drained(setup, produced: 2, within: 20))
            let documents = try await SinkTest.blocking.run { try MongoTestClient(uri: uri2, database: database).documents() }
            try await finish(setup)
            #expect(setup.notifier.stats.delivered == 2)
            #expect(setup.notifier.stats.duplicates == 1)
            #expect(setup.notifier.stats.undeliverable == 0)
            #expect(documents.count == 2)
            #expect(documents.contains { $0.objectValue?["marker"] == "first attempt" })
        }

        @Test func serverStopAndRestartLosesNothing() async throws {
            let uri = try TestServers.value("HM_MONGO_URI")
            let setup = try start(uri)
            let producer = SinkTest.Producer(setup.notifier, interval: 0.02)
            try await Task.sleep(for: .seconds(1))
            try await SinkTest.services("stop-one", "mongo")
            try await Task.sleep(for: .seconds(2))
            try await SinkTest.services("start-one", "mongo")
            try await Task.sleep(for: .seconds(1))
            let produced = await producer.stop()
            #expect(await drained(setup, produced: produced.count))
            let (uri2, database) = (setup.uri, setup.database)
            let ids = try await SinkTest.blocking.run { try MongoTestClient(uri: uri2, database: database).ids() }
            try await finish(setup)

            let oracle = SinkTest.Oracle(produced: produced, consumed: ids)
            print("mongo stop/restart: \(oracle), duplicate inserts \(setup.notifier.stats.duplicates), stats \(setup.notifier.stats)")
            #expect(oracle.missing.isEmpty, "missing: \(oracle.missing.prefix(5))")
            #expect(Set(ids).count == produced.count)
            #expect(setup.notifier.stats.connectionLosses >= 1)
            #expect(producer.slowestSend < 0.5)
        }
    }
}
