#if canImport(Glibc)
import Glibc
#endif
internal import CLinux

/// Why a host name could not be turned into addresses.
public struct ResolveError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Sendable, Hashable {
        /// The resolver answered with an error, e.g. `Name or service not known`.
        case failed(String)
        /// No answer within the check's deadline; `seconds` is how long the lookup was given.
        case timedOut(seconds: Double)
        /// Not started: `waiting` lookups (the queue's capacity) were waiting already.
        case queueFull(waiting: Int)
        /// The run was cancelled during the lookup.
        case cancelled
    }

    /// The name looked up.
    public var host: String
    public var reason: Reason

    public init(host: String, reason: Reason) {
        self.host = host
        self.reason = reason
    }

    /// The `error` measurement of a check whose lookup failed: `cancelled`, else `dns`.
    public var measurementError: JSONValue { reason == .cancelled ? "cancelled" : "dns" }

    /// The same error, a time-out stated as the run's whole `timeout` (what the user configured)
    /// rather than the part of it the lookup had left.
    public func statingTimeout(_ timeout: Double) -> ResolveError {
        guard case .timedOut = reason else { return self }
        return ResolveError(host: host, reason: .timedOut(seconds: timeout))
    }

    public var description: String {
        switch reason {
        case .failed(let text): "DNS lookup of \(host) failed: \(text)"
        case .timedOut(let seconds): "DNS lookup of \(host) did not answer within \(JSONValue.format(seconds)) s"
        case .queueFull(let waiting):
            "DNS lookup of \(host) not started: lookup queue full (\(waiting) waiting); the resolver is not answering"
        case .cancelled: "DNS lookup of \(host) cancelled"
        }
    }
}

/// Host name lookups for the network checks.
///
/// `getaddrinfo` blocks (for seconds when a DNS server does not answer), so lookups run on a
/// small shared pool of OS threads, never on Swift's cooperative threads. Numeric addresses are
/// parsed in place with no lookup and no thread hop.
///
/// Every lookup has the check's deadline: when it passes the lookup fails at once
/// (`.timedOut`), though `getaddrinfo` cannot be interrupted and finishes on its thread. During a
/// DNS outage the four threads hang, lookups queue behind them, and each leaves the queue at its
/// deadline without ever starting (a cancelled one at once), so no lookup is left behind for a
/// run that is over. At most `queueCapacity` wait; a further one fails at once (`.queueFull`).
struct Resolver: Sendable {
    /// Lookups that may wait for a thread at once. A check never overlaps itself, so at most one
    /// lookup per by-name check waits; but the first runs of all checks start within one second and
    /// keep that phase, so every period begins with a burst of every by-name check's lookup. With
    /// a slow but working resolver (30 ms a lookup: four threads answer ~130 a second) a burst of
    /// 1,000 must queue, not fail; 4,096 leaves room for that and costs a few MB at most (a
    /// suspended task and two small closures each). Only when lookups hang does the queue fill.
    static let queueCapacity = 4096

    /// The resolver every check uses. Four threads: enough for a handful of slow lookups at once
    /// without stalling the rest; checks that name hosts run at most a few lookups a second each.
    static let shared = Resolver(
        pool: BlockingPool(name: "resolver", threads: 4, capacity: queueCapacity),
        blockingLookup: { host, port, preference in Resolver.lookup(host, port: port, preference: preference) })

    /// The threads the lookups run on.
    let pool: BlockingPool
    /// One blocking lookup (`getaddrinfo`); tests substitute one that hangs.
    let blockingLookup: @Sendable (String, UInt16, AddressPreference) -> Result<[SocketAddress], ResolveError>

    /// `shared.resolve(...)`.
    static func resolve(
        _ host: String, port: UInt16 = 0, preference: AddressPreference = .any, deadline: Int64
    ) async throws(ResolveError) -> [SocketAddress] {
        try await shared.resolve(host, port: port, preference: preference, deadline: deadline)
    }

    /// The addresses of `host` (a name or a numeric address) allowed by `preference`, in the
    /// resolver's order, each with `port`. Throws when the lookup fails, finds no allowed address,
    /// has no answer by `deadline` (`MonotonicClock` nanoseconds), or cannot be queued.
    func resolve(
        _ host: String, port: UInt16 = 0, preference: AddressPreference = .any, deadline: Int64
    ) async throws(ResolveError) -> [SocketAddress] {
        if let numeric = SocketAddress(numeric: host, port: port) {
            guard preference.allows(numeric.family) else {
                throw ResolveError(host: host, reason: .failed("\(host) is not an \(preference == .ipv4 ? "IPv4" : "IPv6") address"))
            }
            return [numeric]
        }
        let start = MonotonicClock.nanos()
        let lookup = blockingLookup
        let result: Result<[SocketAddress], ResolveError>
        do {
            result = try await pool.run(deadline: deadline) { lookup(host, port, preference) }
        } catch {
            switch error {
            case .full(let waiting): throw ResolveError(host: host, reason: .queueFull(waiting: waiting))
            case .expired:
                // Milliseconds are plenty, and keep "2.0 s" from reading "1.999987 s".
                let seconds = (Double(max(0, deadline - start)) / 1e6).rounded() / 1e3
                throw ResolveError(host: host, reason: .timedOut(seconds: seconds))
            case .cancelled: throw ResolveError(host: host, reason: .cancelled)
            }
        }
        return try result.get()
    }

    /// The blocking lookup itself.
    static func lookup(
        _ host: String, port: UInt16, preference: AddressPreference
    ) -> Result<[SocketAddress], ResolveError> {
        var hints = addrinfo()
        hints.ai_family = preference == .ipv4 ? AF_INET : preference == .ipv6 ? AF_INET6 : AF_UNSPEC
        // One entry per address (not one per socket type).
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &list)
        guard rc == 0 else {
            let reason = rc == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(rc))
            return .failure(ResolveError(host: host, reason: .failed(reason)))
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry = list
        while let current = entry {
            if let sockaddr = current.pointee.ai_addr,
                let address = SocketAddress(UnsafeRawPointer(sockaddr), length: Int(current.pointee.ai_addrlen)),
                preference.allows(address.family)
            {
                let withPort = address.with(port: port)
                if !addresses.contains(withPort) { addresses.append(withPort) }
            }
            entry = current.pointee.ai_next
        }
        guard !addresses.isEmpty else {
            return .failure(ResolveError(host: host, reason: .failed("no \(preference == .any ? "" : preference.rawValue + " ")address found")))
        }
        return .success(addresses)
    }
}
