#if canImport(Glibc)
import Glibc
#endif

/// `hostport`: opens a TCP connection to `host`:`port` and closes it at once.
///
/// The host is resolved on every run and every address found is tried in the resolver's order
/// until one accepts; `timeout` covers the lookup and all the attempts together: a lookup with
/// no answer by then fails the run with `error: dns`. No thread waits on a connect: the sockets
/// are non-blocking and one epoll thread (`ConnectReactor`) completes them all. A numeric
/// address needs no lookup: its connect begins in `start()`, on the scheduler's timer thread,
/// and a connect the kernel completes inside the call (loopback, often a local network) ends
/// the run there, with no task at all.
public struct HostPortCheck: Check {
    /// The options of `hostport`.
    public static let kind = CheckKind(
        name: "hostport",
        options: [
            OptionSpec("host", .string, required: true, help: "host name or address to connect to"),
            OptionSpec("port", .integer(1...65_535), required: true, help: "TCP port"),
            OptionSpec("timeout", .duration(minimum: 0.001), default: 30, help: "deadline of the whole run (lookup and connects), in seconds"),
            OptionSpec(
                "family", .choice(AddressPreference.allCases.map(\.rawValue)), default: "any",
                help: "address family: any (every address, in the resolver's order), ipv4 or ipv6"),
            OptionSpec("tls", .boolean, default: false, help: "complete a TLS handshake after connecting and read the server's certificate"),
            OptionSpec("starttls", .choice(["smtp"]), help: "upgrade to TLS in the protocol first (smtp: EHLO, STARTTLS); implies tls"),
            OptionSpec("ssl", .boolean, default: true, help: "with tls: verify the server's certificate and host name"),
            CertificateExpiry.caFileOption,
            CertificateExpiry.minDaysOption,
        ],
        make: { context in
            let o = context.options
            if o.bool("tls") == true || o.string("starttls") != nil {
                return try TLSHandshakeCheck(options: o)
            }
            // Written with a value other than its default: a setting that would do nothing. (A
            // default written out is harmless, and is how a cluster's run request carries options.)
            for spec in HostPortCheck.tlsOptions where o.locations[spec.name] != nil && !Self.isDefault(o[spec.name], of: spec) {
                throw o.problem(spec.name, "applies with tls: true only (a plain hostport check makes no TLS handshake)")
            }
            return HostPortCheck(
                host: o.string("host") ?? "", port: UInt16(o.int("port") ?? 1), timeout: o.double("timeout") ?? 30,
                family: AddressPreference(rawValue: o.string("family") ?? "any") ?? .any)
        })

    /// Whether `value` is `spec`'s default (numbers by value: a loaded `14` is `14.0`).
    static func isDefault(_ value: JSONValue?, of spec: OptionSpec) -> Bool {
        if let number = value?.doubleValue, let standard = spec.defaultValue?.doubleValue { return number == standard }
        return value == spec.defaultValue
    }

    /// The options that need `tls` or `starttls`.
    static var tlsOptions: [OptionSpec] { kind.options.filter { ["ssl", "ca_file", "min_cert_days"].contains($0.name) } }

    public let host: String
    public let port: UInt16
    /// Seconds the whole run may take.
    public let timeout: Double
    public let family: AddressPreference

    /// Looks the host up by the deadline (`MonotonicClock` nanoseconds); tests replace it to try
    /// several addresses or a resolver that hangs.
    let resolve: @Sendable (String, UInt16, AddressPreference, Int64) async throws(ResolveError) -> [SocketAddress]

    public init(host: String, port: UInt16, timeout: Double = 30, family: AddressPreference = .any) {
        self.init(host: host, port: port, timeout: timeout, family: family) { host, port, family, deadline throws(ResolveError) in
            try await Resolver.resolve(host, port: port, preference: family, deadline: deadline)
        }
    }

