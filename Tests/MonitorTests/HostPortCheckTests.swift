#if canImport(Glibc)
import Glibc
#endif
import Logging
import Testing

@testable import Monitor

@Suite struct HostPortCheckTests {
    @Test(arguments: ["127.0.0.1", "::1"])
    func connectsToAListener(host: String) async throws {
        let listener = LoopbackListener(host: host)
        defer { listener.close() }
        // Behind the resolver, a lookup that never answers: a numeric host must not reach it.
        let hanging = HangingLookup()
        defer { hanging.release() }
        let resolver = hanging.resolver()
        let check = HostPortCheck(host: host, port: listener.port, timeout: 60, family: .any) { host, port, family, deadline throws(ResolveError) in
            try await resolver.resolve(host, port: port, preference: family, deadline: deadline)
        }
        let outcome = await check.run()
        #expect(outcome.status == .success)
        let target = host.contains(":") ? "[\(host)]:\(listener.port)" : "\(host):\(listener.port)"
        #expect(outcome.message == "Successfully connected to \(target)")
        #expect(outcome.measurement["connection"] == 1)
        #expect(outcome.measurement["address"] == .string(host))
        let connectMs = try #require(outcome.measurement["connect_ms"]?.doubleValue)
        #expect(connectMs > 0 && connectMs < 60_000, "within the timeout")
        // Causal, not a wall-clock bound (a loaded machine measured 6 ms for no lookup at all).
        #expect(hanging.calls.isEmpty, "numeric hosts need no lookup")
        #expect(outcome.measurement["dns_ms"]?.doubleValue != nil)
    }

    /// A numeric loopback address ends the run in `start()` (the kernel completes the handshake
    /// inside `connect`), with the same message and measurements as `run()`; a name is looked
    /// up in the pending rest. A connect left in progress (the kernel may defer its work under
    /// load) is finished by the epoll thread, so a few tries must end at once, not every one.
    @Test func aLoopbackConnectEndsInStart() async throws {
        let listener = LoopbackListener()
        defer { listener.close() }
        let check = HostPortCheck(host: "127.0.0.1", port: listener.port, timeout: 60)
        var atOnce = 0
        for _ in 0..<20 {
            let start = check.start()
            if case .finished = start { atOnce += 1 }
            let outcome = await start.outcome()
            #expect(outcome.status == .success)
            #expect(outcome.message == "Successfully connected to 127.0.0.1:\(listener.port)")
            #expect(Set(outcome.measurement.keys) == ["connection", "address", "connect_ms", "dns_ms"])
            #expect(outcome.measurement["connection"] == 1 && outcome.measurement["dns_ms"] == 0)
        }
        #expect(atOnce > 0, "no loopback connect of 20 ended in start()")

        let closed = LoopbackListener.closedPort()
        let refused = await HostPortCheck(host: "127.0.0.1", port: closed, timeout: 60).start().outcome()
        #expect(refused.message == "Failed to connect to 127.0.0.1:\(closed): connection refused")
        #expect(refused.measurement["error"] == "refused")

        guard case .pending = HostPortCheck(host: "localhost", port: listener.port, timeout: 60).start() else {
            Issue.record("a name must be looked up in the pending rest")
            return
        }
    }

    @Test func refusedPortFails() async {
        let port = LoopbackListener.closedPort()
        let outcome = await HostPortCheck(host: "127.0.0.1", port: port, timeout: 60).run()
        #expect(outcome.status == .failure)
        #expect(outcome.message == "Failed to connect to 127.0.0.1:\(port): connection refused")
        #expect(outcome.measurement["connection"] == 0)
        #expect(outcome.measurement["error"] == "refused")
    }

    @Test func nameIsResolvedAndNamedInTheMessage() async {
        let listener = LoopbackListener()
        defer { listener.close() }
        let outcome = await HostPortCheck(host: "localhost", port: listener.port, timeout: 60, family: .ipv4).run()
        #expect(outcome.status == .success)
        #expect(outcome.message == "Successfully connected to localhost:\(listener.port) (127.0.0.1)")
    }

    @Test func triesEveryAddressInOrder() async {
        let listener = LoopbackListener(host: "::1")
        defer { listener.close() }
        let open = listener.port
        let closed = LoopbackListener.closedPort()
        // The first address refuses; the second (the listener) accepts.
        let check = HostPortCheck(host: "example.test", port: open, timeout: 60, family: .any) { _, _, _, _ in
            [SocketAddress(numeric: "127.0.0.1", port: closed)!, SocketAddress(numeric: "::1", port: open)!]
        }
        let outcome = await check.run()
        #expect(outcome.status == .success)
        #expect(outcome.measurement["address"] == "::1")

        let allRefuse = HostPortCheck(host: "example.test", port: closed, timeout: 60, family: .any) { _, _, _, _ in
            [SocketAddress(numeric: "127.0.0.1", port: closed)!, SocketAddress(numeric: "127.0.0.2", port: closed)!]
        }
        let failed = await allRefuse.run()
        #expect(failed.message == "Failed to connect to example.test:\(closed): connection refused (127.0.0.1); connection refused (127.0.0.2)")
    }

