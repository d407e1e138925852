#if canImport(Glibc)
import Glibc
#endif
internal import CLinux

/// Unique, time-sortable result identifiers: RFC 9562 UUID version 7, as lowercase text.
///
/// The first 48 bits are the Unix time in milliseconds; within one millisecond a 12-bit counter
/// (seeded randomly each millisecond) keeps identifiers from one process strictly increasing, so
/// sinks can both de-duplicate and order by `id`. Example: `019abc12-3def-7a01-8b2c-4d5e6f708192`.
public enum ResultID {
    private struct State {
        var lastMillis: UInt64 = 0
        var counter: UInt16 = 0
        /// Random words from the system generator, fetched 512 at a time: one `getrandom` per
        /// 256 identifiers instead of two per identifier.
        var random = [UInt64](repeating: 0, count: 512)
        var used = 512

        mutating func nextRandom() -> UInt64 {
            if used == random.count {
                random.withUnsafeMutableBytes { buffer in
                    var filled = 0
                    while filled < buffer.count {
                        let n = getrandom(buffer.baseAddress! + filled, buffer.count - filled, 0)
                        if n > 0 { filled += n } else if errno != EINTR { break }
                    }
                    if filled < buffer.count {
                        // No getrandom (a very old kernel): the standard library's generator.
                        var generator = SystemRandomNumberGenerator()
                        for i in 0..<buffer.count / 8 { buffer.storeBytes(of: generator.next(), toByteOffset: 8 * i, as: UInt64.self) }
                    }
                }
                used = 0
            }
            used += 1
            return random[used - 1]
        }
    }
    private static let state = Locked(State())
    /// The lowercase hex digit of `nibble` (0–15): computed, not read from a table (a static
    /// array read its lazy global and checked its bounds for each of the 32 digits).
    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
    }

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
                    s.counter = UInt16(truncatingIfNeeded: s.nextRandom() & 0x03FF)
                } else {
                    s.counter += 1
                }
            } else {
                s.counter = UInt16(truncatingIfNeeded: s.nextRandom() & 0x03FF)
            }
            s.lastMillis = ms
            return (ms, s.counter, s.nextRandom())
        }
        // 16 bytes: 48 bits of milliseconds, version 7 and the counter, variant 10 and 62 random bits.
        let high = ms << 16 | 0x7000 | UInt64(counter & 0x0FFF)
        let low = 0x8000_0000_0000_0000 | (random & 0x3FFF_FFFF_FFFF_FFFF)
        return String(unsafeUninitializedCapacity: 36) { text in
            var at = 0
            for i in 0..<16 {
                if i == 4 || i == 6 || i == 8 || i == 10 {
                    text[at] = UInt8(ascii: "-")
                    at += 1
                }
                let byte = UInt8(truncatingIfNeeded: (i < 8 ? high >> (8 * (7 - i)) : low >> (8 * (15 - i))))
                text[at] = hexDigit(byte >> 4)
                text[at + 1] = hexDigit(byte & 0x0F)
                at += 2
            }
            return at
        }
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
        var out: [UInt8] = []
        out.reserveCapacity(24)
        writeISO8601(millis: millis, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `iso8601(millis:)`'s text to `out` as UTF-8, digit by digit (no `String` of
    /// each part: this runs for every result a notifier writes).
    public static func writeISO8601(millis: Int64, into out: inout [UInt8]) {
        var seconds = time_t(millis.floorDiv(1000))
        let ms = Int(millis - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ width: Int) {
            let text = String(value)
            if text.utf8.count < width { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - text.utf8.count)) }
            out.append(contentsOf: text.utf8)
        }
        func two(_ value: Int32) {
            out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value / 10))
            out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10))
        }
        let year = Int(parts.tm_year) + 1900
        if (1000...9999).contains(year) {
            two(Int32(year / 100))
            two(Int32(year % 100))
        } else {
            digits(year, 4)
        }
        out.append(UInt8(ascii: "-"))
        two(parts.tm_mon + 1)
        out.append(UInt8(ascii: "-"))
        two(parts.tm_mday)
        out.append(UInt8(ascii: "T"))
        two(parts.tm_hour)
        out.append(UInt8(ascii: ":"))
        two(parts.tm_min)
        out.append(UInt8(ascii: ":"))
        two(parts.tm_sec)
        out.append(UInt8(ascii: "."))
        out.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: ms / 100))
        two(Int32(ms % 100))
        out.append(UInt8(ascii: "Z"))
    }

    /// An Internet date in UTC for Unix milliseconds: `Wed, 25 Nov 2026 13:05:09 GMT`. With the
    /// defaults, RFC 9110's IMF-fixdate (HTTP's `Date`); a mail's RFC 5322 `Date` takes
    /// `zone: "+0000"` and an unpadded day.
    public static func internetDate(millis: Int64, zone: String = "GMT", padDay: Bool = true) -> String {
        var seconds = time_t(millis.floorDiv(1000))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let day = padDay ? two(parts.tm_mday) : "\(parts.tm_mday)"
        return "\(weekdays[Int(parts.tm_wday)]), \(day) \(months[Int(parts.tm_mon)]) \(Int(parts.tm_year) + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) \(zone)"
    }
}

extension Int64 {
    fileprivate func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}
