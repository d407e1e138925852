#if canImport(Glibc)
import Glibc
#endif
internal import CLinux

/// Why no ICMP socket could be opened, with what to do about it.
public struct ICMPSocketError: Error, Sendable, Hashable, CustomStringConvertible {
    public var family: SocketAddress.Family
    /// `errno` of the unprivileged datagram socket.
    public var datagramErrno: Int32
    /// `errno` of the raw socket.
    public var rawErrno: Int32

    public var description: String {
        let name = family == .ipv4 ? "IPv4" : "IPv6"
        let range = (try? FileSystem.readText("/proc/sys/net/ipv4/ping_group_range"))?
            .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).joined(separator: " ")
        return "cannot open an \(name) ICMP socket: unprivileged ICMP sockets are not allowed for this process's groups"
            + " (\(String(cString: strerror(datagramErrno)))\(range.map { "; net.ipv4.ping_group_range is '\($0)'" } ?? ""))"
            + " and raw sockets need root or CAP_NET_RAW (\(String(cString: strerror(rawErrno)))). To fix: allow"
            + " unprivileged ping with `sysctl -w net.ipv4.ping_group_range='0 2147483647'` (persist it in"
            + " /etc/sysctl.d; in Docker: --sysctl net.ipv4.ping_group_range='0 2147483647'), or grant the"
            + " capability with `setcap cap_net_raw+ep <path to healthmonitor>`, or run as root"
    }
}

/// One ICMP echo socket per address family, shared by every `ping` check, with a reader thread
/// that matches replies to requests.
///
/// - Socket: an unprivileged datagram ICMP socket (`SOCK_DGRAM`, `IPPROTO_ICMP[V6]`) when
///   `net.ipv4.ping_group_range` admits one of our groups, else a raw socket (root or
///   `CAP_NET_RAW`). On a datagram socket the kernel replaces the identifier of every request with
///   the socket's "port" and delivers only replies carrying it, so the identifier is read back with
///   `getsockname`; a raw socket sees every ICMP packet of the host, so replies are filtered by our
///   (random) identifier, with `ICMP_FILTER`/`ICMP6_FILTER` dropping other types in the kernel.
/// - Matching: each request gets a sequence number not in use by another waiting request and a
///   random 8-byte token in its payload. A reply counts only if identifier, sequence, token,
///   length and source address all match a waiting request; it then stops waiting, so duplicates
///   and late replies (after the request expired) are ignored, as are other programs' replies.
/// - Timing: the send time is read just before `sendto`; the receive time is the kernel's
///   `SO_TIMESTAMPNS` stamp taken when the packet arrived, so a busy reader or hundreds of replies
///   at once do not inflate round-trip times. The reader's own monotonic reading is the fallback
///   (and the bound, should the wall clock step).
/// - Threads: sends happen on the calling task (non-blocking `sendto`); one reader thread per
///   family blocks in `poll`, reads every reply and expires requests whose wait ended.
final class ICMPEngine: @unchecked Sendable {
    // @unchecked: the descriptors are immutable after init; all mutable state is in `state`.

    /// The socket type in use.
    enum Kind: String, Sendable {
        case datagram
        case raw
    }

    let family: SocketAddress.Family
    let kind: Kind
    /// The identifier replies carry (the kernel's for datagram sockets).
    let identifier: UInt16
    private let fd: Int32
    private let wakeFD: Int32
    private let thread: DedicatedThread

    private struct Pending {
        var waiter: any EchoWaiter
        var index: Int
        var generation: UInt32
        /// The request's payload is `ICMPPacket.payloadBytes(token:size:)` of these.
        var token: UInt64
        var payloadSize: Int
        var destination: [UInt8]
        /// `CLOCK_REALTIME` and `CLOCK_MONOTONIC` at send, nanoseconds.
        var sentReal: Int64
        var sentMono: Int64
    }

    private struct State {
        var pending: [UInt16: Pending] = [:]
        var nextSequence: UInt16 = 0
        var generation: UInt32 = 0
        var timers = DeadlineHeap<UInt64>()
        var wakeAt = Int64.max
        var random: SplitMix64
        var stopped = false
    }

    private let state: Locked<State>

    private static let engines = Locked<[SocketAddress.Family: ICMPEngine]>([:])

