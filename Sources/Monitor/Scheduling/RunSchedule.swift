/// The fixed-rate timetable of one check, in seconds on any monotonic time line.
///
/// Runs are planned at `first + k × period`. A run that ends after the next planned start has
/// overrun: the next run starts at once (counted in `overruns`), slots that passed entirely are
/// skipped (counted in `skipped`), and the timetable continues on the same grid. A check never
/// overlaps itself because the next start is only computed when a run ends.
public struct RunSchedule: Sendable, Hashable {
    /// Seconds between planned starts.
    public let period: Double
    /// When the next (or current) run is planned to start.
    public private(set) var planned: Double
    /// Runs started.
    public private(set) var runs = 0
    /// Runs that ended after the next planned start.
    public private(set) var overruns = 0
    /// Planned starts that were never run because an earlier run outlasted them.
    public private(set) var skipped = 0

    public init(period: Double, first: Double) {
        self.period = period
        self.planned = first
    }

    /// Where the first run of check `index` of `count` starts, relative to start-up: 1 ms apart
    /// (`firstSpacing`), or closer so that all start within the first second (or the period,
    /// when shorter). Thousands of checks do not fire in one burst, and a few start close
    /// together, so that the timer slack lets them share wake-ups: 3 checks at `sleep: 1` spread
    /// over a second wake the scheduler 3 times a second, 1 ms apart once.
    public static func firstOffset(index: Int, count: Int, period: Double) -> Double {
        guard count > 1 else { return 0 }
        return Double(index) * min(min(1, period) / Double(count), firstSpacing)
    }

    /// Seconds between the first runs of two checks, at most.
    public static let firstSpacing = 0.001

    /// Records a start at `now`; returns the lag behind the plan in seconds (never negative).
    public mutating func begin(at now: Double) -> Double {
        runs += 1
        return max(0, now - planned)
    }

    /// Records the end of a run at `now`; returns when the next run should start: the next slot,
    /// or `now` itself after an overrun.
    public mutating func end(at now: Double) -> Double {
        let next = planned + period
        if next >= now {
            planned = next
            return next
        }
        overruns += 1
        let slots = ((now - planned) / period).rounded(.down)
        skipped += max(0, Int(slots) - 1)
        planned += slots * period
        return now
    }
}
