import Foundation
import Monitor

extension HistoryReport {
    /// A time a user wrote that could not be read.
    public struct TimeError: Error, CustomStringConvertible {
        public var text: String
        public var description: String {
            "found \"\(text)\", expected a duration back from now (24h, 7d) or an ISO-8601 time (2026-11-30T12:00:00Z)"
        }
    }

    /// Unix milliseconds of `text`: a duration back from `now` (`90m`, `24h`, `7d`) or an
    /// ISO-8601 time (`2026-11-30T12:00:00Z`, fractions allowed).
    public static func time(_ text: String, now: Int64) throws(TimeError) -> Int64 {
        if let seconds = OptionSpec.parseDuration(text), seconds <= OptionSpec.maximumDuration {
            return now - Int64(seconds * 1000)
        }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = iso.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        iso.formatOptions = [.withInternetDateTime]
        if let date = iso.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        throw TimeError(text: text)
    }
}