    /// The shared engine of `family`, opened on first use: a datagram socket when allowed, else a
    /// raw one. A failure is not remembered, so fixing the permission takes effect on the next run.
    static func shared(_ family: SocketAddress.Family) throws(ICMPSocketError) -> ICMPEngine {
        let result = engines.withLock { engines -> Result<ICMPEngine, ICMPSocketError> in
            if let engine = engines[family] { return .success(engine) }
            do throws(ICMPSocketError) {
                let engine = try openPreferred(family)
                engines[family] = engine
                return .success(engine)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// A new engine on the best socket allowed: datagram, else raw.
    static func openPreferred(_ family: SocketAddress.Family) throws(ICMPSocketError) -> ICMPEngine {
        let datagramErrno: Int32
        do throws(OpenError) {
            return try ICMPEngine(family: family, kind: .datagram)
        } catch {
            datagramErrno = error.code
        }
        do throws(OpenError) {
            return try ICMPEngine(family: family, kind: .raw)
        } catch {
            throw ICMPSocketError(family: family, datagramErrno: datagramErrno, rawErrno: error.code)
        }
    }

    /// An `errno` from opening or setting up a socket.
    struct OpenError: Error {
        var code: Int32
    }

    /// Opens a socket of `kind` and starts the reader thread.
    init(family: SocketAddress.Family, kind: Kind) throws(OpenError) {
        let proto = family == .ipv4 ? Int32(IPPROTO_ICMP) : Int32(IPPROTO_ICMPV6)
        let type = (kind == .datagram ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_RAW.rawValue))
            | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(family.systemValue, type, proto)
        guard fd >= 0 else { throw OpenError(code: errno) }
        var random = SplitMix64(seed: UInt64.random(in: .min ... .max))
        do {
            identifier = try Self.configure(fd, family: family, kind: kind, random: &random)
        } catch {
            close(fd)
            throw error
        }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0 else {
            let code = errno
            close(fd)
            throw OpenError(code: code)
        }
        self.fd = fd
        self.family = family
        self.kind = kind
        self.state = Locked(State(random: random))
        self.thread = DedicatedThread(name: "icmp-\(family == .ipv4 ? "v4" : "v6")")
        // Cannot throw: only `stop()` makes a thread refuse jobs, and this one was made above.
        try! thread.submit { [self] in readLoop() }
    }

    /// Sets the socket options; returns the identifier replies will carry.
    private static func configure(
        _ fd: Int32, family: SocketAddress.Family, kind: Kind, random: inout SplitMix64
    ) throws(OpenError) -> UInt16 {
        func set<T>(_ level: Int32, _ name: Int32, _ value: T) throws(OpenError) {
            var value = value
            if setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<T>.size)) != 0 { throw OpenError(code: errno) }
        }
        // SO_TIMESTAMPNS is a macro choosing between _OLD and _NEW by time_t size; on 64-bit
        // Linux both are the same timespec, and _OLD is the one Swift can see.
        try set(SOL_SOCKET, SO_TIMESTAMPNS_OLD, Int32(1))
        // Room for replies from hundreds of hosts arriving together (the kernel caps it at rmem_max).
        try? set(SOL_SOCKET, SO_RCVBUF, Int32(1 << 20))
        if family == .ipv4 {
            try set(Int32(IPPROTO_IP), IP_RECVTTL, Int32(1))
        } else {
            try set(Int32(IPPROTO_IPV6), IPV6_RECVHOPLIMIT, Int32(1))
        }
        switch kind {
        case .raw:
            if family == .ipv4 {
                // Bits set are types dropped: keep echo replies (type 0) only.
                try set(SOL_RAW, ICMP_FILTER, icmp_filter(data: ~UInt32(1)))
            } else {
                var filter = icmp6_filter()
                withUnsafeMutableBytes(of: &filter) { $0.initializeMemory(as: UInt8.self, repeating: 0xFF) }
                withUnsafeMutableBytes(of: &filter) { raw in
                    let words = raw.bindMemory(to: UInt32.self)
                    words[129 >> 5] &= ~(UInt32(1) << (129 & 31))
                }
                try set(Int32(IPPROTO_ICMPV6), ICMP6_FILTER, filter)
            }
            return UInt16(truncatingIfNeeded: random.next() % 0xFFFF) + 1
        case .datagram:
            // Binding to port 0 makes the kernel pick this socket's identifier now.
            let any = SocketAddress(family: family, bytes: [UInt8](repeating: 0, count: family == .ipv4 ? 4 : 16))
            let rc = any.withSockAddr { bind(fd, $0, $1) }
            guard rc == 0 else { throw OpenError(code: errno) }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0 else { throw OpenError(code: errno) }
            let address = withUnsafeBytes(of: storage) { SocketAddress($0.baseAddress!, length: Int(length)) }
            return address?.port ?? 0
        }
    }

