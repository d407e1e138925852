#if canImport(Glibc)
import Glibc
#endif

/// A TCP listening socket on loopback for the network tests: the kernel completes handshakes
/// into its backlog, so nothing needs to accept for a connect to succeed.
final class LoopbackListener {
    let fd: Int32
    let port: UInt16
    let host: String

    /// Listens on `host` (`127.0.0.1` or `::1`) on a free port with `backlog`.
    init(host: String = "127.0.0.1", backlog: Int32 = 64) {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0)
        self.fd = fd
        self.host = host
        if v6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            inet_pton(AF_INET6, host, &address.sin6_addr)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, host, &address.sin_addr)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        precondition(listen(fd, backlog) == 0)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        // sin_port and sin6_port sit at the same offset.
        self.port = withUnsafeBytes(of: storage) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
    }

    /// Fills the backlog of a `backlog: 0` IPv4 listener with pending connects, so that a new
    /// connect to it hangs (the kernel drops its SYNs): the only local way to make a connect time
    /// out without touching routes or firewall rules. Returns the sockets (close them after).
    func fillBacklog() -> [Int32] {
        (0..<4).map { _ in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            return fd
        }
    }

    /// A port on `host` with nothing listening: bound, then closed.
    static func closedPort(host: String = "127.0.0.1") -> UInt16 {
        let listener = LoopbackListener(host: host)
        let port = listener.port
        listener.close()
        return port
    }

    private var closed = false

    /// Closes the socket once. Tests call it in a `defer` so the listener lives to the end of the
    /// test: Swift may release an object right after its last use, which would close the port
    /// while a connect to it is still to come.
    func close() {
        guard !closed else { return }
        closed = true
        _ = Glibc.close(fd)
    }

    deinit {
        close()
    }
}
