#if canImport(Glibc)
import Glibc
#endif

/// `CLOCK_MONOTONIC`: the real `ThreadClock` (seconds), and raw readings in nanoseconds for the
/// network code that must line its own readings up with timestamps the kernel hands back
/// (`SO_TIMESTAMPNS` is `CLOCK_REALTIME`) and with `poll`/`epoll_wait` timeouts.
/// Unaffected by wall-clock steps.
public struct MonotonicClock: ThreadClock {
    /// The clock; it has no state, so any instance reads the same time.
    public init() {}

    /// Seconds since an arbitrary start (boot), with nanosecond resolution.
    public func seconds() -> Double {
        Double(Self.nanos()) / 1e9
    }

    /// Waits on `lock`'s condition, which runs on this same clock.
    public func wait(_ lock: ConditionLock, until deadline: Double) -> Bool {
        lock.wait(until: deadline)
    }

    /// `CLOCK_MONOTONIC` now, in nanoseconds.
    static func nanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Milliseconds to wait from `now` until `deadline` (both nanoseconds) for `poll`-style
    /// timeouts: rounded up so a wake-up never comes early, `-1` (forever) when there is none.
    static func pollTimeout(until deadline: Int64?, now: Int64) -> Int32 {
        guard let deadline else { return -1 }
        let remaining = deadline - now
        if remaining <= 0 { return 0 }
        return Int32(min((remaining + 999_999) / 1_000_000, Int64(Int32.max)))
    }
}
