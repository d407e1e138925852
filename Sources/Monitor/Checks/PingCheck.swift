#if canImport(Glibc)
import Glibc
#endif

/// `ping`: sends ICMP echo requests to `host` and reports packet loss and round-trip times, with
/// no `ping` subprocess (see `ICMPEngine` for sockets, matching and timing).
///
/// A run resolves `host` (names on every run), sends `count` requests `interval` apart, and waits
/// for each reply `wait` seconds at most; the whole run never outlasts `timeout`: a lookup with no
/// answer by then fails the run (`error: dns`), no request is sent after it, and requests still
/// waiting then count as lost. The run fails when the loss reaches `loss` percent (default 99, as
/// the original: any reply means the host is up).
public struct PingCheck: Check {
    /// The options of `ping`.
    public static let kind = CheckKind(
        name: "ping",
        options: [
            OptionSpec("host", .string, required: true, help: "host name or address to ping (names are resolved on every run)"),
            OptionSpec("count", .integer(1...10_000), default: 5, help: "echo requests per run"),
            OptionSpec("interval", .duration(minimum: 0.01), default: 1, help: "seconds between requests"),
            OptionSpec("wait", .duration(minimum: 0.001), default: 10, help: "seconds to wait for each reply"),
            OptionSpec("timeout", .duration(minimum: 0.01), default: 30, help: "deadline of the whole run, in seconds"),
            OptionSpec("size", .integer(0...65_507), default: 56, help: "payload bytes per request"),
            OptionSpec(
                "family", .choice(AddressPreference.allCases.map(\.rawValue)), default: "any",
                help: "address family: any (the first address the resolver gives), ipv4 or ipv6"),
            OptionSpec("loss", .number(0...100), default: 99, help: "the run fails when the loss percentage reaches this"),
        ],
        make: { context in
            let o = context.options
            return PingCheck(
                host: o.string("host") ?? "", count: o.int("count") ?? 5, interval: o.double("interval") ?? 1,
                wait: o.double("wait") ?? 10, timeout: o.double("timeout") ?? 30, size: o.int("size") ?? 56,
                family: AddressPreference(rawValue: o.string("family") ?? "any") ?? .any, loss: o.double("loss") ?? 99)
        })

    public let host: String
    public let count: Int
    /// Seconds between requests.
    public let interval: Double
    /// Seconds to wait for each reply.
    public let wait: Double
    /// Seconds the whole run may take.
    public let timeout: Double
    /// Payload bytes per request.
    public let size: Int
    public let family: AddressPreference
    /// Loss percentage at which the run fails.
    public let loss: Double
    /// Opens (or shares) the ICMP engine of a family; tests choose the socket kind through it.
    let engine: @Sendable (SocketAddress.Family) throws(ICMPSocketError) -> ICMPEngine
    /// Looks the host up by the deadline (`MonotonicClock` nanoseconds); tests replace it with a
    /// resolver that hangs.
    let resolve: @Sendable (String, AddressPreference, Int64) async throws(ResolveError) -> [SocketAddress]

    public init(
        host: String, count: Int = 5, interval: Double = 1, wait: Double = 10, timeout: Double = 30, size: Int = 56,
        family: AddressPreference = .any, loss: Double = 99
    ) {
        self.init(
            host: host, count: count, interval: interval, wait: wait, timeout: timeout, size: size, family: family, loss: loss,
            engine: { family throws(ICMPSocketError) in try ICMPEngine.shared(family) })
    }

    init(
        host: String, count: Int, interval: Double, wait: Double, timeout: Double, size: Int, family: AddressPreference,
        loss: Double, engine: @escaping @Sendable (SocketAddress.Family) throws(ICMPSocketError) -> ICMPEngine,
        resolve: @escaping @Sendable (String, AddressPreference, Int64) async throws(ResolveError) -> [SocketAddress] = {
            host, family, deadline throws(ResolveError) in try await Resolver.resolve(host, preference: family, deadline: deadline)
        }
    ) {
        self.host = host
        self.count = max(1, count)
        self.interval = interval
        self.wait = wait
        self.timeout = timeout
        self.size = size
        self.family = family
        self.loss = loss
        self.engine = engine
        self.resolve = resolve
        // Made once here, not per run (parsing the host, `inet_ntop`).
        numeric = SocketAddress(numeric: host, port: 0).map { ($0, $0.host) }
    }

    /// The address when `host` is numeric, and its text.
    private let numeric: (address: SocketAddress, text: String)?

