#if canImport(Glibc)
import Glibc
#endif
internal import CLinux
import Synchronization

/// How one non-blocking TCP connect ended.
enum ConnectOutcome: Sendable, Hashable {
    /// The handshake completed.
    case connected
    /// The connect failed with this `errno` (`ECONNREFUSED`, `EHOSTUNREACH`, …).
    case failed(errno: Int32)
    /// The deadline passed first.
    case timedOut
    /// The waiting task was cancelled.
    case cancelled
}

/// How a connect ended, and when (`MonotonicClock` nanoseconds, read when the event arrived).
struct ConnectCompletion: Sendable, Hashable {
    var outcome: ConnectOutcome
    var finishedAt: Int64
}

/// Non-blocking TCP connects for `hostport`, completed by one epoll thread shared by every check.
///
/// Hand-written on epoll rather than SwiftNIO (which STYLE.md prefers): a health check only needs
/// "did the handshake complete, and when", which is socket + connect + one readiness event + close.
/// NIO would add a channel, a pipeline and promises per connect and ~1-2 minutes to every clean
/// build on our two cores, while the benchmark (`scripts/bench-hostport.sh`) asks for 10,000
/// connects a second within 100 µs of CPU each, against a kernel floor of about 34 µs. This loop
/// spends its time in the kernel (see the README's Performance section for the figures).
///
/// The calling task creates the socket and starts the connect itself, so most of the work runs in
/// parallel on the cooperative threads; the epoll thread only waits, reads `SO_ERROR`, closes, and
/// resumes the task. Sockets are closed with a reset (`SO_LINGER` 0), as HAProxy's checks do, so
/// thousands of checks leave no `TIME_WAIT` sockets behind.
final class ConnectReactor: @unchecked Sendable {
    // @unchecked: `epollFD`/`wakeFD` are immutable after init; everything mutable is in `state`.

    /// The reactor every `hostport` check shares; its thread starts on first use.
    static let shared = ConnectReactor()

    private struct Pending {
        var generation: UInt32
        var continuation: UnsafeContinuation<ConnectCompletion, Never>
    }

    private struct State {
        /// Waiting connects by file descriptor (descriptors are small and dense).
        var pending: [Pending?] = []
        var live = 0
        var timers = DeadlineHeap()
        /// When the loop will wake at the latest (`Int64.max`: only on events).
        var wakeAt = Int64.max
    }

    private let epollFD: Int32
    private let wakeFD: Int32
    private let state = Mutex(State())
    private let generations = Atomic<UInt32>(1)
    private let thread = DedicatedThread(name: "hostport-epoll")

