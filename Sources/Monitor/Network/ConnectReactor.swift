#if canImport(Glibc)
import Glibc
#endif
internal import CLinux

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
/// build on our two cores, while the product benchmark (`scripts/bench-product.sh hostport`) asks
/// for 10,000 connects a second at a small multiple of a C connect+close loop (see the README's
/// Performance section for the figures).
///
/// The caller creates the socket and starts the connect (`begin`); a connect the kernel finished
/// inside the call (loopback, often a local network) ends there, seen by one `poll` without
/// waiting. Otherwise the waiting task adds it to epoll itself (`wait`), so most of the work
/// runs on the callers' threads; the epoll thread only waits, reads `SO_ERROR`, closes, and
/// resumes the task. Sockets are closed with a reset (`SO_LINGER` 0), as
/// HAProxy's checks do, so thousands of checks leave no `TIME_WAIT` sockets behind.
///
/// Ownership keeps locking short: only the epoll thread ever completes a connect (closes its
/// socket, resumes its task) and only it touches the timer heap; callers hand it new connects and
/// cancellations through two lock-protected lists. A socket is added to epoll before it is
/// handed over, so it is never closed before that `epoll_ctl`, and its number is never reused
/// under a registration still in flight.
final class ConnectReactor: @unchecked Sendable {
    // @unchecked: `epollFD`/`wakeFD` are immutable after init; the shared lists are in `shared`;
    // everything else belongs to the epoll thread.

    /// The reactor every `hostport` check shares; its thread starts on first use.
    static let shared = ConnectReactor()

    /// One connect in flight. Its address is the epoll event's data.
    private final class Registration: @unchecked Sendable {
        // @unchecked: `continuation`, `fd` and `deadline` are set before the registration is
        // published; `done` is only touched by the epoll thread; the rest is guarded by `shared`.
        let fd: Int32
        let deadline: Int64
        let continuation: UnsafeContinuation<ConnectCompletion, Never>
        var done = false
        /// Taken from `incoming` by the epoll thread (epoll thread only).
        var inLoop = false
        var published = false
        var cancelRequested = false

        init(fd: Int32, deadline: Int64, continuation: UnsafeContinuation<ConnectCompletion, Never>) {
            self.fd = fd
            self.deadline = deadline
            self.continuation = continuation
        }
    }

    /// A holder for the registration, which only exists once the continuation does.
    private final class RegistrationBox: @unchecked Sendable {
        // @unchecked: guarded by the reactor's `shared` lock.
        var registration: Registration?
        var cancelledEarly = false
    }

    private struct Shared {
        var incoming: [Registration] = []
        var cancels: [Registration] = []
        /// When the loop will wake at the latest (`Int64.max`: only on events).
        var wakeAt = Int64.max
    }

    private let epollFD: Int32
    private let wakeFD: Int32
    private let shared = Locked(Shared())
    private let thread = DedicatedThread(name: "hostport-epoll")

