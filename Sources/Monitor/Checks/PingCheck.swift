#if canImport(Glibc)
import Glibc
#endif
import Synchronization

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
        let run = SingleRun(
            check: self, engine: engine, address: address, text: text, expiry: MonotonicClock.nanos() + Int64(min(wait, timeout) * 1e9))
        // A closure of one object reference needs no context of its own.
        return .later { finish in run.begin(finish) }
    }

    /// The run of a single request to a numeric address: one object for the request, its reply
    /// and the run's end (no session, no lock, no arrays of round trips and keys), which ends the
    /// run once, on the thread that learns what became of the request.
    final class SingleRun: EchoWaiter, @unchecked Sendable {
        // @unchecked: `finish` is written once, in `begin`, before the request is sent; the
        // engine's lock orders that write before the reader thread's call.
        private let check: PingCheck
        private let engine: ICMPEngine
        private let address: SocketAddress
        private let text: String
        private let expiry: Int64
        private var finish: (@Sendable (CheckOutcome) -> Void)?
        /// Set by the first of the reply, the expiry and a failed send: the others are ignored.
        private let done = Atomic<Bool>(false)

        init(check: PingCheck, engine: ICMPEngine, address: SocketAddress, text: String, expiry: Int64) {
            self.check = check
            self.engine = engine
            self.address = address
            self.text = text
            self.expiry = expiry
        }

        /// Sends the request; a failed send ends the run as lost, with the send's `errno`.
        func begin(_ finish: @escaping @Sendable (CheckOutcome) -> Void) {
            self.finish = finish
            if case .failure(let error) = engine.send(waiter: self, index: 0, to: address, payloadSize: check.size, expiry: expiry) {
                settle(roundTrip: nil, ttl: nil, sendError: error.code)
            }
        }

        func replied(index: Int, rttNanos: Int64, ttl: Int?) {
            settle(roundTrip: rttNanos, ttl: ttl, sendError: nil)
        }

        func lost(index: Int) {
            settle(roundTrip: nil, ttl: nil, sendError: nil)
        }

        /// Ends the run with what its one request saw (its round trip, if answered: no array).
        private func settle(roundTrip: Int64?, ttl: Int?, sendError: Int32?) {
            guard !done.exchange(true, ordering: .acquiringAndReleasing), let finish else { return }
            // None or one round trip, as one collection type either way.
            let roundTrips = CollectionOfOne(roundTrip ?? 0).prefix(roundTrip == nil ? 0 : 1)
            finish(check.outcome(sent: 1, roundTrips: roundTrips, ttl: ttl, sendError: sendError, address: text, measurement: [:]))
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

    /// The outcome of what the run saw (`address`: the address pinged, as text). `measurement`
    /// holds what the run knew before (a lookup's error); `packets` and `address` are set here.
    func outcome(_ summary: PingSession.Summary, address: String, measurement: consuming [String: JSONValue]) -> CheckOutcome {
        outcome(
            sent: summary.sent, roundTrips: summary.roundTrips, ttl: summary.ttl, sendError: summary.sendError, address: address,
            measurement: measurement)
    }

    /// The outcome of `sent` requests of which those of `roundTrips` (nanoseconds) were answered.
    func outcome(
        sent: Int, roundTrips: some Collection<Int64>, ttl: Int?, sendError: Int32?, address: String,
        measurement: consuming [String: JSONValue]
    ) -> CheckOutcome {
        var measurement = measurement
        measurement.reserveCapacity(12)
        let received = roundTrips.count
        let lossPercent = sent == 0 ? 100 : Double(sent - received) / Double(sent) * 100
        let loss = (lossPercent * 1000).rounded() / 1000
        let reachable = lossPercent < self.loss
        measurement["packets"] = .int(count)
        measurement["address"] = .string(address)
        measurement["sent"] = .int(sent)
        measurement["received"] = .int(received)
        measurement["loss"] = .double(loss)
        // One string, sized once (each `+=` or interpolation of the text would grow it again).
        var message = ""
        message.reserveCapacity(112 + address.utf8.count)
        message += reachable ? "Host is reachable (" : "Host is not reachable ("
        message += loss.rounded() == loss ? String(Int(loss)) : JSONValue.double(loss).displayText
        message += "% packet loss: "
        message += String(received)
        message += " of "
        message += String(sent)
        message += " replies from "
        message += address
        if let first = roundTrips.first {
            var (sum, low, high) = (0.0, Double(first) / 1e6, Double(first) / 1e6)
            for rtt in roundTrips {
                let ms = Double(rtt) / 1e6
                sum += ms
                low = min(low, ms)
                high = max(high, ms)
            }
            let mean = sum / Double(received)
            // Population standard deviation, as ping's `mdev`.
            let variance = roundTrips.reduce(0.0) { $0 + (Double($1) / 1e6 - mean) * (Double($1) / 1e6 - mean) } / Double(received)
            func micro(_ v: Double) -> JSONValue { .double((v * 1000).rounded() / 1000) }
            measurement["min"] = micro(low)
            measurement["avg"] = micro(mean)
            measurement["max"] = micro(high)
            measurement["stddev"] = micro(variance.squareRoot())
            measurement["unit"] = "ms"
            message += ", rtt avg "
            message += micro(mean).displayText
            message += " ms"
        }
        if let ttl { measurement["ttl"] = .int(ttl) }
        if let code = sendError {
            message += "; send failed: "
            message += String(cString: strerror(code))
        }
        message += ")"
        return reachable ? .success(message, measurement) : .failure(message, measurement)
    }
}
