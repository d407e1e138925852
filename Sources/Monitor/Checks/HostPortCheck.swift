#if canImport(Glibc)
import Glibc
#endif

/// `hostport`: opens a TCP connection to `host`:`port` and closes it at once.
///
/// The host is resolved on every run (numeric addresses need no lookup) and every address found
/// is tried in the resolver's order until one accepts; `timeout` covers the lookup and all the
/// attempts together: a lookup with no answer by then fails the run with `error: dns`. No thread
/// waits on a connect: the sockets are non-blocking and one epoll thread (`ConnectReactor`)
/// completes them all.
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
        ],
        make: { context in
            let o = context.options
            return HostPortCheck(
                host: o.string("host") ?? "", port: UInt16(o.int("port") ?? 1), timeout: o.double("timeout") ?? 30,
                family: AddressPreference(rawValue: o.string("family") ?? "any") ?? .any)
        })

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
    }

    /// `host:port` as the messages show it.
    var target: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public func run() async -> CheckOutcome {
        let start = MonotonicClock.nanos()
        let deadline = start + Int64(timeout * 1e9)
        var measurement: [String: JSONValue] = ["connection": 0]
        let addresses: [SocketAddress]
        do {
            addresses = try await resolve(host, port, family, deadline)
        } catch {
            measurement["dns_ms"] = Self.milliseconds(MonotonicClock.nanos() - start)
            measurement["error"] = error.measurementError
            return .failure("Failed to connect to \(target): \(error.statingTimeout(timeout))", measurement)
        }
        let resolved = MonotonicClock.nanos()
        measurement["dns_ms"] = Self.milliseconds(resolved - start)

        var failures: [String] = []
        var kind = "error"
        for address in addresses {
            let attemptStart = MonotonicClock.nanos()
            guard attemptStart < deadline else {
                kind = "timeout"
                failures.append("timed out after \(JSONValue.format(timeout)) s")
                break
            }
            let completion = await ConnectReactor.shared.connect(to: address, deadline: deadline)
            measurement["address"] = .string(address.host)
            measurement["connect_ms"] = Self.milliseconds(completion.finishedAt - attemptStart)
            switch completion.outcome {
            case .connected:
                measurement["connection"] = 1
                return .success("Successfully connected to \(target)\(via(address))", measurement)
            case .failed(let code):
                kind = Self.errorKind(code)
                failures.append("\(Self.describe(code))\(via(address))")
            case .timedOut:
                kind = "timeout"
                failures.append("timed out after \(JSONValue.format(timeout)) s\(via(address))")
            case .cancelled:
                measurement["error"] = "cancelled"
                return .failure("Failed to connect to \(target): cancelled", measurement)
            }
            if completion.outcome == .timedOut { break }
        }
        measurement["error"] = .string(kind)
        return .failure("Failed to connect to \(target): " + failures.joined(separator: "; "), measurement)
    }

    /// ` (127.0.0.1)` when `host` is a name, so messages say which address answered.
    private func via(_ address: SocketAddress) -> String {
        SocketAddress(numeric: host) == nil ? " (\(address.host))" : ""
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
