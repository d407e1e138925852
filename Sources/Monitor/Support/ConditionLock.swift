#if canImport(Glibc)
import Glibc
#endif

/// A mutex with one condition variable, for the few types that hand work between OS threads
/// (`DedicatedThread`, `BlockingPool`, `Handoff`).
///
/// Both live in memory allocated once in `init` and freed in `deinit`. A `pthread_mutex_t` kept
/// as a stored property and passed as `&mutex` would get an address that is only valid for one
/// call: Swift may move or copy it, which breaks the mutex and is what ThreadSanitizer reports.
/// The condition runs on `CLOCK_MONOTONIC`, so timed waits ignore wall-clock steps.
///
/// Example:
/// ```swift
/// let lock = ConditionLock()
/// lock.withLock { ready = true; lock.signal() }
/// // elsewhere:
/// lock.lock()
/// while !ready { lock.wait() }
/// lock.unlock()
/// ```
public final class ConditionLock: @unchecked Sendable {
    // @unchecked: the pointers never change and pthread makes their targets thread-safe.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    /// A new, unlocked lock. Out of memory or pthread resources, the process stops: every
    /// thread handoff depends on it.
    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        defer { pthread_condattr_destroy(&attributes) }
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        rc = pthread_cond_init(condition, &attributes)
        precondition(rc == 0, "pthread_cond_init failed: \(rc)")
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deinitialize(count: 1)
        condition.deallocate()
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Takes the mutex, blocking until it is free.
    public func lock() {
        pthread_mutex_lock(mutex)
    }

    /// Releases the mutex; only the thread that took it may call this.
    public func unlock() {
        pthread_mutex_unlock(mutex)
    }

    /// Runs `body` holding the mutex.
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Releases the mutex until `signal` or `broadcast` (or a spurious wake-up), then takes it
    /// again. The caller holds the mutex and re-checks what it waits for in a loop.
    public func wait() {
        pthread_cond_wait(condition, mutex)
    }

    /// Like `wait()`, but returns by `deadline` at the latest, in seconds on `MonotonicClock`.
    /// Returns `true` when the deadline has passed (timed out), `false` when woken before it.
    public func wait(until deadline: Double) -> Bool {
        // Beyond ~30,000 years (or infinity) means no deadline; it would not fit a timespec.
        guard deadline < 1e12 else {
            wait()
            return false
        }
        let at = max(0, deadline)
        let whole = at.rounded(.down)
        var time = timespec(tv_sec: Int(whole), tv_nsec: Int((at - whole) * 1e9))
        if time.tv_nsec >= 1_000_000_000 {
            time.tv_sec += 1
            time.tv_nsec -= 1_000_000_000
        }
        return pthread_cond_timedwait(condition, mutex, &time) == ETIMEDOUT
    }

    /// Wakes one waiting thread.
    public func signal() {
        pthread_cond_signal(condition)
    }

    /// Wakes every waiting thread.
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }
}
