/// Capped, jittered exponential backoff for reconnecting to a sink: the n-th delay is drawn
/// from [d/2, d] with d = min(maximum, initial × multiplier^n), so many monitors that lost the
/// same broker do not all come back in the same instant.
///
/// ```swift
/// var backoff = Backoff(initial: 0.5, maximum: 30)
/// let delay = backoff.next()   // 0.25…0.5 s, then 0.5…1 s, … up to 15…30 s
/// backoff.reset()              // after a successful connect
/// ```
public struct Backoff: Sendable, Hashable {
    /// The first delay ceiling, in seconds.
    public var initial: Double
    /// The largest delay ceiling, in seconds.
    public var maximum: Double
    /// Growth of the ceiling per attempt.
    public var multiplier: Double
    /// Delays handed out since the last `reset()`.
    public private(set) var attempts = 0

    public init(initial: Double, maximum: Double, multiplier: Double = 2) {
        self.initial = max(0, initial)
        self.maximum = max(self.initial, maximum)
        self.multiplier = max(1, multiplier)
    }

    /// The ceiling of the next delay, in seconds, without jitter.
    public var ceiling: Double {
        var d = initial
        var n = 0
        while n < attempts && d < maximum {
            d *= multiplier
            n += 1
        }
        return min(maximum, d)
    }

    /// The next delay in seconds, drawn from [ceiling/2, ceiling].
    public mutating func next<G: RandomNumberGenerator>(using generator: inout G) -> Double {
        let d = ceiling
        attempts += 1
        return d <= 0 ? 0 : Double.random(in: (d / 2)...d, using: &generator)
    }

    /// The next delay in seconds, with the system random generator.
    public mutating func next() -> Double {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    /// Starts again from `initial` (after a success).
    public mutating func reset() {
        attempts = 0
    }
}