    /// A single request to a numeric address needs no task: it is sent here (on the scheduler's
    /// timer thread) and the run ends on the ICMP reader thread, with the reply or at its expiry
    /// (`wait`, or `timeout` when sooner). Anything else runs as `run()`.
    public func start() -> CheckStart {
        guard count == 1, let (address, text) = numeric, family.allows(address.family),
            let engine = try? self.engine(address.family)
        else { return .pending(run) }
        let now = MonotonicClock.nanos()
        let expiry = now + Int64(min(wait, timeout) * 1e9)
        var measurement: [String: JSONValue] = .init(minimumCapacity: 12)
        measurement["packets"] = .int(count)
        measurement["address"] = .string(text)
        return .later { [self, measurement] finish in
            let session = PingSession(count: 1)
            session.send(index: 0, engine: engine, to: address, payloadSize: size, expiry: expiry)
            session.whenSettled { finish(outcome(session.summary, address: text, measurement: measurement)) }
        }
    }

    public func run() async -> CheckOutcome {
        let start = MonotonicClock.nanos()
        let deadline = start + Int64(timeout * 1e9)
        var measurement: [String: JSONValue] = ["packets": .int(count), "sent": 0, "received": 0, "loss": 100.0]
        let address: SocketAddress
        do throws(ResolveError) {
            let addresses = try await resolve(host, family, deadline)
            guard let first = addresses.first else { throw ResolveError(host: host, reason: .failed("no address")) }
            address = first
        } catch {
            measurement["error"] = error.measurementError
            return .failure("Host is not reachable (\(error.statingTimeout(timeout)))", measurement)
        }
        measurement["address"] = .string(address.host)
        let engine: ICMPEngine
        do {
            engine = try self.engine(address.family)
        } catch {
            return .failure("Host is not reachable: \(error)", measurement)
        }

        let session = PingSession(count: count)
        await withTaskCancellationHandler {
            let clock = ContinuousClock()
            let origin = clock.now
            for index in 0..<count {
                if index > 0 {
                    do {
                        try await clock.sleep(until: origin.advanced(by: .seconds(interval * Double(index))), tolerance: nil)
                    } catch {
                        break
                    }
                }
                let now = MonotonicClock.nanos()
                guard now < deadline, !Task.isCancelled else { break }
                let expiry = min(deadline, now + Int64(wait * 1e9))
                session.send(index: index, engine: engine, to: address, payloadSize: size, expiry: expiry)
            }
            // A cancellation that came between the check above and `send` found the last request
            // not yet registered, so `onCancel` could not end it: it would wait its full `wait`.
            if Task.isCancelled { engine.cancel(session.keys) }
            await session.waitForReplies()
        } onCancel: {
            engine.cancel(session.keys)
        }
        return outcome(session.summary, address: address.host, measurement: measurement)
    }

    /// The outcome of what the run saw (`address`: the address pinged, as text).
    func outcome(_ summary: PingSession.Summary, address: String, measurement: [String: JSONValue]) -> CheckOutcome {
        var measurement = measurement
        let received = summary.roundTrips.count
        let lossPercent = summary.sent == 0 ? 100 : Double(summary.sent - received) / Double(summary.sent) * 100
        measurement["sent"] = .int(summary.sent)
        measurement["received"] = .int(received)
        measurement["loss"] = .double((lossPercent * 1000).rounded() / 1000)
        var detail = "\(received) of \(summary.sent) replies from \(address)"
        if !summary.roundTrips.isEmpty {
            let ms = summary.roundTrips.map { Double($0) / 1e6 }
            let mean = ms.reduce(0, +) / Double(ms.count)
            // Population standard deviation, as ping's `mdev`.
            let variance = ms.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(ms.count)
            func micro(_ v: Double) -> JSONValue { .double((v * 1000).rounded() / 1000) }
            measurement["min"] = micro(ms.min()!)
            measurement["avg"] = micro(mean)
            measurement["max"] = micro(ms.max()!)
            measurement["stddev"] = micro(variance.squareRoot())
            measurement["unit"] = "ms"
            detail += ", rtt avg \(micro(mean).displayText) ms"
        }
        if let ttl = summary.ttl { measurement["ttl"] = .int(ttl) }
        if let code = summary.sendError { detail += "; send failed: \(String(cString: strerror(code)))" }
        let lossText = measurement["loss"]!.doubleValue!.rounded() == measurement["loss"]!.doubleValue!
            ? String(Int(measurement["loss"]!.doubleValue!)) : measurement["loss"]!.displayText
        if lossPercent < loss {
            return .success("Host is reachable (\(lossText)% packet loss: \(detail))", measurement)
        }
        return .failure("Host is not reachable (\(lossText)% packet loss: \(detail))", measurement)
    }
}
