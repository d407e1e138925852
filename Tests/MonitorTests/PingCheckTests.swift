#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import Monitor

/// Real ICMP on loopback. These need an ICMP socket: root or CAP_NET_RAW (raw), or a
/// `net.ipv4.ping_group_range` that admits the test's group (datagram). `make test` runs as root.
@Suite struct PingCheckTests {
    @Test(arguments: ["127.0.0.1", "::1"])
    func loopbackAnswers(host: String) async throws {
        let outcome = await PingCheck(host: host, count: 4, interval: 0.05, timeout: 60).run()
        #expect(outcome.status == .success, "\(outcome.message)")
        #expect(outcome.message.hasPrefix("Host is reachable (0% packet loss: 4 of 4 replies from \(host), rtt avg "))
        let m = outcome.measurement
        #expect(m["packets"] == 4 && m["sent"] == 4 && m["received"] == 4 && m["loss"] == 0.0)
        #expect(m["address"] == .string(host))
        #expect(m["unit"] == "ms")
        #expect(m["ttl"] == 64)
        let minimum = try #require(m["min"]?.doubleValue)
        let average = try #require(m["avg"]?.doubleValue)
        let maximum = try #require(m["max"]?.doubleValue)
        let stddev = try #require(m["stddev"]?.doubleValue)
        #expect(minimum > 0 && minimum <= average && average <= maximum && maximum < 50)
        #expect(stddev >= 0 && stddev <= maximum - minimum)
    }

    /// A single request to a numeric address goes on without a task (`.later`): the reply ends
    /// the run on the ICMP reader thread with the same message and measurements as `run()`.
    /// More requests, or a name, run as `run()`.
    @Test(arguments: ["127.0.0.1", "::1"])
    func aSingleRequestEndsOnTheReaderThread(host: String) async throws {
        let check = PingCheck(host: host, count: 1, timeout: 60)
        let started = check.start()
        guard case .later = started else {
            Issue.record("one request to \(host) must go on without a task")
            return
        }
        let outcome = await started.outcome()
        #expect(outcome.status == .success, "\(outcome.message)")
        #expect(outcome.message.hasPrefix("Host is reachable (0% packet loss: 1 of 1 replies from \(host), rtt avg "))
        let m = outcome.measurement
        #expect(m["packets"] == 1 && m["sent"] == 1 && m["received"] == 1 && m["loss"] == 0.0)
        #expect(m["address"] == .string(host) && m["ttl"] == 64 && m["unit"] == "ms")
        #expect(try #require(m["avg"]?.doubleValue) > 0)
        let unexpected = [PingCheck(host: host, count: 2, timeout: 60), PingCheck(host: "localhost", count: 1, timeout: 60)]
        for other in unexpected {
            guard case .pending = other.start() else {
                Issue.record("\(other.host), count \(other.count): expected the task path")
                continue
            }
        }
    }

    @Test func namesAreResolved() async {
        let outcome = await PingCheck(host: "localhost", count: 2, interval: 0.05, timeout: 60, family: .ipv4).run()
        #expect(outcome.status == .success)
        #expect(outcome.measurement["address"] == "127.0.0.1")
    }

    @Test func lossThresholdDecides() {
        let check = PingCheck(host: "x", count: 4, loss: 50)
        let address = "10.0.0.1"
        let half = check.outcome(PingSession.Summary(sent: 4, roundTrips: [1_000_000, 3_000_000]), address: address, measurement: [:])
        #expect(half.status == .failure)
        #expect(half.message == "Host is not reachable (50% packet loss: 2 of 4 replies from 10.0.0.1, rtt avg 2.0 ms)")
        #expect(half.measurement["min"] == 1.0 && half.measurement["max"] == 3.0 && half.measurement["stddev"] == 1.0)
        let quarter = check.outcome(PingSession.Summary(sent: 4, roundTrips: [1_000_000, 1_000_000, 1_000_500]), address: address, measurement: [:])
        #expect(quarter.status == .success)
        #expect(quarter.measurement["loss"] == 25.0)
        #expect(quarter.measurement["avg"] == 1.0)  // 1.000167 ms, to the microsecond
        let third = check.outcome(PingSession.Summary(sent: 3, roundTrips: [1_000_000, 1_000_000]), address: address, measurement: [:])
        #expect(third.measurement["loss"] == 33.333)
        #expect(third.message.hasPrefix("Host is reachable (33.333% packet loss"))
    }

    @Test func defaultLossIs99AsTheOriginal() {
        #expect(PingCheck.kind.options.first { $0.name == "loss" }?.defaultValue == 99)
        let check = PingCheck(host: "x", count: 5)
        let oneReply = check.outcome(PingSession.Summary(sent: 5, roundTrips: [1_000_000]), address: "10.0.0.1", measurement: [:])
        #expect(oneReply.status == .success)
    }