    @Test func dnsFailureIsNamed() async {
        let outcome = await HostPortCheck(host: "no-such-host.invalid", port: 80, timeout: 60).run()
        #expect(outcome.status == .failure)
        #expect(outcome.message.hasPrefix("Failed to connect to no-such-host.invalid:80: DNS lookup of no-such-host.invalid failed: "))
        #expect(outcome.measurement["error"] == "dns")
    }

    @Test func aFullLookupQueueFailsWithDNSAtOnce() async throws {
        let hanging = HangingLookup()
        defer { hanging.release() }
        let resolver = hanging.resolver(threads: 1, capacity: 1)
        let check = HostPortCheck(host: "hang.test", port: 80, timeout: 60, family: .any) { host, port, family, deadline throws(ResolveError) in
            try await resolver.resolve(host, port: port, preference: family, deadline: deadline)
        }
        // One run's lookup takes the only thread and hangs, the next one's waits in the queue.
        let running = Task { await check.run() }
        await hanging.waitForCalls(1)
        let waiting = Task { await check.run() }
        while resolver.pool.waiting < 1 { try await Task.sleep(for: .milliseconds(1)) }
        let outcome = await check.run()
        #expect(outcome.message == "Failed to connect to hang.test:80: DNS lookup of hang.test not started: lookup queue full (1 waiting); the resolver is not answering")
        #expect(outcome.measurement["error"] == "dns")
        #expect(!hanging.isReleased)
        for run in [running, waiting] {
            run.cancel()
            #expect(await run.value.message == "Failed to connect to hang.test:80: DNS lookup of hang.test cancelled")
        }
    }

    @Test func manyConcurrentConnectsAllComplete() async {
        let listener = LoopbackListener(backlog: 4096)
        defer { listener.close() }
        let port = listener.port
        let closed = LoopbackListener.closedPort()
        let outcomes = await withTaskGroup(of: CheckOutcome.self) { group in
            for index in 0..<400 {
                group.addTask { await HostPortCheck(host: "127.0.0.1", port: index % 2 == 0 ? port : closed, timeout: 60).run() }
            }
            return await group.reduce(into: [CheckOutcome]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0.status == .success }.count == 200)
        #expect(outcomes.filter { $0.measurement["error"] == "refused" }.count == 200)
    }

    @Test(arguments: [(ECONNREFUSED, "refused"), (ENETUNREACH, "unreachable"), (EHOSTUNREACH, "unreachable"), (EACCES, "error")])
    func errorKinds(code: Int32, kind: String) {
        #expect(HostPortCheck.errorKind(code) == kind)
    }

    @Test func unreachableIsDescribed() {
        #expect(HostPortCheck.describe(ENETUNREACH) == "network unreachable")
        #expect(HostPortCheck.describe(EHOSTUNREACH) == "host unreachable")
    }

    @Test func optionsValidate() throws {
        #expect(HostPortCheck.kind.options.map(\.name) == ["host", "port", "timeout", "family", "tls", "starttls", "ssl", "ca_file", "min_cert_days"])
        #expect(HostPortCheck.kind.options.first { $0.name == "timeout" }?.defaultValue == 30)
        #expect(HostPortCheck.kind.options.first { $0.name == "min_cert_days" }?.defaultValue == 14)
    }

