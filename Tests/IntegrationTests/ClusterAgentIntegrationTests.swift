import AMQPClient
import Cluster
import Foundation
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SinkIntegrationTests {
    /// `healthmonitor agent` against Debian's rabbitmq-server, each test in a vhost of its own
    /// (made with rabbitmqctl, as a deployment would isolate a cluster).
    @Suite(.needs(.rabbitmq, .script)) struct ClusterAgentIntegrationTests {
        /// A fresh vhost that `guest` may use; `body` gets its URI. Deleted afterwards.
        func withVhost<T>(_ body: (String) async throws -> T) async throws -> T {
            let vhost = "hm-cluster-\(SinkTest.unique())"
            _ = try await SinkTest.services("rabbitmqctl", "add_vhost", vhost)
            _ = try await SinkTest.services("rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
            let base = try TestServers.value("HM_RABBITMQ_URI")
            let uri = String(base[..<base.lastIndex(of: "/")!]) + "/" + vhost
            do {
                let value = try await body(uri)
                _ = try? await SinkTest.services("rabbitmqctl", "delete_vhost", vhost)
                return value
            } catch {
                _ = try? await SinkTest.services("rabbitmqctl", "delete_vhost", vhost)
                throw error
            }
        }

        /// The topology agents and controller declare, declared by the test first (with the
        /// project's own AMQP connection) so that requests published before an agent starts wait
        /// in its location's queue.
        func declareTopology(_ uri: String, location: String) throws {
            let connection = try AMQPConnection(endpoint: try AMQPEndpoint(uri: uri), heartbeat: 0, timeout: 10, caFile: nil, verify: false, name: "test")
            defer { connection.closeGracefully() }
            let queue = ClusterTopology.requestQueue(location)
            try connection.declareExchange(ClusterTopology.requestExchange, type: "direct")
            try connection.declareQueue(queue, arguments: ClusterTopology.requestQueueArguments)
            try connection.bind(queue: queue, exchange: ClusterTopology.requestExchange, routingKey: location)
            try connection.declareExchange(ClusterTopology.resultExchange, type: "direct")
            try connection.declareQueue(ClusterTopology.resultQueue)
            try connection.bind(queue: ClusterTopology.resultQueue, exchange: ClusterTopology.resultExchange, routingKey: ClusterTopology.resultRoutingKey)
            try connection.declareExchange(ClusterTopology.heartbeatExchange, type: "fanout")
        }

        /// Waits (30 s at most) until each location's request queue has `agents` consumers: agents
        /// started just before a controller may not have declared their queue when its first
        /// requests go out (on a busy machine), and those would be counted unroutable.
        func waitForAgents(_ uri: String, _ agents: [String: Int]) async throws {
            let deadline = ContinuousClock.now + .seconds(30)
            var ready: [String: Int] = [:]
            while ContinuousClock.now < deadline {
                for (location, _) in agents {
                    // A passive declare of a queue not yet there closes the channel: a new client each time.
                    ready[location] = try? await SinkTest.blocking.run { try AMQPTestClient(uri: uri).consumerCount(ClusterTopology.requestQueue(location)) }
                }
                if agents.allSatisfy({ ready[$0.key, default: 0] >= $0.value }) { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("agents not consuming within 30 s: \(ready), expected \(agents)")
        }

        /// Reads the result queue until `count` results came (30 s at most), by request id.
        func results(_ uri: String, count: Int) async throws -> [String: [String: JSONValue]] {
            var byRequest: [String: [String: JSONValue]] = [:]
            let deadline = ContinuousClock.now + .seconds(30)
            while byRequest.count < count, ContinuousClock.now < deadline {
                let messages = try await SinkTest.blocking.run { try AMQPTestClient(uri: uri).drain(ClusterTopology.resultQueue) }
                for message in messages {
                    let object = try #require(try JSONValue.parse(message.body).objectValue)
                    let request = try #require(object["request"]?.stringValue)
                    #expect(byRequest[request] == nil, "a second result for request \(request)")
                    byRequest[request] = object
                    #expect(message.deliveryMode == 2, "results are persistent")
                }
                if byRequest.count < count { try await Task.sleep(for: .milliseconds(100)) }
            }
            return byRequest
        }

        /// An agent runs what its location is asked: a check that passes, one that fails, a type it
        /// does not know (a failure result that says so), and drops a message that is no request.
        /// Each result carries the request, location and agent; every request is acknowledged
        /// (none is left in the queue after the agent stops); the agent heartbeats.
        @Test func anAgentRunsWhatItsLocationIsAsked() async throws {
            try await withVhost { uri in
                let listener = try SilentListener()
                defer { listener.close() }
                let closed = try SilentListener.closedPort()
                let requests = [
                    RunRequest(check: "hostport", label: "open", options: ["host": "127.0.0.1", "port": .int(Int(listener.port))], location: "eu", dueMillis: 1, controller: "test"),
                    RunRequest(check: "hostport", label: "closed", options: ["host": "127.0.0.1", "port": .int(Int(closed))], location: "eu", dueMillis: 2, controller: "test"),
                    RunRequest(check: "smtp", label: "mail", options: ["host": "127.0.0.1"], location: "eu", dueMillis: 3, controller: "test"),
                ]
                try await SinkTest.blocking.run { [self] in
                    try declareTopology(uri, location: "eu")
                    let client = try AMQPTestClient(uri: uri)
                    try client.declareBoundQueue("test-heartbeats", exchange: ClusterTopology.heartbeatExchange)
                    for request in requests {
                        try client.publish(exchange: ClusterTopology.requestExchange, routingKey: "eu", body: request.json())
                    }
                    try client.publish(exchange: ClusterTopology.requestExchange, routingKey: "eu", body: "hello")
                }
                let agent = try Binary.start(["agent", "--location", "eu", "--cluster-uri", uri, "--name", "agent-1"])
                let results = try await results(uri, count: requests.count)
                agent.process.signal(SIGTERM)
                let out = await agent.finish()
                #expect(out.status == 0, "\(out.stderr)")
                #expect(results.count == requests.count, "\(out.stderr)")
                for request in requests {
                    let result = try #require(results[request.id], "no result for \(request.key)")
                    #expect(result["location"] == "eu" && result["agent"] == "agent-1")
                    #expect(result["check"]?.stringValue == request.check && result["label"]?.stringValue == request.label)
                    #expect(result["host"]?.stringValue == HostName.current)
                    #expect(result["id"]?.stringValue?.count == 36)
                }
                #expect(results[requests[0].id]?["status"] == "success")
                #expect(results[requests[0].id]?["measurement"]?.objectValue?["connect_ms"] != nil)
                // The config, written once per check by the agent, is the request's options.
                #expect(results[requests[0].id]?["config"]?.objectValue?["port"]?.intValue == Int(listener.port))
                #expect(results[requests[1].id]?["config"]?.objectValue?["port"]?.intValue == Int(closed))
                #expect(results[requests[1].id]?["status"] == "failure")
                #expect(results[requests[1].id]?["message"]?.stringValue?.contains("connection refused") == true)
                #expect(results[requests[2].id]?["status"] == "failure")
                #expect(results[requests[2].id]?["message"]?.stringValue?.hasPrefix("this agent does not know the check type \"smtp\"") == true)
                #expect(out.stderr.contains("dropped a message that is not a run request"))
                let (left, beats) = try await SinkTest.blocking.run {
                    let client = try AMQPTestClient(uri: uri)
                    return (try client.drain(ClusterTopology.requestQueue("eu")), try client.drain("test-heartbeats"))
                }
                #expect(left.isEmpty, "requests left unacknowledged: \(left.map(\.body))")
                let beat = try #require(beats.first.map { try JSONValue.parse($0.body).objectValue })
                #expect(beat?["agent"] == "agent-1" && beat?["location"] == "eu")
                #expect(beat?["interval"]?.doubleValue == 5)
            }
        }

        /// A request is acknowledged only after its result is confirmed: an agent killed (-9) in
        /// the middle of a run leaves it unacknowledged, and the broker gives it to the sibling of
        /// the same location, which runs it. One result, from the sibling.
        @Test func aKilledAgentsRequestIsRunByItsSibling() async throws {
            try await LocalHTTPServer.with { server in
                try await withVhost { uri in
                    // A download that takes about 2 s (8 chunks, 0.25 s apart).
                    let request = RunRequest(
                        check: "download", label: "slow", options: ["url": .string(server.base + "/slow/8?chunk=1&delay=0.25")], location: "eu",
                        dueMillis: 1, controller: "test")
                    try await SinkTest.blocking.run { [self] in
                        try declareTopology(uri, location: "eu")
                        try AMQPTestClient(uri: uri).publish(exchange: ClusterTopology.requestExchange, routingKey: "eu", body: request.json())
                    }
                    let first = try Binary.start(["agent", "--location", "eu", "--cluster-uri", uri, "--name", "agent-1", "--prefetch", "1"])
                    // The first agent has taken the request when the queue shows it no more.
                    let deadline = ContinuousClock.now + .seconds(15)
                    while ContinuousClock.now < deadline {
                        let waiting = try await SinkTest.blocking.run { try AMQPTestClient(uri: uri).messageCount(ClusterTopology.requestQueue("eu")) }
                        if waiting == 0 { break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    let second = try Binary.start(["agent", "--location", "eu", "--cluster-uri", uri, "--name", "agent-2", "--prefetch", "1"])
                    try await Task.sleep(for: .milliseconds(500))
                    first.process.signal(SIGKILL)
                    let killed = await first.finish()
                    let results = try await results(uri, count: 1)
                    second.process.signal(SIGTERM)
                    let out = await second.finish()
                    #expect(out.status == 0, "\(out.stderr)")
                    #expect(results.count == 1, "agent-1: \(killed.stderr)\nagent-2: \(out.stderr)")
                    let result = try #require(results[request.id])
                    #expect(result["agent"] == "agent-2")
                    #expect(result["status"] == "success", "\(result)")
                    #expect(result["measurement"]?.objectValue?["bytes"]?.intValue == 8)
                    // Nothing more comes: the killed agent's run left no result behind.
                    try await Task.sleep(for: .milliseconds(500))
                    let late = try await SinkTest.blocking.run { try AMQPTestClient(uri: uri).drain(ClusterTopology.resultQueue) }
                    #expect(late.isEmpty)
                }
            }
        }

        /// The controller's config for one hostport check of `port` in `locations`, every result
        /// printed (console, report always).
        func controllerConfig(_ directory: String, uri: String, port: UInt16, locations: String) -> String {
            """
            settings: {state_dir: \(directory)/state, http: {listen: "off"}, history: {enabled: false}, cluster: {uri: "\(uri)", name: ctl-test}}
            checks:
              hostport:
                web: {host: 127.0.0.1, port: \(port), sleep: 0.5, locations: [\(locations)]}
            notifiers:
              console: {report: always}
            """
        }

        /// `run` with settings.cluster is the controller: the local run goes on in-process, the
        /// run in `eu` goes to eu's agent, and both results reach the notifiers, the agent's keyed
        /// `hostport/web@eu` and carrying its location and agent.
        @Test func aControllerRunsItsLocationsThroughTheirAgents() async throws {
            try await withVhost { uri in
                let listener = try SilentListener()
                defer { listener.close() }
                let directory = try SinkTest.directory("controller")
                try controllerConfig(directory, uri: uri, port: listener.port, locations: "local, eu").write(toFile: directory + "/c.yml", atomically: true, encoding: .utf8)
                let agent = try Binary.start(["agent", "--location", "eu", "--cluster-uri", uri, "--name", "agent-eu"])
                try await waitForAgents(uri, ["eu": 1])
                let controller = try Binary.start(["run", "--config", directory + "/c.yml"])
                try await Task.sleep(for: .seconds(4))
                controller.process.signal(SIGTERM)
                let out = await controller.finish()
                agent.process.signal(SIGTERM)
                let agentOut = await agent.finish()
                #expect(out.status == 0 && agentOut.status == 0, "\(out.stderr)\n\(agentOut.stderr)")
                let lines = out.stdout.split(separator: "\n")
                let remote = lines.filter { $0.contains(" OK   hostport/web@eu ") }
                let local = lines.filter { $0.contains(" OK   hostport/web ") }
                #expect(remote.count >= 4 && local.count >= 4, "\(out.stdout)\n\(out.stderr)")
                #expect(lines.allSatisfy { $0.contains(" OK ") }, "\(out.stdout)")
                #expect(out.stderr.contains("expired=0") && out.stderr.contains("unroutable=0"), "\(out.stderr)")
                #expect(!out.stderr.contains("requested=0"))
            }
        }

        /// A location no agent ever served (no queue) returns the requests at once, and a location
        /// whose agents are all away lets them expire: both are "no data", never a result, and
        /// the local run goes on.
        @Test func aLocationWithoutAgentsHasNoData() async throws {
            try await withVhost { uri in
                let listener = try SilentListener()
                defer { listener.close() }
                // us has a queue (an agent was there once), ap never had one.
                try await SinkTest.blocking.run { [self] in try declareTopology(uri, location: "us") }
                let directory = try SinkTest.directory("controller")
                try controllerConfig(directory, uri: uri, port: listener.port, locations: "local, us, ap").write(toFile: directory + "/c.yml", atomically: true, encoding: .utf8)
                let controller = try Binary.start(["run", "--config", directory + "/c.yml"])
                try await Task.sleep(for: .seconds(3))
                controller.process.signal(SIGTERM)
                let out = await controller.finish()
                #expect(out.status == 0, "\(out.stderr)")
                #expect(out.stdout.split(separator: "\n").filter { $0.contains("hostport/web ") }.count >= 4, "\(out.stdout)")
                #expect(!out.stdout.contains("@us") && !out.stdout.contains("@ap"), "\(out.stdout)")
                #expect(out.stderr.contains("no agent has ever served this location"), "\(out.stderr)")
                #expect(out.stderr.contains("location=ap"))
                // Stale requests expired in us's queue (TTL of the period): none is waiting.
                let waiting = try await SinkTest.blocking.run { try AMQPTestClient(uri: uri).messageCount(ClusterTopology.requestQueue("us")) }
                #expect(waiting <= 1, "requests outlived their TTL: \(waiting)")
            }
        }

        /// A controller config (in a new directory, returned) of `count` hostport checks `c0`… of
        /// `port` every `sleep` seconds in `locations`, every result printed as JSON.
        func manyChecksConfig(uri: String, port: Int, count: Int, sleep: Double, locations: String) throws -> String {
            let directory = try SinkTest.directory("controller")
            let checks = (0..<count).map { "    c\($0): {host: 127.0.0.1, port: \(port), sleep: \(sleep), locations: [\(locations)]}" }
            try """
            settings: {state_dir: \(directory)/state, http: {listen: "off"}, history: {enabled: false}, cluster: {uri: "\(uri)", name: ctl-test}}
            checks:
              hostport:
            \(checks.joined(separator: "\n"))
            notifiers:
              console: {report: always, format: json}
            """.write(toFile: directory + "/c.yml", atomically: true, encoding: .utf8)
            return directory
        }

        /// The controller's counts at stop (its "cluster controller stopped" log line), by name
        /// (-1: absent); `accounted` is the sum of the ends a request can have.
        func stopFigures(_ stderr: String) throws -> (line: Substring, figure: (String) -> Int) {
            let stopped = try #require(stderr.split(separator: "\n").last { $0.contains("cluster controller stopped") })
            func figure(_ name: String) -> Int {
                if name == "accounted" { return ["answered", "expired", "unroutable", "abandoned", "interrupted"].map(figure).reduce(0, +) }
                return stopped.split(separator: " ").first { $0.hasPrefix(name + "=") }.flatMap { Int($0.dropFirst(name.count + 1)) } ?? -1
            }
            return (stopped, figure)
        }

        /// The broker restarts under load: controller and agent reconnect by themselves, every
        /// check of the location has results again after it, no result is routed twice, and every
        /// request is accounted for: answered, expired (no data), returned, interrupted by the
        /// lost connection or abandoned at stop.
        @Test func aBrokerRestartIsRiddenOut() async throws {
            // A server that accepts (a silent listener's backlog would fill up: 40 connects a second).
            try await LocalHTTPServer.with { server in try await withVhost { uri in
                let directory = try manyChecksConfig(uri: uri, port: server.port, count: 20, sleep: 0.5, locations: "eu")
                let agent = try Binary.start(["agent", "--location", "eu", "--cluster-uri", uri, "--name", "agent-eu"])
                try await waitForAgents(uri, ["eu": 1])
                let controller = try Binary.start(["run", "--config", directory + "/c.yml"])
                try await Task.sleep(for: .seconds(3))
                try await SinkTest.services("stop-one", "rabbitmq")
                try await Task.sleep(for: .seconds(1))
                try await SinkTest.services("start-one", "rabbitmq")
                let restartedMillis = Int64(WallClock.nowMillis())
                // Reconnects back off up to 10 s; then 3 s of runs.
                try await Task.sleep(for: .seconds(15))
                controller.process.signal(SIGTERM)
                let out = await controller.finish()
                agent.process.signal(SIGTERM)
                let agentOut = await agent.finish()
                #expect(out.status == 0 && agentOut.status == 0, "\(out.stderr.suffix(3000))\n\(agentOut.stderr.suffix(3000))")
                let results = try out.stdout.split(separator: "\n").map { try #require(try JSONValue.parse(String($0)).objectValue) }
                let ids = results.compactMap { $0["id"]?.stringValue }
                #expect(Set(ids).count == ids.count, "a result routed twice")
                // After the restart (and the reconnects, within 10 s), every check has results
                // again. (ISO-8601 UTC times with milliseconds sort as text.)
                let after = WallClock.iso8601(millis: restartedMillis + 10_000)
                // (The controller's own agents/eu check prints results too: only the hostport checks count.)
                let late = Set(
                    results.filter { $0["check"] == "hostport" && ($0["created"]?.stringValue ?? "") > after }.compactMap { $0["label"]?.stringValue })
                #expect(late.count == 20, "checks with results after the restart: \(late.sorted())\n\(out.stderr.suffix(3000))\n\(agentOut.stderr.suffix(3000))")
                let (stopped, figure) = try stopFigures(out.stderr)
                #expect(figure("requested") > 0 && figure("requested") == figure("accounted"), "\(stopped)")
                #expect(figure("answered") <= results.count)
            } }
        }

        /// 3 agents in 2 locations (eu-1 and eu-2 in eu, us-1 in us), 10 checks in both. eu-1 is
        /// killed (-9), later started again: eu keeps every check running (no check of eu goes
        /// without a result for longer than its sleep + 5 s), the restarted eu-1 takes its share
        /// again, us never notices, and every request is accounted for (a result or a counted
        /// expiry, nothing lost).
        @Test func aLocationKeepsRunningThroughAKilledAndARestartedAgent() async throws {
            try await LocalHTTPServer.with { server in try await withVhost { uri in
                let directory = try manyChecksConfig(uri: uri, port: server.port, count: 10, sleep: 1, locations: "eu, us")
                func agent(_ location: String, _ name: String) throws -> Binary.Launched {
                    try Binary.start(["agent", "--location", location, "--cluster-uri", uri, "--name", name])
                }
                var agents = [try agent("eu", "eu-1"), try agent("eu", "eu-2"), try agent("us", "us-1")]
                try await waitForAgents(uri, ["eu": 2, "us": 1])
                let controller = try Binary.start(["run", "--config", directory + "/c.yml"])
                try await Task.sleep(for: .seconds(4))
                agents[0].process.signal(SIGKILL)
                _ = await agents[0].finish()
                try await Task.sleep(for: .seconds(8))
                let restarted = WallClock.iso8601(millis: Int64(WallClock.nowMillis()))
                agents[0] = try agent("eu", "eu-1")
                try await Task.sleep(for: .seconds(5))
                controller.process.signal(SIGTERM)
                let out = await controller.finish()
                var logs = ""
                for running in agents {
                    running.process.signal(SIGTERM)
                    let finished = await running.finish()
                    #expect(finished.status == 0, "\(finished.stderr.suffix(2000))")
                    logs += finished.stderr.suffix(2000)
                }
                #expect(out.status == 0, "\(out.stderr.suffix(3000))")
                let results = try out.stdout.split(separator: "\n").map { try #require(try JSONValue.parse(String($0)).objectValue) }
                    .filter { $0["check"] == "hostport" }
                // Every check of each location ran all along: no gap between two results of one
                // check in one location longer than sleep (1 s) + 5 s, and results until the end.
                let last = WallClock.iso8601(millis: Int64(WallClock.nowMillis()) - 4_000)
                for location in ["eu", "us"] {
                    for label in (0..<10).map({ "c\($0)" }) {
                        let times = results.filter { $0["label"]?.stringValue == label && $0["location"]?.stringValue == location }
                            .compactMap { $0["created"]?.stringValue }.sorted().compactMap(millis(iso8601:))
                        #expect(times.count >= 10, "\(label)@\(location): \(times.count) results\n\(out.stderr.suffix(2000))\n\(logs)")
                        let gap = zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? Int64.max
                        #expect(gap <= 6_000, "\(label)@\(location): \(gap) ms without a result")
                        #expect(times.last.map { WallClock.iso8601(millis: $0) > last } == true, "\(label)@\(location) stopped running")
                    }
                }
                #expect(results.allSatisfy { $0["status"] == "success" }, "\(results.filter { $0["status"] != "success" }.prefix(3))")
                // Each location's results come from its own agents; the restarted eu-1 takes its share.
                #expect(results.allSatisfy { ($0["location"] == "eu") == ($0["agent"] == "eu-1" || $0["agent"] == "eu-2") })
                #expect(results.allSatisfy { ($0["location"] == "us") == ($0["agent"] == "us-1") })
                let afterRestart = results.filter { $0["agent"] == "eu-1" && ($0["created"]?.stringValue ?? "") > restarted }
                #expect(afterRestart.count >= 5, "the restarted eu-1 ran \(afterRestart.count) checks")
                // Nothing lost: every request answered (printed), expired or otherwise counted.
                let (stopped, figure) = try stopFigures(out.stderr)
                #expect(figure("requested") > 0 && figure("requested") == figure("accounted"), "\(stopped)")
                #expect(results.count == figure("answered") + figure("late"), "\(results.count) results printed; \(stopped)")
                #expect(figure("duplicates") == 0 && figure("unroutable") == 0, "\(stopped)")
            } }
        }

        /// `once` of a controller asks the agents for the checks of their locations and waits for
        /// their results; a location whose requests expire unrun (us: a queue, no agent) is a
        /// NODATA row, and the exit status is 1.
        @Test func onceAsksTheAgentsAndNamesTheLocationsThatDidNotAnswer() async throws {
            try await withVhost { uri in
                let listener = try SilentListener()
                defer { listener.close() }
                try await SinkTest.blocking.run { [self] in try declareTopology(uri, location: "us") }
                let directory = try SinkTest.directory("controller")
                try controllerConfig(directory, uri: uri, port: listener.port, locations: "local, eu, us")
                    .replacingOccurrences(of: "sleep: 0.5", with: "sleep: 1").write(toFile: directory + "/c.yml", atomically: true, encoding: .utf8)
                let agent = try Binary.start(["agent", "--location", "eu", "--cluster-uri", uri, "--name", "agent-eu"])
                try await waitForAgents(uri, ["eu": 1])
                let out = try await Binary.run(["once", "--config", directory + "/c.yml"])
                agent.process.signal(SIGTERM)
                _ = await agent.finish()
                #expect(out.status == 1, "\(out.stdout)\n\(out.stderr)")
                let rows = out.stdout.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) } }
                let byKey = Dictionary(rows.filter { $0.count >= 2 }.map { ($0[1], $0) }, uniquingKeysWith: { first, _ in first })
                #expect(byKey["hostport/web"]?.first == "OK", "\(out.stdout)")
                #expect(byKey["hostport/web@eu"]?.first == "OK", "\(out.stdout)")
                #expect(byKey["hostport/web@us"] == ["NODATA", "hostport/web@us", "-", "no result: no agent in us answered"], "\(out.stdout)")
                #expect(byKey["agents/eu"] == nil && byKey["agents/us"] == nil, "\(out.stdout)")
                #expect(out.stdout.contains("3 checks, 2 succeeded, 0 failed, 1 without a result"), "\(out.stdout)")
                #expect(out.stderr.contains("expired=1"), "\(out.stderr)")
            }
        }

        /// Milliseconds since 1970 of an ISO-8601 UTC time with milliseconds (`created`).
        func millis(iso8601 text: String) -> Int64? {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
        }

        /// The controller's built-in `agents/LOCATION` check: up while the location has a live
        /// agent, down (through the notifiers, like any check) once the last one has been silent
        /// for 15 s; the location's runs meanwhile have no data.
        @Test func aLocationThatLosesItsLastAgentIsReported() async throws {
            try await withVhost { uri in
                let listener = try SilentListener()
                defer { listener.close() }
                let directory = try SinkTest.directory("controller")
                try controllerConfig(directory, uri: uri, port: listener.port, locations: "eu")
                    .replacingOccurrences(of: "sleep: 0.5", with: "sleep: 2").write(toFile: directory + "/c.yml", atomically: true, encoding: .utf8)
                let agent = try Binary.start(["agent", "--location", "eu", "--cluster-uri", uri, "--name", "agent-eu"])
                try await waitForAgents(uri, ["eu": 1])
                let controller = try Binary.start(["run", "--config", directory + "/c.yml"])
                try await Task.sleep(for: .seconds(8))
                agent.process.signal(SIGKILL)
                _ = await agent.finish()
                // Down once the last heartbeat (at most 8 s in) is 15 s old, at the check's next
                // run (every 10 s): by 33 s in, whatever the check's phase.
                try await Task.sleep(for: .seconds(30))
                controller.process.signal(SIGTERM)
                let out = await controller.finish()
                #expect(out.status == 0, "\(out.stderr)")
                let lines = out.stdout.split(separator: "\n").filter { $0.contains(" agents/eu ") }
                let up = try #require(lines.firstIndex { $0.contains("OK   agents/eu 1 live agent in eu: agent-eu") }, "\(out.stdout)")
                let down = try #require(lines.firstIndex { $0.contains("FAIL agents/eu no live agent in eu (last heard: agent-eu, ") }, "\(out.stdout)")
                #expect(up < down)
                #expect(lines[down...].allSatisfy { $0.contains("FAIL") }, "\(lines)")
            }
        }

        /// `quorum: 2` over local and eu: the notifiers see the check as a whole only (down: both
        /// locations fail), never a location's result; the history has each location and the
        /// whole, so `report` answers for all three.
        @Test func aQuorumAlertsOnTheWholeAndReportsEveryLocation() async throws {
            try await withVhost { uri in
                let closed = try SilentListener.closedPort()
                let directory = try SinkTest.directory("controller")
                try """
                settings: {state_dir: \(directory)/state, http: {listen: "off"}, cluster: {uri: "\(uri)", name: ctl-test}}
                checks:
                  hostport:
                    web: {host: 127.0.0.1, port: \(closed), sleep: 0.5, locations: [local, eu], quorum: 2}
                notifiers:
                  console: {report: always}
                """.write(toFile: directory + "/c.yml", atomically: true, encoding: .utf8)
                let agent = try Binary.start(["agent", "--location", "eu", "--cluster-uri", uri, "--name", "agent-eu"])
                try await waitForAgents(uri, ["eu": 1])
                let controller = try Binary.start(["run", "--config", directory + "/c.yml"])
                try await Task.sleep(for: .seconds(5))
                controller.process.signal(SIGTERM)
                let out = await controller.finish()
                agent.process.signal(SIGTERM)
                _ = await agent.finish()
                #expect(out.status == 0, "\(out.stderr)")
                // (The controller's own agents/eu check may print too.)
                let lines = out.stdout.split(separator: "\n").filter { !$0.contains(" agents/eu ") }
                #expect(!lines.isEmpty && lines.allSatisfy { $0.contains(" hostport/web ") }, "\(out.stdout)")
                #expect(lines.contains { $0.contains("FAIL hostport/web failing in 2 of 2 locations (local, eu); quorum 2: ") }, "\(out.stdout)")
                let report = try await Binary.run(["report", "--config", directory + "/c.yml", "--since", "1h", "--format", "json"])
                #expect(report.status == 0, "\(report.stderr)")
                let checks = try #require(try JSONValue.parse(report.stdout).objectValue?["checks"]?.arrayValue)
                let keys = Set(checks.compactMap { $0.objectValue?["key"]?.stringValue })
                #expect(checks.allSatisfy { $0.objectValue?["results"]?.intValue ?? 0 > 0 })
                #expect(keys == ["hostport/web", "hostport/web@local", "hostport/web@eu"], "\(report.stdout.prefix(2000))")
                // The agent ran eu's runs (quorum is the controller's, not sent to the agent).
                let eu = checks.first { $0.objectValue?["key"] == "hostport/web@eu" }?.objectValue
                let message = eu?["incidents"]?.arrayValue?.first?.objectValue?["message"]?.stringValue ?? ""
                #expect(message.hasPrefix("Failed to connect to 127.0.0.1:\(closed)"), "\(message)")
            }
        }
    }
}
