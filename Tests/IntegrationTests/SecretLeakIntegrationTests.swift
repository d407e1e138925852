import Foundation
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SinkIntegrationTests {
    /// The whole monitor, debug logging on, with secrets in every place a config holds them (a
    /// URL's password and query token, request headers, the broker's password, InfluxDB's
    /// password, Slack and Teams webhook URLs). Nothing it writes anywhere carries one: not its
    /// output and logs, not the console, the webhooks' bodies, InfluxDB, RabbitMQ, MongoDB, nor
    /// the files in its state directory (a second rabbitmq notifier, its broker unreachable,
    /// keeps every result in its spool there).
    @Suite(.needs(.rabbitmq, .mongo, .influxdb, .script)) struct SecretLeakIntegrationTests {
        static let secrets = [
            "S3cretUrlPw", "S3cretQueryTok", "S3cretHeaderTok", "S3cretApiKey", "S3cretAmqpPw", "S3cretInfluxPw",
            "S3cretSlackPath", "S3cretTeamsPath", "S3cretHttpToken0",
        ]

        /// Every file under `directory`, as text.
        static func files(_ directory: String) -> [(String, String)] {
            guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
            var found: [(String, String)] = []
            for case let name as String in walker {
                let path = directory + "/" + name
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
                found.append((path, (try? FileSystem.readText(path)) ?? ""))
            }
            return found
        }

        /// The 150 characters before the first occurrence of `secret`, and the secret.
        static func context(of secret: String, in texts: [String]) -> String? {
            for text in texts {
                guard let range = text.range(of: secret) else { continue }
                let start = text.index(range.lowerBound, offsetBy: -150, limitedBy: text.startIndex) ?? text.startIndex
                return String(text[start..<range.upperBound])
            }
            return nil
        }

        @Test func noSecretReachesAnyOutput() async throws {
            let rabbitURI = try TestServers.value("HM_RABBITMQ_URI")
            let mongoURI = try TestServers.value("HM_MONGO_URI")
            let influxURL = try TestServers.value("HM_INFLUXDB_URL")
            let influxAddress = influxURL.replacingOccurrences(of: "http://", with: "").split(separator: ":")
            let influxHost = influxAddress.first.map(String.init) ?? "127.0.0.1"
            let influxPort = influxAddress.count > 1 ? String(influxAddress[1].prefix { $0.isNumber }) : "8086"
            let executable = MonitorRestartIntegrationTests.executable
            guard FileSystem.exists(executable) else {
                Issue.record("\(executable) is missing: run `swift build` first")
                return
            }
            // A broker user whose password appears nowhere else.
            let user = "hm-secret-\(SinkTest.unique())"
            _ = try await SinkTest.services("rabbitmqctl", "add_user", user, "S3cretAmqpPw")
            _ = try await SinkTest.services("rabbitmqctl", "set_permissions", "-p", "/", user, ".*", ".*", ".*")
            let amqpHost = rabbitURI.split(separator: "@").last.map(String.init) ?? "127.0.0.1:5672/%2F"
            let secretURI = "amqp://\(user):S3cretAmqpPw@\(amqpHost)"

            try await LocalHTTPServer.with { server in
                let directory = try SinkTest.directory("secrets")
                let name = "hm-it-\(SinkTest.unique())"
                let database = "hm_it_\(SinkTest.unique())"
                let influxDatabase = "hm_secrets_\(SinkTest.unique())"
                let hostAndPort = server.base.replacingOccurrences(of: "http://", with: "")
                let httpPort = try SilentListener.listenPort()
                let config = """
                    settings:
                      state_dir: \(directory)/state
                      http: {listen: "127.0.0.1:\(httpPort)", token: S3cretHttpToken0}
                    checks:
                      download:
                        fetch:
                          url: "http://hmuser:S3cretUrlPw@\(hostAndPort)/bytes/100?token=S3cretQueryTok"
                          headers:
                            Authorization: "Bearer S3cretHeaderTok"
                            X-Api-Key: S3cretApiKey
                          sleep: 0.5
                        refused:
                          url: "http://hmuser:S3cretUrlPw@127.0.0.1:\(try SilentListener.closedPort())/x?token=S3cretQueryTok"
                          sleep: 0.5
                    notifiers:
                      console:
                        format: json
                        color: never
                        report: always
                      rabbitmq:
                        uri: "\(secretURI)"
                        exchange: \(name)
                        queue: \(name)
                        report: always
                      unreachable:
                        type: rabbitmq
                        uri: "amqp://\(user):S3cretAmqpPw@127.0.0.1:\(try SilentListener.closedPort())/%2F"
                        connect_timeout: 1
                        report: always
                      mongo:
                        uri: "\(mongoURI)"
                        database: \(database)
                        report: always
                      influxdb:
                        hostname: \(influxHost)
                        port: \(influxPort)
                        database: \(influxDatabase)
                        username: hm
                        password: S3cretInfluxPw
                        report: always
                      slack:
                        webhook: "\(server.base)/hook/ok/T0/B0/S3cretSlackPath"
                        report: always
                      msteams:
                        webhook: "\(server.base)/hook/ok/S3cretTeamsPath"
                        report: always

                    """
                try FileSystem.writeAtomically(config, to: directory + "/config.yml")
                let output = directory + "/output.log"
                let monitor = try ChildProcess(
                    executable, ["run", "--config", directory + "/config.yml", "--log-level", "debug"], output: output, errorsToOutput: true)
                #expect(await SinkTest.waitUntil(30) { MonitorRestartIntegrationTests.printedIDs(output).count >= 8 })
                try await Task.sleep(for: .seconds(1))
                // Every route of the HTTP face, with the token: bodies and headers.
                let client = HTTPClient(name: "secret-leak")
                var routes: [String] = []
                for path in [
                    "/", "/healthz", "/readyz", "/metrics", "/api/v1/checks", "/api/v1/checks/download/fetch/history?since=1h",
                    "/api/v1/checks/download/refused/history?since=1h", "/api/v1/report?since=1h", "/badge/download/fetch/uptime.svg",
                    "/badge/download/fetch/latency.svg",
                ] {
                    let response = try await client.execute(
                        HTTPRequest(
                            url: "http://127.0.0.1:\(httpPort)\(path)", headers: [("Authorization", "Bearer S3cretHttpToken0")],
                            responseBody: .collect(limit: 16 << 20)))
                    routes.append("\(path) \(response.status) \(response.headers.map { "\($0.name): \($0.value)" }) \(response.text)")
                }
                client.shutdown()
                monitor.signal(SIGTERM)
                let status = try await SinkTest.blocking.run { monitor.wait() }
                #expect(status == 0)

                let messages = try await SinkTest.blocking.run { try AMQPTestClient(uri: rabbitURI).drain(name) }
                let documents = try await SinkTest.blocking.run { try MongoTestClient(uri: mongoURI, database: database).documents() }
                let slack = try await HTTPClientRetryTests.recorded(server, "/hook/ok/T0/B0/")
                let teams = try await HTTPClientRetryTests.recorded(server, "/hook/ok/S3cretTeamsPath")
                let influx = try await InfluxQuery(url: influxURL, database: influxDatabase).run("SELECT * FROM /.*/")
                try await SinkTest.blocking.run {
                    AMQPTestClient.cleanup(uri: rabbitURI, queue: name, exchange: name)
                    (try? MongoTestClient(uri: mongoURI, database: database))?.dropDatabase()
                }
                _ = try? await SinkTest.services("rabbitmqctl", "delete_user", user)
                _ = try? await InfluxQuery(url: influxURL, database: influxDatabase).run("DROP DATABASE \(influxDatabase)", post: true)
                // The unreachable broker's spool holds every result: the state directory is not empty.
                let stateFiles = Self.files(directory + "/state")

                // Every place received results: an empty place could not show a leak.
                let logText = (try? FileSystem.readText(output)) ?? ""
                let places: [(String, [String])] = [
                    ("output and logs", [logText]),
                    ("rabbitmq", messages.map(\.body)),
                    ("mongo", documents.map { $0.json() }),
                    ("slack", slack.map { ($0["body"] as? String ?? "") + "\($0["headers"] ?? "")" }),
                    ("msteams", teams.map { ($0["body"] as? String ?? "") + "\($0["headers"] ?? "")" }),
                    ("influxdb", influx.flatMap { series in series.rows.map { "\(series.name ?? "") \($0)" } }),
                    ("state directory", stateFiles.map { "\($0.0): \($0.1)" }),
                    ("HTTP face", routes),
                ]
                for (place, texts) in places {
                    #expect(texts.contains { $0.contains("fetch") || $0.contains("download") }, "\(place) received no download result")
                    for secret in Self.secrets {
                        let leak = Self.context(of: secret, in: texts)
                        #expect(leak == nil, "\(secret) in \(place): …\(leak ?? "")")
                    }
                }
                #expect(logText.contains("amqp://\(user):********@"), "the broker endpoint is logged, masked")
                print("secret leak check: \(messages.count) messages, \(documents.count) documents, \(slack.count) + \(teams.count) webhooks, \(influx.count) series")
            }
        }
    }
}
