#if canImport(Glibc)
import Glibc
#endif

/// Seconds on the monotonic clock, for deadlines and timeouts measured on threads that cannot
/// use Swift's `ContinuousClock` conveniently (C client loops). Unaffected by wall-clock steps.
public enum MonotonicTime {
    /// Seconds since an arbitrary start (boot), with nanosecond resolution.
    public static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