    private init() {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(epollFD >= 0 && wakeFD >= 0, "cannot create epoll/eventfd: \(String(cString: strerror(errno)))")
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: UInt64.max))
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
        thread.submit { [self] in loop() }
    }

    /// Connects to `address`, waiting until `deadline` (`MonotonicClock` nanoseconds) at most, and
    /// closes the connection at once.
    func connect(to address: SocketAddress, deadline: Int64) async -> ConnectCompletion {
        let fd = socket(address.family.systemValue, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return ConnectCompletion(outcome: .failed(errno: errno), finishedAt: MonotonicClock.nanos()) }
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 {
            let now = MonotonicClock.nanos()
            Self.closeWithReset(fd)
            return ConnectCompletion(outcome: .connected, finishedAt: now)
        }
        let error = errno
        guard error == EINPROGRESS else {
            close(fd)
            return ConnectCompletion(outcome: .failed(errno: error), finishedAt: MonotonicClock.nanos())
        }
        let generation = generations.wrappingAdd(1, ordering: .relaxed).newValue
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                if Task.isCancelled {
                    close(fd)
                    continuation.resume(returning: ConnectCompletion(outcome: .cancelled, finishedAt: MonotonicClock.nanos()))
                } else {
                    register(fd: fd, generation: generation, deadline: deadline, continuation: continuation)
                }
            }
        } onCancel: {
            finish(fd: fd, generation: generation, with: .cancelled)
        }
    }

    private static func key(fd: Int32, generation: UInt32) -> UInt64 {
        UInt64(UInt32(bitPattern: fd)) | UInt64(generation) << 32
    }

    private func register(
        fd: Int32, generation: UInt32, deadline: Int64, continuation: UnsafeContinuation<ConnectCompletion, Never>
    ) {
        let key = Self.key(fd: fd, generation: generation)
        // epoll_ctl runs under the lock: were it outside, the timer could expire the connect and
        // close the descriptor first, and the number might already belong to another socket.
        let (wake, failure) = state.withLock { s -> (Bool, Int32?) in
            var event = epoll_event(events: EPOLLOUT.rawValue | EPOLLONESHOT.rawValue, data: epoll_data_t(u64: key))
            if epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) != 0 { return (false, errno) }
            let index = Int(fd)
            if index >= s.pending.count { s.pending.append(contentsOf: repeatElement(nil, count: index + 1 - s.pending.count + 64)) }
            s.pending[index] = Pending(generation: generation, continuation: continuation)
            s.live += 1
            s.timers.push(deadline: deadline, key: key)
            guard deadline < s.wakeAt else { return (false, nil) }
            s.wakeAt = deadline
            return (true, nil)
        }
        if let failure {
            close(fd)
            continuation.resume(returning: ConnectCompletion(outcome: .failed(errno: failure), finishedAt: MonotonicClock.nanos()))
        } else if wake {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    /// Removes a waiting connect if it is still the one identified, closes it and resumes its task.
    private func finish(fd: Int32, generation: UInt32, with outcome: ConnectOutcome) {
        let continuation = state.withLock { s in take(&s, fd: fd, generation: generation) }
        guard let continuation else { return }
        close(fd)
        continuation.resume(returning: ConnectCompletion(outcome: outcome, finishedAt: MonotonicClock.nanos()))
    }

    private func take(_ s: inout State, fd: Int32, generation: UInt32) -> UnsafeContinuation<ConnectCompletion, Never>? {
        let index = Int(fd)
        guard index < s.pending.count, let entry = s.pending[index], entry.generation == generation else { return nil }
        s.pending[index] = nil
        s.live -= 1
        return entry.continuation
    }

    /// Closes with a reset (`SO_LINGER` 0): no `TIME_WAIT` left behind.
    static func closeWithReset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }

    private func loop() {
        let capacity = 512
        var events = [epoll_event](repeating: epoll_event(), count: capacity)
        var ready: [(fd: Int32, continuation: UnsafeContinuation<ConnectCompletion, Never>)] = []
        var expired: [(fd: Int32, continuation: UnsafeContinuation<ConnectCompletion, Never>)] = []
        while true {
            let timeout = state.withLock { s in
                MonotonicClock.pollTimeout(until: s.timers.first?.deadline, now: MonotonicClock.nanos())
            }
            let count = epoll_wait(epollFD, &events, Int32(capacity), timeout)
            if count < 0 && errno != EINTR {
                preconditionFailure("epoll_wait failed: \(String(cString: strerror(errno)))")
            }
            let now = MonotonicClock.nanos()
            var woken = false
            state.withLock { s in
                for index in 0..<max(0, Int(count)) {
                    let key = events[index].data.u64
                    if key == UInt64.max {
                        woken = true
                        continue
                    }
                    let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: key))
                    if let continuation = take(&s, fd: fd, generation: UInt32(truncatingIfNeeded: key >> 32)) {
                        ready.append((fd, continuation))
                    }
                }
                while let due = s.timers.popDue(now: now) {
                    let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: due.key))
                    if let continuation = take(&s, fd: fd, generation: UInt32(truncatingIfNeeded: due.key >> 32)) {
                        expired.append((fd, continuation))
                    }
                }
                // Connects that finished early leave their timer behind; drop them in bulk.
                if s.timers.count > 2 * s.live + 4096 {
                    let pending = s.pending
                    s.timers.compact { key in
                        let index = Int(UInt32(truncatingIfNeeded: key))
                        return index < pending.count && pending[index]?.generation == UInt32(truncatingIfNeeded: key >> 32)
                    }
                }
                s.wakeAt = s.timers.first?.deadline ?? Int64.max
            }
            if woken {
                var drained: UInt64 = 0
                _ = read(wakeFD, &drained, 8)
            }
            for (fd, continuation) in ready {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 { error = errno }
                if error == 0 {
                    Self.closeWithReset(fd)
                    continuation.resume(returning: ConnectCompletion(outcome: .connected, finishedAt: now))
                } else {
                    close(fd)
                    continuation.resume(returning: ConnectCompletion(outcome: .failed(errno: error), finishedAt: now))
                }
            }
            for (fd, continuation) in expired {
                close(fd)
                continuation.resume(returning: ConnectCompletion(outcome: .timedOut, finishedAt: now))
            }
            ready.removeAll(keepingCapacity: true)
            expired.removeAll(keepingCapacity: true)
        }
    }
}
