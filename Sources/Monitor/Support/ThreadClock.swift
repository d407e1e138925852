/// The monotonic time that code running on its own OS thread reads and waits on (sink workers,
/// the intake journal, the RabbitMQ and Mongo sinks), injected so tests can drive it.
///
/// These components block their thread synchronously, so they need a synchronous reading, not
/// Swift's `Clock` (which the async scheduler uses). The real clock is `MonotonicClock`; tests
/// use a manual clock whose `advance` also wakes threads blocked in `wait(_:until:)`.
///
/// Example (a loop that waits for work or a deadline, whichever comes first):
/// ```swift
/// let deadline = clock.seconds() + 0.25
/// lock.lock()
/// while queue.isEmpty { if clock.wait(lock, until: deadline) { break } }
/// lock.unlock()
/// ```
public protocol ThreadClock: Sendable {
    /// Seconds since an arbitrary start; never goes back.
    func seconds() -> Double

    /// Blocks the calling thread, which holds `lock`, until `lock` is signalled or `deadline`
    /// (seconds on this clock) has come; `lock` is released meanwhile and held again on return.
    /// Returns `true` when the deadline has passed (timed out). Wake-ups may be spurious: the
    /// caller re-checks what it waits for.
    func wait(_ lock: ConditionLock, until deadline: Double) -> Bool
}