    /// Sends echo request `index` of `waiter` to `destination` with `payloadSize` payload bytes,
    /// waiting for its reply until `expiry` (`MonotonicClock` nanoseconds). Returns the key that
    /// `cancel` takes, or the `errno` of a failed send (the request is then not waiting).
    func send(
        waiter: any EchoWaiter, index: Int, to destination: SocketAddress, payloadSize: Int, expiry: Int64
    ) -> Result<UInt64, SendError> {
        precondition(destination.family == family, "address family mismatch")
        // The packet comes out of the lock as a result: assigned to a variable of the caller, it
        // was captured in a heap box (one more allocation a request).
        let registered = state.withLock { s -> (key: UInt64, wake: Bool, packet: [UInt8])? in
            guard s.pending.count < Int(UInt16.max) else { return nil }
            var sequence = s.nextSequence
            while s.pending[sequence] != nil { sequence &+= 1 }
            s.nextSequence = sequence &+ 1
            s.generation &+= 1
            let token = s.random.next()
            let packet = ICMPPacket.echoRequest(
                family: family, identifier: identifier, sequence: sequence,
                payload: ICMPPacket.payloadBytes(token: token, size: payloadSize))
            let key = UInt64(sequence) | UInt64(s.generation) << 16
            s.timers.push(deadline: expiry, value: key)
            // Clock readings last, just before the lock is released and the packet leaves.
            s.pending[sequence] = Pending(
                waiter: waiter, index: index, generation: s.generation, token: token, payloadSize: payloadSize,
                destination: destination.bytes,
                sentReal: WallClock.nowNanos(), sentMono: MonotonicClock.nanos())
            // Wake the reader if this request expires before it planned to wake.
            let wake = expiry < s.wakeAt
            if wake { s.wakeAt = expiry }
            return (key, wake, packet)
        }
        guard let (key, wake, packet) = registered else { return .failure(SendError(code: ENOBUFS)) }
        let sent = packet.withUnsafeBytes { bytes in
            destination.withSockAddr { sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, $1) }
        }
        if sent < 0 {
            let code = errno
            _ = state.withLock { s in Self.take(&s, key: key) }
            return .failure(SendError(code: code))
        }
        if wake { signalReader() }
        return .success(key)
    }

    /// A failed `sendto`.
    struct SendError: Error, Hashable {
        var code: Int32
    }

    /// Stops waiting for the requests with these keys; their waiters see them as lost.
    func cancel(_ keys: [UInt64]) {
        let removed = state.withLock { s in keys.compactMap { Self.take(&s, key: $0) } }
        for entry in removed { entry.waiter.lost(index: entry.index) }
    }

    /// Closes the socket and ends the reader thread (tests; shared engines live as long as the process).
    func stop() {
        let waiting = state.withLock { s -> [Pending] in
            s.stopped = true
            let all = Array(s.pending.values)
            s.pending.removeAll()
            return all
        }
        for entry in waiting { entry.waiter.lost(index: entry.index) }
        signalReader()
        thread.stop()
        close(fd)
        close(wakeFD)
    }

    private func signalReader() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    private static func take(_ s: inout State, key: UInt64) -> Pending? {
        let sequence = UInt16(truncatingIfNeeded: key)
        guard let entry = s.pending[sequence], entry.generation == UInt32(truncatingIfNeeded: key >> 16) else { return nil }
        s.pending[sequence] = nil
        return entry
    }

    // MARK: - Reader thread

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 65_536 + 512)
        var control = [UInt8](repeating: 0, count: 512)
        var expired: [Pending] = []
        var fds = [
            pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let timeout = state.withLock { s -> Int32? in
                if s.stopped { return nil }
                s.wakeAt = s.timers.first?.deadline ?? Int64.max
                return MonotonicClock.pollTimeout(until: s.timers.first?.deadline, now: MonotonicClock.nanos())
            }
            guard let timeout else { return }
            let ready = poll(&fds, 2, timeout)
            if ready < 0 && errno != EINTR { preconditionFailure("poll failed: \(String(cString: strerror(errno)))") }
            if fds[1].revents != 0 {
                var drained: UInt64 = 0
                _ = read(wakeFD, &drained, 8)
            }
            if fds[0].revents != 0 {
                while receiveOne(buffer: &buffer, control: &control) {}
            }
            let now = MonotonicClock.nanos()
            state.withLock { s in
                while let due = s.timers.popDue(now: now) {
                    if let entry = Self.take(&s, key: due.value) { expired.append(entry) }
                }
                if s.timers.count > 2 * s.pending.count + 4096 {
                    let pending = s.pending
                    s.timers.compact { key in
                        pending[UInt16(truncatingIfNeeded: key)]?.generation == UInt32(truncatingIfNeeded: key >> 16)
                    }
                }
            }
            for entry in expired { entry.waiter.lost(index: entry.index) }
            expired.removeAll(keepingCapacity: true)
        }
    }

    /// Reads one packet if there is one; returns `false` when the socket is drained.
    private func receiveOne(buffer: inout [UInt8], control: inout [UInt8]) -> Bool {
        var source = sockaddr_storage()
        var message = msghdr()
        let count = buffer.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { controlBytes in
                withUnsafeMutablePointer(to: &source) { sourcePointer in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        message.msg_name = UnsafeMutableRawPointer(sourcePointer)
                        message.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        return recvmsg(fd, &message, Int32(MSG_DONTWAIT))
                    }
                }
            }
        }
        if count < 0 { return errno == EINTR }
        let receivedMono = MonotonicClock.nanos()
        var kernelReal: Int64?
        var controlTTL: Int?
        control.withUnsafeMutableBytes { controlBytes in
            message.msg_control = controlBytes.baseAddress
            var header = clinux_cmsg_firsthdr(&message)
            while let current = header {
                let level = current.pointee.cmsg_level
                let type = current.pointee.cmsg_type
                let data = UnsafeRawPointer(clinux_cmsg_data(current)!)
                if level == SOL_SOCKET && type == SO_TIMESTAMPNS_OLD {
                    let stamp = data.loadUnaligned(as: timespec.self)
                    kernelReal = Int64(stamp.tv_sec) * 1_000_000_000 + Int64(stamp.tv_nsec)
                } else if (level == Int32(IPPROTO_IP) && type == IP_TTL) || (level == Int32(IPPROTO_IPV6) && type == IPV6_HOPLIMIT) {
                    controlTTL = Int(data.loadUnaligned(as: Int32.self))
                }
                header = clinux_cmsg_nxthdr(&message, current)
            }
        }
        guard let reply = ICMPPacket.parseEchoReply(
            buffer[0..<count], family: family, includesIPHeader: kind == .raw && family == .ipv4),
            reply.identifier == identifier
        else { return true }
        let sourceLength = Int(message.msg_namelen)
        let matched = state.withLock { s -> Pending? in
            guard let entry = s.pending[reply.sequence],
                reply.payload.elementsEqual(ICMPPacket.payloadBytes(token: entry.token, size: entry.payloadSize)),
                withUnsafeBytes(of: source, { SocketAddress.address($0.baseAddress!, length: sourceLength, equals: entry.destination) })
            else { return nil }
            s.pending[reply.sequence] = nil
            return entry
        }
        guard let matched else { return true }
        let monotonicRTT = receivedMono - matched.sentMono
        var rtt = monotonicRTT
        // The kernel stamp is on the wall clock; trust it unless the wall clock stepped meanwhile.
        if let kernelReal {
            let kernelRTT = kernelReal - matched.sentReal
            if kernelRTT >= 0 && kernelRTT <= monotonicRTT + 10_000 { rtt = kernelRTT }
        }
        matched.waiter.replied(index: matched.index, rttNanos: rtt, ttl: reply.headerTTL ?? controlTTL)
        return true
    }
}
