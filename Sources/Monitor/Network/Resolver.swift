#if canImport(Glibc)
import Glibc
#endif
internal import CLinux

/// Why a host name could not be turned into addresses.
public struct ResolveError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The name looked up.
    public var host: String
    /// The resolver's reason, e.g. `Name or service not known`.
    public var reason: String

    public var description: String { "DNS lookup of \(host) failed: \(reason)" }
}

/// Host name lookups for the network checks.
///
/// `getaddrinfo` blocks (for seconds when a DNS server does not answer), so lookups run on a
/// small shared pool of OS threads, never on Swift's cooperative threads. Numeric addresses are
/// parsed in place with no lookup and no thread hop.
public enum Resolver {
    /// Four threads: enough for a handful of slow lookups at once without stalling the rest; checks
    /// that name hosts run at most a few lookups a second each.
    private static let pool = BlockingPool(name: "resolver", threads: 4)

    /// The addresses of `host` (a name or a numeric address) allowed by `preference`, in the
    /// resolver's order, each with `port`. Throws when the lookup fails or finds no allowed address.
    public static func resolve(
        _ host: String, port: UInt16 = 0, preference: AddressPreference = .any
    ) async throws(ResolveError) -> [SocketAddress] {
        if let numeric = SocketAddress(numeric: host, port: port) {
            guard preference.allows(numeric.family) else {
                throw ResolveError(host: host, reason: "\(host) is not an \(preference == .ipv4 ? "IPv4" : "IPv6") address")
            }
            return [numeric]
        }
        let result = await pool.run(cancelled: .failure(ResolveError(host: host, reason: "cancelled"))) {
            lookup(host, port: port, preference: preference)
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
            return .failure(ResolveError(host: host, reason: reason))
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
            return .failure(ResolveError(host: host, reason: "no \(preference == .any ? "" : preference.rawValue + " ")address found"))
        }
        return .success(addresses)
    }
}