    /// `tls: true` or `starttls: smtp` makes a TLS handshake check (libcurl, connect only); the
    /// TLS options without either are a config error, never silently dropped.
    @Test func tlsOptionsMakeAHandshakeCheck() throws {
        func make(_ values: [String: JSONValue], written: [String] = []) throws -> any Check {
            var locations: [String: Monitor.SourceLocation] = [:]
            for name in written { locations[name] = Monitor.SourceLocation(file: "config.yml", line: 7, column: 5) }
            var options = Options(values, path: "checks.hostport.mail", locations: locations)
            for spec in HostPortCheck.kind.options where options.values[spec.name] == nil { options.values[spec.name] = spec.defaultValue }
            return try HostPortCheck.kind.make(CheckContext(label: "mail", options: options, logger: .init(label: "test")))
        }
        let tls = try #require(try make(["host": "mail.example.org", "port": 465, "tls": true]) as? TLSHandshakeCheck)
        #expect(tls.request.url == "https://mail.example.org:465")
        #expect(tls.request.connectOnly && tls.request.inspectTLS && !tls.request.requireTLS)
        #expect(tls.request.verifyTLS && tls.minCertDays == 14)

        let smtp = try #require(try make(["host": "mail.example.org", "port": 587, "starttls": "smtp", "min_cert_days": 30]) as? TLSHandshakeCheck)
        #expect(smtp.request.url == "smtp://mail.example.org:587")
        #expect(smtp.request.requireTLS && smtp.minCertDays == 30 && smtp.startTLS == "smtp")

        let v6 = try #require(try make(["host": "::1", "port": 636, "tls": true, "ssl": false, "ca_file": "/etc/ca.pem"]) as? TLSHandshakeCheck)
        #expect(v6.request.url == "https://[::1]:636" && !v6.request.verifyTLS && v6.request.caFile == "/etc/ca.pem")

        #expect(try make(["host": "db", "port": 5432]) is HostPortCheck)
        // Defaults written out (as a cluster's run request carries them) are harmless.
        #expect(try make(["host": "db", "port": 5432, "ssl": true, "min_cert_days": .double(14)], written: ["ssl", "min_cert_days"]) is HostPortCheck)
        do {
            _ = try make(["host": "db", "port": 5432, "min_cert_days": 30], written: ["min_cert_days"])
            Issue.record("min_cert_days without tls accepted")
        } catch let error as ConfigDiagnostic {
            #expect(error.description == "config.yml:7:5: error: checks.hostport.mail.min_cert_days: applies with tls: true only (a plain hostport check makes no TLS handshake)")
        }
    }
}

extension RealTimeTests {
    @Suite struct HostPortCheckTimingTests {
        /// A resolver that never answers: the run fails with `error: dns` at its `timeout`, long before
        /// the scheduler's hard deadline, while the lookup still hangs.
        @Test func aLookupWithNoAnswerFailsWithDNSAtTheTimeout() async {
            let hanging = HangingLookup()
            defer { hanging.release() }
            let resolver = hanging.resolver()
            let check = HostPortCheck(host: "hang.test", port: 80, timeout: 0.3, family: .any) { host, port, family, deadline throws(ResolveError) in
                try await resolver.resolve(host, port: port, preference: family, deadline: deadline)
            }
            let start = ContinuousClock.now
            let outcome = await check.run()
            let elapsed = start.duration(to: .now)
            #expect(outcome.status == .failure)
            #expect(outcome.message == "Failed to connect to hang.test:80: DNS lookup of hang.test did not answer within 0.3 s")
            #expect(outcome.measurement["error"] == "dns")
            #expect(outcome.measurement["connection"] == 0)
            // On a loaded machine the deadline may pass before the thread even starts the lookup.
            #expect(!hanging.isReleased && hanging.calls.count <= 1, "answered while the lookup still hung")
            // Not before the timeout (causal); the upper bound only has to hold on a loaded machine.
            #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(5))
            let dnsMs = outcome.measurement["dns_ms"]?.doubleValue ?? 0
            #expect(dnsMs >= 300 && dnsMs < 5000)
        }

        /// A listener whose backlog is full drops new SYNs, so a connect hangs: the only local way to
        /// make a connect time out without touching routes or firewall rules.
        @Test func timesOutAtTheDeadline() async throws {
            let listener = LoopbackListener(backlog: 0)
            defer { listener.close() }
            let fillers = listener.fillBacklog()
            defer { for fd in fillers { close(fd) } }
            try await Task.sleep(for: .milliseconds(100))
            let start = ContinuousClock.now
            let outcome = await HostPortCheck(host: "127.0.0.1", port: listener.port, timeout: 0.5).run()
            let elapsed = start.duration(to: .now)
            #expect(outcome.status == .failure)
            #expect(outcome.message == "Failed to connect to 127.0.0.1:\(listener.port): timed out after 0.5 s")
            #expect(outcome.measurement["error"] == "timeout")
            // Never before the deadline; far below the kernel's own SYN timeout (over a minute).
            #expect(elapsed >= .milliseconds(495) && elapsed < .seconds(10), "took \(elapsed)")
        }

        @Test func cancellationEndsTheConnectAtOnce() async throws {
            let listener = LoopbackListener(backlog: 0)
            defer { listener.close() }
            let fillers = listener.fillBacklog()
            defer { for fd in fillers { close(fd) } }
            try await Task.sleep(for: .milliseconds(100))
            let start = ContinuousClock.now
            let port = listener.port
            let task = Task { await HostPortCheck(host: "127.0.0.1", port: port, timeout: 30).run() }
            try await Task.sleep(for: .milliseconds(200))
            task.cancel()
            let outcome = await task.value
            #expect(outcome.message.hasSuffix("cancelled"))
            // Far below the 30 s timeout a connect that ignored cancellation would wait for.
            #expect(start.duration(to: .now) < .seconds(10))
        }
    }
}
