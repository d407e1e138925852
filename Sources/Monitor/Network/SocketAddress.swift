#if canImport(Glibc)
import Glibc
#endif
internal import CLinux

/// An IPv4 or IPv6 address with a port, as the socket calls take it, kept as plain Swift values
/// so it can cross tasks and threads.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address family.
    public enum Family: Sendable, Hashable {
        case ipv4
        case ipv6

        var systemValue: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }
    }

    public let family: Family
    /// 4 (IPv4) or 16 (IPv6) address bytes in network order.
    public let bytes: [UInt8]
    /// The port (host order); 0 where ports do not apply (ICMP).
    public let port: UInt16
    /// The IPv6 scope (interface index) for link-local addresses, else 0.
    public let scopeID: UInt32

    public init(family: Family, bytes: [UInt8], port: UInt16 = 0, scopeID: UInt32 = 0) {
        precondition(bytes.count == (family == .ipv4 ? 4 : 16), "wrong address length")
        self.family = family
        self.bytes = bytes
        self.port = port
        self.scopeID = scopeID
    }

    /// Parses a numeric address (`127.0.0.1`, `::1`, `[::1]`, `fe80::1%eth0`) with no lookup;
    /// `nil` when `text` is not one (a host name).
    public init?(numeric text: String, port: UInt16 = 0) {
        var host = Substring(text)
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        var scope: UInt32 = 0
        if let percent = host.firstIndex(of: "%") {
            scope = if_nametoindex(String(host[host.index(after: percent)...]))
            if scope == 0, let index = UInt32(host[host.index(after: percent)...]) { scope = index }
            guard scope != 0 else { return nil }
            host = host[..<percent]
        }
        var v4 = in_addr()
        if scope == 0, inet_pton(AF_INET, String(host), &v4) == 1 {
            self.init(family: .ipv4, bytes: withUnsafeBytes(of: v4) { Array($0) }, port: port)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, String(host), &v6) == 1 {
            self.init(family: .ipv6, bytes: withUnsafeBytes(of: v6) { Array($0) }, port: port, scopeID: scope)
            return
        }
        return nil
    }

    /// Reads a `sockaddr_in` or `sockaddr_in6`; `nil` for other families.
    init?(_ address: UnsafeRawPointer, length: Int) {
        guard let (family, bytes) = Self.addressBytes(address, length: length) else { return nil }
        if family == .ipv4 {
            let sin = address.loadUnaligned(as: sockaddr_in.self)
            self.init(family: .ipv4, bytes: Array(bytes), port: UInt16(bigEndian: sin.sin_port))
        } else {
            let sin6 = address.loadUnaligned(as: sockaddr_in6.self)
            self.init(family: .ipv6, bytes: Array(bytes), port: UInt16(bigEndian: sin6.sin6_port), scopeID: sin6.sin6_scope_id)
        }
    }

    /// Whether the `sockaddr_in` or `sockaddr_in6` at `address` holds the address `bytes` (port
    /// and scope aside), read in place: the ICMP reader matches every reply's source by it.
    static func address(_ address: UnsafeRawPointer, length: Int, equals bytes: [UInt8]) -> Bool {
        guard let (_, found) = addressBytes(address, length: length), found.count == bytes.count else { return false }
        return bytes.withUnsafeBytes { memcmp($0.baseAddress!, found.baseAddress!, found.count) == 0 }
    }

    /// The family and the address bytes (in place) of the `sockaddr_in` or `sockaddr_in6` at
    /// `address`; `nil` for other families or a length too short for one.
    private static func addressBytes(_ address: UnsafeRawPointer, length: Int) -> (Family, UnsafeRawBufferPointer)? {
        let family = Int32(address.load(as: sa_family_t.self))
        if family == AF_INET, length >= MemoryLayout<sockaddr_in>.size {
            return (.ipv4, UnsafeRawBufferPointer(start: address + MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!, count: 4))
        }
        if family == AF_INET6, length >= MemoryLayout<sockaddr_in6>.size {
            return (.ipv6, UnsafeRawBufferPointer(start: address + MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!, count: 16))
        }
        return nil
    }

    /// The same address with another port.
    public func with(port: UInt16) -> SocketAddress {
        SocketAddress(family: family, bytes: bytes, port: port, scopeID: scopeID)
    }

    /// The address alone, e.g. `127.0.0.1` or `::1` (with `%scope` when set).
    public var host: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        bytes.withUnsafeBytes { raw in
            _ = inet_ntop(family.systemValue, raw.baseAddress, &buffer, socklen_t(buffer.count))
        }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return scopeID == 0 ? text : "\(text)%\(scopeID)"
    }

    /// `127.0.0.1:80`, `[::1]:80`, or the bare address when the port is 0.
    public var description: String {
        if port == 0 { return host }
        return family == .ipv4 ? "\(host):\(port)" : "[\(host)]:\(port)"
    }

    /// Calls `body` with this address as a `sockaddr` and its length.
    func withSockAddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        switch family {
        case .ipv4:
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_scope_id = scopeID
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }
}

/// Which address families a check may use.
public enum AddressPreference: String, Sendable, Hashable, CaseIterable {
    /// Every resolved address, in the resolver's order (IPv6 first where the system prefers it).
    case any
    /// IPv4 addresses only.
    case ipv4
    /// IPv6 addresses only.
    case ipv6

    func allows(_ family: SocketAddress.Family) -> Bool {
        switch self {
        case .any: true
        case .ipv4: family == .ipv4
        case .ipv6: family == .ipv6
        }
    }
}
