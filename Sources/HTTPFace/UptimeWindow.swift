/// A window the status page and the uptime badge give uptime for: the last 24 hours, or the
/// last 7, 30 or 90 days, up to now. Its raw value is how a URL names it (`?window=7d`).
public enum UptimeWindow: String, CaseIterable, Sendable, Hashable {
    /// The last 24 hours.
    case hours24 = "24h"
    /// The last 7 days.
    case days7 = "7d"
    /// The last 30 days.
    case days30 = "30d"
    /// The last 90 days.
    case days90 = "90d"

    /// A `window` query value that names no window.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        /// The query value as given.
        public var found: String
        public var description: String {
            "window: found \"\(found)\", expected " + UptimeWindow.allCases.map(\.rawValue).dropLast().joined(separator: ", ")
                + " or " + UptimeWindow.allCases.last!.rawValue
        }
    }

    /// The window a `window` query value names; `nil` (no query): 7 days, as a README badge
    /// most often wants.
    public init(query: String?) throws(ParseError) {
        guard let query else {
            self = .days7
            return
        }
        guard let window = UptimeWindow(rawValue: query) else { throw ParseError(found: query) }
        self = window
    }

    /// Length in milliseconds.
    public var millis: Int64 {
        switch self {
        case .hours24: 86_400_000
        case .days7: 7 * 86_400_000
        case .days30: 30 * 86_400_000
        case .days90: 90 * 86_400_000
        }
    }

    /// For people: `24 h`, `7 d`, `30 d`, `90 d`.
    public var title: String { String(rawValue.dropLast()) + " " + String(rawValue.suffix(1)) }
}