    init(
        host: String, port: UInt16, timeout: Double, family: AddressPreference,
        resolve: @escaping @Sendable (String, UInt16, AddressPreference, Int64) async throws(ResolveError) -> [SocketAddress]
    ) {
        self.host = host
        self.port = port
        self.timeout = timeout
        self.family = family
        self.resolve = resolve
        // Made once here, not per run: `String.contains` on a string goes through Foundation's
        // search, and formatting an address is `inet_ntop`.
        self.target = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]:\(port)" : "\(host):\(port)"
        connected = "Successfully connected to \(target)"
        if let address = SocketAddress(numeric: host, port: port) {
            numeric = (address, .string(address.host))
        } else {
            numeric = nil
        }
    }

    /// `host:port` as the messages show it.
    let target: String
    /// The message of a connect (made once: two allocations a run); a name's adds the address.
    private let connected: String
    /// The address when `host` is numeric, and its text (the `address` measurement).
    private let numeric: (address: SocketAddress, text: JSONValue)?

    public func run() async -> CheckOutcome {
        await start().outcome()
    }

    /// A numeric address needs no lookup: its connect begins on the calling thread, and on
    /// loopback (often on a local network too) ends there. A name is looked up in `.pending`.
    public func start() -> CheckStart {
        guard let (address, text) = numeric, family.allows(address.family) else {
            return .pending(runWithLookup)
        }
        let start = MonotonicClock.nanos()
        switch ConnectReactor.begin(to: address) {
        case .finished(let completion):
            return .finished(outcome(of: completion, to: address, text: text, startedAt: start))
        case .inProgress(let fd):
            return .pending { [self] in
                let completion = await ConnectReactor.shared.wait(for: fd, deadline: start + Int64(timeout * 1e9))
                return outcome(of: completion, to: address, text: text, startedAt: start)
            }
        }
    }

    /// The outcome of a run whose one connect, to a numeric address, started at `startedAt`.
    private func outcome(of completion: ConnectCompletion, to address: SocketAddress, text: JSONValue, startedAt: Int64) -> CheckOutcome {
        // Filled in place in `attempts`, from a copy of one shared dictionary: a copy keeps its
        // layout (no key hashed again), so a run hashes the three keys it sets, not five, and
        // makes no dictionary from scratch (callgrind: 3,700 instructions a run before).
        var attempts = Attempts(measurement: Self.numericMeasurement)
        return attempts.add(completion, of: address, text: text, startedAt: startedAt, for: self) ?? attempts.failure(for: self)
    }

    /// Looks the host up, then tries every address found in order until one accepts.
    private func runWithLookup() async -> CheckOutcome {
        let start = MonotonicClock.nanos()
        let deadline = start + Int64(timeout * 1e9)
        var attempts = Attempts(measurement: ["connection": 0])
        let addresses: [SocketAddress]
        do {
            addresses = try await resolve(host, port, family, deadline)
        } catch {
            attempts.measurement["dns_ms"] = Self.milliseconds(MonotonicClock.nanos() - start)
            attempts.measurement["error"] = error.measurementError
            return .failure("Failed to connect to \(target): \(error.statingTimeout(timeout))", attempts.measurement)
        }
        attempts.measurement["dns_ms"] = Self.milliseconds(MonotonicClock.nanos() - start)
        for address in addresses {
            let attemptStart = MonotonicClock.nanos()
            guard attemptStart < deadline else {
                attempts.kind = "timeout"
                attempts.failures.append("timed out after \(JSONValue.format(timeout)) s")
                break
            }
            let completion = await ConnectReactor.shared.connect(to: address, deadline: deadline)
            if let outcome = attempts.add(completion, of: address, text: .string(address.host), startedAt: attemptStart, for: self) {
                return outcome
            }
            if completion.outcome == .timedOut { break }
        }
        return attempts.failure(for: self)
    }

    /// What a run's connects found so far.
    private struct Attempts: Sendable {
        var measurement: [String: JSONValue]
        var failures: [String] = []
        /// The `error` measurement should every attempt fail.
        var kind = "error"

        /// Adds one connect to `address` (`text`: its `address` measurement); returns the run's
        /// outcome when that ends the run.
        mutating func add(
            _ completion: ConnectCompletion, of address: SocketAddress, text: JSONValue, startedAt: Int64, for check: HostPortCheck
        ) -> CheckOutcome? {
            measurement["address"] = text
            measurement["connect_ms"] = HostPortCheck.milliseconds(completion.finishedAt - startedAt)
            let via = check.via(address)
            switch completion.outcome {
            case .connected:
                measurement["connection"] = 1
                return .success(via.isEmpty ? check.connected : check.connected + via, measurement)
            case .failed(let code):
                kind = HostPortCheck.errorKind(code)
                failures.append("\(HostPortCheck.describe(code))\(via)")
            case .timedOut:
                kind = "timeout"
                failures.append("timed out after \(JSONValue.format(check.timeout)) s\(via)")
            case .cancelled:
                measurement["error"] = "cancelled"
                return .failure("Failed to connect to \(check.target): cancelled", measurement)
            }
            return nil
        }

        /// The outcome when no attempt connected.
        func failure(for check: HostPortCheck) -> CheckOutcome {
            var measurement = measurement
            measurement["error"] = .string(kind)
            return .failure("Failed to connect to \(check.target): " + failures.joined(separator: "; "), measurement)
        }
    }

    /// A run's measurement to a numeric address before its connect (no lookup: `dns_ms` 0),
    /// with room for what the connect adds (`address`, `connect_ms`, `error`).
    private static let numericMeasurement: [String: JSONValue] = {
        var measurement = [String: JSONValue](minimumCapacity: 5)
        measurement["connection"] = 0
        measurement["dns_ms"] = 0
        return measurement
    }()

    /// ` (127.0.0.1)` when `host` is a name, so messages say which address answered.
    private func via(_ address: SocketAddress) -> String {
        numeric == nil ? " (\(address.host))" : ""
    }

    static func milliseconds(_ nanos: Int64) -> JSONValue {
        .double((Double(nanos) / 1000).rounded() / 1000)
    }

    /// The `error` measurement for an `errno`: `refused`, `unreachable` or `error`.
    static func errorKind(_ code: Int32) -> String {
        switch code {
        case ECONNREFUSED: "refused"
        case ENETUNREACH, EHOSTUNREACH, EHOSTDOWN, ENETDOWN: "unreachable"
        case ETIMEDOUT: "timeout"
        default: "error"
        }
    }

    /// A lower-case reason for an `errno`, e.g. `connection refused`.
    static func describe(_ code: Int32) -> String {
        switch code {
        case ECONNREFUSED: "connection refused"
        case ENETUNREACH: "network unreachable"
        case EHOSTUNREACH: "host unreachable"
        case ETIMEDOUT: "timed out (by the kernel)"
        default: String(cString: strerror(code))
        }
    }
}
