import Foundation
import Monitor
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SinkIntegrationTests {
    /// The `rabbitmq` notifier with its defaults against the contract of Clowder's event sink.
    ///
    /// The monitor (the built executable) runs every check type, succeeding and failing, and
    /// publishes to a durable fanout exchange. Two consumers read it as Clowder's do: this test,
    /// from a durable queue of its own, checks every key and its JSON type; the event-sink
    /// consumer of `docker/event-sink` (run with Python, prefetch 1, ack after the write) stores
    /// each event in InfluxDB, which the test reads back and compares. The broker is restarted
    /// in the middle: nothing printed by the console may be missing.
    @Suite(.needs(.rabbitmq, .influxdb, .script, .eventSink)) struct ClowderEventSinkIntegrationTests {
        static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path

        /// The console's results by id (the console prints the full result).
        static func printed(_ file: String) -> [String: JSONValue] {
            let text = (try? FileSystem.readText(file)) ?? ""
            var out: [String: JSONValue] = [:]
            for line in text.split(separator: "\n") where line.hasPrefix("{") {
                guard let value = try? JSONValue.parse(String(line)), let id = value.objectValue?["id"]?.stringValue else { continue }
                out[id] = value
            }
            return out
        }

        /// What the test expects of one event's keys, from the result the console printed.
        static func checkEvent(_ event: [String: JSONValue], against result: [String: JSONValue]) {
            let check = result["check"]?.stringValue ?? ""
            let success = result["status"] == "success"
            let measurement = result["measurement"]?.objectValue ?? [:]
            let context = Comment(rawValue: "\(check)/\(result["label"]?.stringValue ?? "") \(success ? "success" : "failure")")
            // created: an integer, Unix milliseconds (13 digits), the run's start or up to 1 s
            // after it (unique per type: Clowder's consumer keeps one point per time and tags).
            guard case .int(let created) = event["created"] else {
                Issue.record("created is not an integer: \(String(describing: event["created"]))")
                return
            }
            #expect(String(created).count == 13, context)
            #expect((0...1000).contains { WallClock.iso8601(millis: Int64(created) - $0) == result["created"]?.stringValue }, context)
            #expect(event["category"] == "service_status", context)
            #expect(event["type"] == .string(success ? "up" : "down"), context)
            #expect(event["healthy"] == .bool(success), context)
            #expect(event["service_name"] == result["label"], context)
            for key in ["id", "check", "label", "status", "message", "host"] {
                #expect(event[key] == result[key], "\(key) \(context)")
            }
            #expect(event["elapsed"]?.doubleValue == result["elapsed"]?.doubleValue, context)
            #expect(event["config"] == nil && event["measurement"] == nil, context)
            for (name, value) in measurement {
                #expect(event["measurement_" + name] == value, "measurement_\(name) \(context)")
            }
            for (key, value) in event {
                if case .object = value { Issue.record("\(key) is nested (\(context))") }
                if case .array = value { Issue.record("\(key) is nested (\(context))") }
            }
            // uptime: a double in 0…1.
            if case .double(let uptime) = event["uptime"] {
                #expect(uptime >= 0 && uptime <= 1, context)
            } else {
                Issue.record("uptime is not a number with a fraction: \(String(describing: event["uptime"])) (\(context))")
            }
            // Response times: doubles, per check type.
            let times = ["response_time_avg", "response_time_min", "response_time_max"].map { event[$0] }
            func isDouble(_ value: JSONValue?) -> Bool { if case .double = value { true } else { false } }
            switch check {
            case "ping":
                #expect(event["response_time_loss"] == .double(measurement["loss"]?.doubleValue ?? 100), context)
                #expect(isDouble(event["response_time_loss"]), context)
                if measurement["avg"] != nil {
                    #expect(times == [measurement["avg"], measurement["min"], measurement["max"]].map { $0.flatMap { .double($0.doubleValue!) } }, context)
                } else {
                    #expect(times.allSatisfy { $0 == nil }, context)
                }
            case "hostport", "download", "filewrite":
                let key = check == "hostport" ? "connect_ms" : check == "download" ? "total_ms" : "write_ms"
                if success {
                    let time = measurement[key]?.doubleValue
                    #expect(time != nil && times.allSatisfy { $0 == .double(time!) }, context)
                    #expect(times.allSatisfy(isDouble), context)
                } else {
                    #expect(times.allSatisfy { $0 == nil }, context)
                }
                #expect(event["response_time_loss"] == nil, context)
            default:
                #expect(times.allSatisfy { $0 == nil } && event["response_time_loss"] == nil, context)
            }
        }

        @Test func eventsAreWhatClowdersConsumersReadAndStore() async throws {
            let rabbitURI = try TestServers.value("HM_RABBITMQ_URI")
            let influxURL = try TestServers.value("HM_INFLUXDB_URL")
            let python = try TestServers.value("HM_EVENT_SINK_PYTHON")
            let executable = MonitorRestartIntegrationTests.executable
            guard FileSystem.exists(executable) else {
                Issue.record("\(executable) is missing: run `swift build` first")
                return
            }
            let directory = try SinkTest.directory("clowder")
            let unique = SinkTest.unique()
            let exchange = "hm-it-metrics-\(unique)"
            let ourQueue = "hm-it-check-\(unique)"
            let sinkQueue = "hm-it-event-sink-\(unique)"
            let database = "hm_eventsink_\(unique)"

            // The event-sink consumer, as in a Clowder deployment (its own durable queue).
            let consumerLog = directory + "/event-sink.log"
            let consumer = try ChildProcess(
                "/usr/bin/env",
                [
                    "RABBITMQ_URI=\(rabbitURI)", "RABBITMQ_EXCHANGENAME=\(exchange)", "RABBITMQ_QUEUENAME=\(sinkQueue)",
                    "INFLUXDB_URL=\(influxURL)", "INFLUXDB_DATABASE=\(database)", "INFLUXDB_MEASUREMENT=events",
                    python, Self.root + "/docker/event-sink/event_sink.py",
                ], output: consumerLog, errorsToOutput: true)
            defer { consumer.signal(SIGKILL) }  // if the test ends early; a no-op after the stop below
            #expect(await SinkTest.waitUntil(30) { ((try? FileSystem.readText(consumerLog)) ?? "").contains("consuming") }, "event-sink consumer started")
            try await SinkTest.blocking.run { try AMQPTestClient(uri: rabbitURI).declareBoundQueue(ourQueue, exchange: exchange) }

            try await LocalHTTPServer.with { server in
                let listener = try SilentListener()  // the kernel completes the connect: hostport succeeds
                defer { listener.close() }
                let closed = try SilentListener.closedPort()
                let config = """
                    settings:
                      state_dir: \(directory)/state
                    checks:
                      ping:
                        clowder: {host: 127.0.0.1, count: 2, interval: 0.05, sleep: 0.5}
                        nohost: {host: no-such-host.invalid, count: 1, sleep: 0.5}
                      hostport:
                        clowder: {host: 127.0.0.1, port: \(listener.port), sleep: 0.5}
                        closedsvc: {host: 127.0.0.1, port: \(closed), sleep: 0.5}
                      download:
                        clowder: {url: "\(server.base)/bytes/2000", sleep: 0.5}
                        deadweb: {url: "http://127.0.0.1:\(closed)/x", sleep: 0.5}
                      filewrite:
                        files: {file: "\(directory)/probe.txt", sleep: 0.5}
                        badfile: {file: "\(directory)/no/such/dir/probe.txt", sleep: 0.5}
                      random:
                        demo: {sleep: 0.5}
                    notifiers:
                      console:
                        format: json
                        color: never
                        report: always
                      rabbitmq:
                        uri: "\(rabbitURI)"
                        exchange: \(exchange)
                        connect_timeout: 2

                    """
                try FileSystem.writeAtomically(config, to: directory + "/config.yml")
                let output = directory + "/output.log"
                let monitor = try ChildProcess(executable, ["run", "--config", directory + "/config.yml"], output: output, errorsToOutput: true)
                #expect(await SinkTest.waitUntil(30) { Self.printed(output).count >= 30 })
                // The broker restarts mid-run: durable queues and persistent messages survive,
                // the notifier spools meanwhile, both consumers reconnect.
                _ = try await SinkTest.services("restart", "rabbitmq")
                // Stop once the notifier is connected again and has published a while: results
                // still spooled at the stop would be kept for the next start, not in the queue.
                #expect(await SinkTest.waitUntil(60) { ((try? FileSystem.readText(output)) ?? "").contains("sink reachable again") })
                let afterRestart = Self.printed(output).count
                #expect(await SinkTest.waitUntil(30) { Self.printed(output).count >= afterRestart + 30 })
                monitor.signal(SIGTERM)
                let status = try await SinkTest.blocking.run { monitor.wait() }
                #expect(status == 0)

                let results = Self.printed(output)
                let messages = try await SinkTest.blocking.run { try AMQPTestClient(uri: rabbitURI).drain(ourQueue) }
                let events = messages.compactMap { try? JSONValue.parse($0.body).objectValue }
                #expect(events.count == messages.count, "every body is a JSON object")
                let oracle = SinkTest.Oracle(produced: Array(results.keys), consumed: events.compactMap { $0["id"]?.stringValue })
                print("clowder format: \(oracle); example events:")
                var seenKinds: Set<String> = []
                for event in events {
                    guard let id = event["id"]?.stringValue, let result = results[id]?.objectValue else { continue }
                    Self.checkEvent(event, against: result)
                    let kind = "\(event["check"]?.stringValue ?? "")/\(event["label"]?.stringValue ?? "")"
                    if seenKinds.insert(kind).inserted { print(messages.first { $0.messageID == id }?.body ?? "") }
                }
                #expect(oracle.missing.isEmpty, "missing after the broker restart: \(oracle.missing.prefix(5))")
                #expect(seenKinds.count == 9, "every check, success and failure: \(seenKinds.sorted())")
                for message in messages {
                    #expect(message.deliveryMode == 2 && message.contentType == "application/json")
                    #expect(message.messageID != nil && message.messageID == (try? JSONValue.parse(message.body))?.objectValue?["id"]?.stringValue)
                }

                // What the event sink stored: one point per (time, tags), as InfluxDB keys them;
                // events of the same millisecond with the same tags overwrite each other there.
                var expected: [String: [String: JSONValue]] = [:]
                for event in events {
                    let key = "\(event["created"]?.intValue ?? 0) \(event["type"]!) \(event["healthy"]!)"
                    expected[key] = event
                }
                #expect(expected.count == events.count, "every event is a point of its own (created is unique per type)")
                let query = InfluxQuery(url: influxURL, database: database)
                var rows: [[String: InfluxQuery.Cell]] = []
                var stored = false
                var queryError = ""
                for _ in 0..<120 where !stored {
                    do {
                        rows = try await query.select("SELECT * FROM events").rows
                        queryError = ""
                    } catch {
                        rows = []
                        queryError = " (the last query failed: \(error))"
                    }
                    stored = rows.count >= expected.count
                    if !stored { try await Task.sleep(for: .milliseconds(500)) }
                }
                #expect(stored, "InfluxDB holds \(rows.count) of \(expected.count) points\(queryError)")
                var matched = 0
                for row in rows {
                    guard case .int(let nanos) = row["time"], let type = row["type"]?.string, let healthy = row["healthy"]?.string else {
                        Issue.record("a point without time or tags: \(row)")
                        continue
                    }
                    let key = "\(nanos / 1_000_000) \(JSONValue.string(type)) \(JSONValue.bool(healthy == "True"))"
                    guard let event = expected[key] else {
                        Issue.record("a point no event explains: \(row)")
                        continue
                    }
                    matched += 1
                    #expect(row["category"]?.string == "service_status")
                    #expect(healthy == (event["healthy"] == true ? "True" : "False"), "a boolean tag, as Python writes it")
                    #expect(row["service_name"]?.string == event["service_name"]?.stringValue)
                    for field in ["response_time_avg", "response_time_min", "response_time_max", "response_time_loss", "uptime"] {
                        #expect(row[field]?.double == event[field]?.doubleValue, "\(field) of \(key)")
                    }
                    #expect(row["id"] == nil && row["message"] == nil, "only the contract's keys are stored")
                }
                #expect(matched == expected.count)
                _ = try? await query.run("DROP DATABASE \(database)", post: true)
            }
            try await SinkTest.blocking.run { AMQPTestClient.cleanup(uri: rabbitURI, queue: ourQueue, exchange: exchange) }
            _ = try? await SinkTest.blocking.run { try AMQPTestClient(uri: rabbitURI).delete(queue: sinkQueue, exchange: nil) }
            // The consumer stops on SIGTERM (as `docker stop` sends it), within seconds.
            let exited = Atomic<Bool>(false)
            let waiter = Task {
                _ = try? await SinkTest.blocking.run { consumer.wait() }
                exited.store(true, ordering: .sequentiallyConsistent)
            }
            consumer.signal(SIGTERM)
            let stopped = await SinkTest.waitUntil(10) { exited.load(ordering: .sequentiallyConsistent) }
            if !stopped { consumer.signal(SIGKILL) }
            await waiter.value
            #expect(stopped, "the event-sink consumer did not stop on SIGTERM")
            let consumerText = (try? FileSystem.readText(consumerLog)) ?? ""
            #expect(!consumerText.contains("event dropped"), "the event sink stored every event: \(consumerText.suffix(500))")
        }
    }
}