    private init() {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(epollFD >= 0 && wakeFD >= 0, "cannot create epoll/eventfd: \(String(cString: strerror(errno)))")
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: 0))
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
        // Cannot throw: only `stop()` makes a thread refuse jobs, and this one is never stopped.
        try! thread.submit { [self] in loop() }
    }

    /// How a connect began: finished inside the call, or in progress on `fd`.
    enum Start: Sendable {
        case finished(ConnectCompletion)
        case inProgress(fd: Int32)
    }

    /// Connects to `address`, waiting until `deadline` (`MonotonicClock` nanoseconds) at most, and
    /// closes the connection at once.
    func connect(to address: SocketAddress, deadline: Int64) async -> ConnectCompletion {
        switch Self.begin(to: address) {
        case .finished(let completion): completion
        case .inProgress(let fd): await wait(for: fd, deadline: deadline)
        }
    }

    /// Starts a connect to `address` on the calling thread without waiting. On loopback (and
    /// often on a local network) the handshake has completed by the time `connect` returns,
    /// though it says EINPROGRESS: the kernel handles the SYN-ACK when the call releases the
    /// socket. A second `connect` sees it (0: connected; EALREADY: still under way; otherwise
    /// the connect's error, as `SO_ERROR` would give it: one system call where `poll` and
    /// `getsockopt` took two), and the connect ends here (its socket closed): no epoll
    /// registration, no hop to the epoll thread and back. Otherwise the socket is returned, for
    /// `wait(for:deadline:)`.
    static func begin(to address: SocketAddress) -> Start {
        let fd = socket(address.family.systemValue, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .finished(ConnectCompletion(outcome: .failed(errno: errno), finishedAt: MonotonicClock.nanos())) }
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 {
            let now = MonotonicClock.nanos()
            closeWithReset(fd)
            return .finished(ConnectCompletion(outcome: .connected, finishedAt: now))
        }
        let error = errno
        guard error == EINPROGRESS else {
            close(fd)
            return .finished(ConnectCompletion(outcome: .failed(errno: error), finishedAt: MonotonicClock.nanos()))
        }
        let again = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        let status = again == 0 ? 0 : errno == EISCONN ? 0 : errno
        if status == EALREADY || status == EINPROGRESS { return .inProgress(fd: fd) }
        let now = MonotonicClock.nanos()
        let outcome = outcome(ofError: status)
        closeFinished(fd, after: outcome)
        return .finished(ConnectCompletion(outcome: outcome, finishedAt: now))
    }

    /// Waits on the epoll thread for the connect `begin` left in progress on `fd`, until
    /// `deadline` at most (or cancellation), and closes its socket.
    func wait(for fd: Int32, deadline: Int64) async -> ConnectCompletion {
        let box = RegistrationBox()
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                register(Registration(fd: fd, deadline: deadline, continuation: continuation), box: box)
            }
        } onCancel: {
            cancel(box)
        }
    }

    private func register(_ registration: Registration, box: RegistrationBox) {
        var event = epoll_event(
            events: EPOLLOUT.rawValue | EPOLLONESHOT.rawValue,
            data: epoll_data_t(u64: UInt64(UInt(bitPattern: Unmanaged.passUnretained(registration).toOpaque()))))
        if epoll_ctl(epollFD, EPOLL_CTL_ADD, registration.fd, &event) != 0 {
            let code = errno
            close(registration.fd)
            registration.continuation.resume(returning: ConnectCompletion(outcome: .failed(errno: code), finishedAt: MonotonicClock.nanos()))
            return
        }
        // From here the epoll thread may complete it at any time; the lists keep it alive.
        let wake = shared.withLock { s -> Bool in
            box.registration = registration
            registration.published = true
            s.incoming.append(registration)
            if box.cancelledEarly || Task.isCancelled {
                registration.cancelRequested = true
                s.cancels.append(registration)
                return true
            }
            return registration.deadline < s.wakeAt
        }
        if wake { signal() }
    }

    private func cancel(_ box: RegistrationBox) {
        let wake = shared.withLock { s -> Bool in
            guard let registration = box.registration else {
                box.cancelledEarly = true
                return false
            }
            guard !registration.cancelRequested else { return false }
            registration.cancelRequested = true
            s.cancels.append(registration)
            return true
        }
        if wake { signal() }
    }

    private func signal() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// The outcome of a finished non-blocking connect, from `SO_ERROR`. A reset (or a closed
    /// pipe) means the handshake completed and the server then dropped the connection: the port
    /// is open. A refused SYN is ECONNREFUSED.
    static func outcome(of fd: Int32) -> ConnectOutcome {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 { error = errno }
        return outcome(ofError: error)
    }

    /// The outcome a finished connect's error (0: none) stands for.
    static func outcome(ofError error: Int32) -> ConnectOutcome {
        error == 0 || error == ECONNRESET || error == EPIPE ? .connected : .failed(errno: error)
    }

    /// Closes a finished connect's socket: with a reset when it connected.
    static func closeFinished(_ fd: Int32, after outcome: ConnectOutcome) {
        if outcome == .connected { closeWithReset(fd) } else { Glibc.close(fd) }
    }

    /// Closes with a reset (`SO_LINGER` 0): no `TIME_WAIT` left behind.
    static func closeWithReset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }

    // MARK: - The epoll thread

    private func complete(_ registration: Registration, _ outcome: ConnectOutcome, at now: Int64) {
        registration.done = true
        Self.closeFinished(registration.fd, after: outcome)
        registration.continuation.resume(returning: ConnectCompletion(outcome: outcome, finishedAt: now))
    }

    private func loop() {
        let capacity = 512
        var events = [epoll_event](repeating: epoll_event(), count: capacity)
        var timers = DeadlineHeap<Registration>()
        var live = 0
        var incoming: [Registration] = []
        var cancels: [Registration] = []
        var timeout: Int32 = -1
        while true {
            let count = epoll_wait(epollFD, &events, Int32(capacity), timeout)
            if count < 0 && errno != EINTR {
                preconditionFailure("epoll_wait failed: \(String(cString: strerror(errno)))")
            }
            var now = MonotonicClock.nanos()
            for index in 0..<max(0, Int(count)) {
                let data = events[index].data.u64
                if data == 0 {
                    var drained: UInt64 = 0
                    _ = read(wakeFD, &drained, 8)
                    continue
                }
                let registration = Unmanaged<Registration>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(data))!)
                    .takeUnretainedValue()
                if registration.done { continue }
                complete(registration, Self.outcome(of: registration.fd), at: now)
                if registration.inLoop { live -= 1 }
            }
            shared.withLock { s in
                swap(&incoming, &s.incoming)
                swap(&cancels, &s.cancels)
            }
            for registration in incoming where !registration.done {
                registration.inLoop = true
                live += 1
                timers.push(deadline: registration.deadline, value: registration)
            }
            incoming.removeAll(keepingCapacity: true)
            for registration in cancels where !registration.done {
                complete(registration, .cancelled, at: now)
                live -= 1  // drained above, so in the loop
            }
            cancels.removeAll(keepingCapacity: true)
            now = MonotonicClock.nanos()
            while let due = timers.popDue(now: now) {
                guard !due.value.done else { continue }
                complete(due.value, .timedOut, at: now)
                live -= 1
            }
            // Connects that finished early leave their timer behind; drop them in bulk.
            if timers.count > 2 * live + 4096 { timers.compact { !$0.done } }
            // While connects are waiting, wake at least every 100 ms: then a new connect (whose
            // deadline is its timeout away, usually seconds) almost never needs to wake the loop
            // through the eventfd, a syscall and a context switch per connect.
            var wakeAt = timers.first?.deadline ?? Int64.max
            if live > 0 { wakeAt = min(wakeAt, now + 100_000_000) }
            let pendingWork = shared.withLock { s -> Bool in
                s.wakeAt = wakeAt
                return !s.incoming.isEmpty || !s.cancels.isEmpty
            }
            timeout = pendingWork ? 0 : MonotonicClock.pollTimeout(until: wakeAt == Int64.max ? nil : wakeAt, now: now)
        }
    }
}
