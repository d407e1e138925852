#if canImport(Glibc)
import Glibc
#endif

/// Raw readings of the kernel clocks in nanoseconds, for the network code that must line its own
/// readings up with timestamps the kernel hands back (`SO_TIMESTAMPNS` is `CLOCK_REALTIME`) and
/// with `poll`/`epoll_wait` timeouts (`CLOCK_MONOTONIC`).
enum MonotonicClock {
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
