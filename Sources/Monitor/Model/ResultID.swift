import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Unique, time-sortable result identifiers: RFC 9562 UUID version 7, as lowercase text.
///
/// The first 48 bits are the Unix time in milliseconds; within one millisecond a 12-bit counter
/// (seeded randomly each millisecond) keeps identifiers from one process strictly increasing, so
/// sinks can both de-duplicate and order by `id`. Example: `019abc12-3def-7a01-8b2c-4d5e6f708192`.
public enum ResultID {
    private struct State {
        var lastMillis: UInt64 = 0
        var counter: UInt16 = 0
        var rng = SystemRandomNumberGenerator()
    }
    private static let state = Mutex(State())

    /// A new identifier; `millis` is the Unix time in milliseconds (defaults to now).
    public static func next(millis: UInt64 = WallClock.nowMillis()) -> String {
        let (ms, counter, random) = state.withLock { s -> (UInt64, UInt16, UInt64) in
            var ms = millis
            if ms <= s.lastMillis {
                // Same (or an earlier, after a clock step) millisecond: keep counting from the
                // last one so order holds; on counter overflow borrow the next millisecond.
                ms = s.lastMillis
                if s.counter >= 0x0FFF {
                    ms += 1
                    s.counter = UInt16.random(in: 0..<0x0400, using: &s.rng)
                } else {
                    s.counter += 1
                }
            } else {
                s.counter = UInt16.random(in: 0..<0x0400, using: &s.rng)
            }
            s.lastMillis = ms
            return (ms, s.counter, s.rng.next())
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8((ms >> (8 * (5 - UInt64(i)))) & 0xFF) }
        bytes[6] = 0x70 | UInt8((counter >> 8) & 0x0F)
        bytes[7] = UInt8(counter & 0xFF)
        bytes[8] = 0x80 | UInt8((random >> 56) & 0x3F)
        for i in 9..<16 { bytes[i] = UInt8((random >> (8 * (15 - UInt64(i)))) & 0xFF) }
        let hexDigits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(36)
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { text.append(UInt8(ascii: "-")) }
            text.append(hexDigits[Int(b >> 4)])
            text.append(hexDigits[Int(b & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Wall-clock time helpers (UTC), kept apart from the monotonic clock used for durations.
public enum WallClock {
    /// Unix time now, in milliseconds.
    public static func nowMillis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec / 1_000_000)
    }

    /// Unix time now, in nanoseconds.
    public static func nowNanos() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// ISO-8601 UTC with milliseconds, e.g. `2026-11-25T13:05:09.042Z`, for Unix milliseconds.
    public static func iso8601(millis: Int64) -> String {
        var seconds = time_t(millis.floorDiv(1000))
        let ms = Int(millis - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
            + ".\(pad(ms, 3))Z"
    }
}

extension Int64 {
    fileprivate func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}