    /// Hundreds of pings at once share one socket per family: every reply must reach its own
    /// run, none counted twice, and round trips must stay loopback-sized.
    @Test func hundredsOfConcurrentPingsShareTheEngine() async throws {
        let outcomes = await withTaskGroup(of: CheckOutcome.self) { group in
            for index in 0..<300 {
                group.addTask {
                    await PingCheck(host: index % 3 == 0 ? "::1" : "127.0.0.1", count: 3, interval: 0.05, timeout: 60).run()
                }
            }
            return await group.reduce(into: [CheckOutcome]()) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0.measurement["received"] == 3 && $0.measurement["sent"] == 3 })
        let worst = outcomes.compactMap { $0.measurement["max"]?.doubleValue }.max() ?? 0
        // A reply matched to the wrong request would be a whole interval (50 ms) off; a loaded
        // machine may add some milliseconds of scheduling delay to a true loopback round trip.
        #expect(worst < 45, "largest loopback round trip \(worst) ms")
    }

    /// Replies that carry our identifier and sequence numbers but not our payload token (forged
    /// here with a raw socket) are ignored, not counted.
    @Test func foreignRepliesAreIgnored() async throws {
        let engine = try ICMPEngine(family: .ipv4, kind: .raw)
        defer { engine.stop() }
        let forger = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMP))
        try #require(forger >= 0)
        defer { close(forger) }
        let check = PingCheck(
            host: "127.0.0.1", count: 5, interval: 0.05, wait: 10, timeout: 60, size: 56, family: .ipv4, loss: 99,
            engine: { _ in engine })
        let forging = Task {
            let destination = SocketAddress(numeric: "127.0.0.1")!
            for round in 0..<20 {
                for sequence in 0..<UInt16(64) {
                    var reply = ICMPPacket.echoRequest(
                        family: .ipv4, identifier: engine.identifier, sequence: sequence,
                        payload: ICMPPacket.payload(token: UInt64(round), size: 56))
                    reply[0] = 0  // echo reply
                    reply[2] = 0
                    reply[3] = 0
                    let sum = ICMPPacket.checksum(reply)
                    reply[2] = UInt8(sum >> 8)
                    reply[3] = UInt8(sum & 0xFF)
                    _ = reply.withUnsafeBytes { bytes in
                        destination.withSockAddr { sendto(forger, bytes.baseAddress, bytes.count, 0, $0, $1) }
                    }
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        let outcome = await check.run()
        await forging.value
        #expect(outcome.measurement["received"] == 5)
        #expect(outcome.measurement["sent"] == 5)
    }

    @Test func permissionErrorSaysHowToFix() {
        let error = ICMPSocketError(family: .ipv4, datagramErrno: EACCES, rawErrno: EPERM)
        #expect(error.description.hasPrefix("cannot open an IPv4 ICMP socket: unprivileged ICMP sockets are not allowed"))
        #expect(error.description.contains("net.ipv4.ping_group_range is '"))
        #expect(error.description.contains("sysctl -w net.ipv4.ping_group_range='0 2147483647'"))
        #expect(error.description.contains("setcap cap_net_raw+ep"))
    }

    @Test func optionsAndDefaults() {
        let defaults = Dictionary(uniqueKeysWithValues: PingCheck.kind.options.map { ($0.name, $0.defaultValue) })
        #expect(defaults["count"] == 5 && defaults["interval"] == 1 && defaults["timeout"] == 30 && defaults["size"] == 56)
        #expect(defaults["wait"] == 10 && defaults["family"] == "any")
        #expect(PingCheck.kind.options.first { $0.name == "interval" }?.kind == .duration(minimum: 0.01))
    }
}

/// The unprivileged datagram path. It flips `net.ipv4.ping_group_range` (a host-wide setting)
/// and restores it, so it runs serialized; it needs root to write the setting.
@Suite(.serialized) struct PingDatagramSocketTests {
    static let rangeFile = "/proc/sys/net/ipv4/ping_group_range"

    func withPingGroupRange<T>(_ range: String, _ body: () async throws -> T) async throws -> T {
        let saved = try FileSystem.readText(Self.rangeFile).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
        try write(range)
        defer { try? write(saved) }
        return try await body()
    }

    private func write(_ text: String) throws {
        let fd = open(Self.rangeFile, O_WRONLY)
        try #require(fd >= 0, "cannot open \(Self.rangeFile): \(String(cString: strerror(errno)))")
        defer { close(fd) }
        let bytes = Array((text + "\n").utf8)
        try #require(Glibc.write(fd, bytes, bytes.count) == bytes.count, "cannot write \(Self.rangeFile)")
    }

    @Test func datagramSocketIsPreferredWhenAllowed() async throws {
        try await withPingGroupRange("0 2147483647") {
            for family in [SocketAddress.Family.ipv4, .ipv6] {
                let engine = try ICMPEngine.openPreferred(family)
                defer { engine.stop() }
                #expect(engine.kind == .datagram)
                // The kernel chose the identifier when the socket was bound.
                #expect(engine.identifier != 0)
                let host = family == .ipv4 ? "127.0.0.1" : "::1"
                let check = PingCheck(
                    host: host, count: 3, interval: 0.05, wait: 10, timeout: 60, size: 56, family: .any, loss: 99,
                    engine: { _ in engine })
                let outcome = await check.run()
                #expect(outcome.measurement["received"] == 3, "\(outcome.message)")
                #expect(outcome.measurement["ttl"] == 64, "TTL from IP_RECVTTL / IPV6_RECVHOPLIMIT")
            }
        }
    }

    @Test func rawSocketWhenDatagramIsNotAllowed() async throws {
        try await withPingGroupRange("1 0") {
            let engine = try ICMPEngine.openPreferred(.ipv4)
            defer { engine.stop() }
            #expect(engine.kind == .raw)
            let check = PingCheck(
                host: "127.0.0.1", count: 2, interval: 0.05, wait: 10, timeout: 60, size: 56, family: .any, loss: 99,
                engine: { _ in engine })
            #expect(await check.run().measurement["received"] == 2)
        }
    }
}

extension RealTimeTests {
    @Suite struct PingCheckTimingTests {
        /// A resolver that never answers: the run fails with `error: dns` at its `timeout` and sends
        /// nothing.
        @Test func aLookupWithNoAnswerFailsWithDNSAtTheTimeout() async {
            let hanging = HangingLookup()
            defer { hanging.release() }
            let resolver = hanging.resolver()
            let check = PingCheck(
                host: "hang.test", count: 3, interval: 0.05, wait: 1, timeout: 0.3, size: 56, family: .any, loss: 99,
                engine: { _ throws(ICMPSocketError) in throw ICMPSocketError(family: .ipv4, datagramErrno: EACCES, rawErrno: EPERM) },
                resolve: { host, family, deadline throws(ResolveError) in try await resolver.resolve(host, preference: family, deadline: deadline) })
            let start = ContinuousClock.now
            let outcome = await check.run()
            let elapsed = start.duration(to: .now)
            #expect(outcome.status == .failure)
            #expect(outcome.message == "Host is not reachable (DNS lookup of hang.test did not answer within 0.3 s)")
            #expect(outcome.measurement["error"] == "dns")
            #expect(outcome.measurement["sent"] == 0)
            #expect(!hanging.isReleased)
            #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(5), "took \(elapsed)")
        }

        /// The silent host never answers: one request without a task (`.later`) ends at its
        /// `wait`, counted as lost.
        @Test(.silentHost) func aSingleUnansweredRequestEndsAtItsWait() async throws {
            try SilentHost.require()
            let start = ContinuousClock.now
            let outcome = await PingCheck(host: SilentHost.address, count: 1, wait: 0.3, timeout: 30).start().outcome()
            let elapsed = start.duration(to: .now)
            #expect(outcome.message == "Host is not reachable (100% packet loss: 0 of 1 replies from \(SilentHost.address))")
            #expect(outcome.measurement["sent"] == 1 && outcome.measurement["received"] == 0)
            #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(5), "took \(elapsed)")
        }

        /// The silent host never answers. The run must end at `timeout`, not at `wait`. 3 s leaves
        /// room for all 3 requests (0.4 s) even when the machine is loaded.
        @Test(.silentHost) func silentHostFailsAtTheDeadline() async throws {
            try SilentHost.require()
            let start = ContinuousClock.now
            let outcome = await PingCheck(host: SilentHost.address, count: 3, interval: 0.2, wait: 10, timeout: 3).run()
            let elapsed = start.duration(to: .now)
            #expect(outcome.status == .failure)
            #expect(outcome.message == "Host is not reachable (100% packet loss: 0 of 3 replies from \(SilentHost.address))")
            #expect(outcome.measurement["loss"] == 100.0)
            #expect(outcome.measurement["received"] == 0)
            #expect(outcome.measurement["avg"] == nil)
            // Never before the deadline; far below `wait` (10 s), which a run ignoring `timeout` would take.
            #expect(elapsed >= .milliseconds(2990) && elapsed < .seconds(8), "took \(elapsed)")
        }

        @Test(.silentHost) func waitLimitsEachReply() async throws {
            try SilentHost.require()
            let start = ContinuousClock.now
            let outcome = await PingCheck(host: SilentHost.address, count: 2, interval: 0.1, wait: 0.3, timeout: 30).run()
            #expect(outcome.status == .failure)
            // About 0.4 s (0.1 s interval + 0.3 s wait); far below the 30 s timeout even on a loaded
            // machine, which is what shows `wait` ended the run.
            let elapsed = start.duration(to: .now)
            #expect(elapsed >= .milliseconds(350) && elapsed < .seconds(10), "took \(elapsed)")
        }

        @Test(.silentHost) func cancellationEndsTheRun() async throws {
            try SilentHost.require()
            let start = ContinuousClock.now
            let task = Task { await PingCheck(host: SilentHost.address, count: 100, interval: 0.05, timeout: 30).run() }
            try await Task.sleep(for: .milliseconds(300))
            task.cancel()
            let outcome = await task.value
            #expect(outcome.status == .failure)
            // Far below the 30 s timeout a run that ignored cancellation would take.
            #expect(start.duration(to: .now) < .seconds(10))
        }
    }
}
