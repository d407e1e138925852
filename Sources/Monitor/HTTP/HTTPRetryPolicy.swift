/// When to try an HTTP request again: capped exponential backoff on connection errors, time-outs,
/// HTTP 429 (honouring `Retry-After`) and 5xx; never on other 4xx, which will not get better.
///
/// A plain value so the schedule can be tested without a server or a clock.
public struct HTTPRetryPolicy: Sendable, Hashable {
    /// Tries in all, the first one included (at least 1).
    public var maxAttempts: Int
    /// Seconds before the first retry; doubled for each further one.
    public var initialDelay: Double
    /// The longest backoff, in seconds.
    public var maxDelay: Double
    /// The longest `Retry-After` obeyed, in seconds; a longer one is cut to this.
    public var maxRetryAfter: Double

    public init(maxAttempts: Int = 4, initialDelay: Double = 0.5, maxDelay: Double = 30, maxRetryAfter: Double = 300) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// One try only.
    public static let never = HTTPRetryPolicy(maxAttempts: 1)

    /// What to do after try number `attempt` (1-based) ended with `error`.
    public enum Decision: Sendable, Hashable {
        /// Try again after this many seconds.
        case retry(after: Double)
        /// Stop and report the error.
        case giveUp
    }

    /// The decision after `attempt` failed with `error`; a 429's `Retry-After` (seconds from
    /// now, already parsed) wins over the backoff.
    public func decision(after attempt: Int, error: HTTPError, retryAfter: Double?) -> Decision {
        guard error.isRetryable, attempt < maxAttempts else { return .giveUp }
        if let retryAfter, case .status(let code) = error.kind, code == 429 || code == 503 {
            return .retry(after: min(max(0, retryAfter), maxRetryAfter))
        }
        return .retry(after: backoff(after: attempt))
    }

    /// Seconds before the retry that follows try number `attempt`: `initialDelay · 2^(attempt-1)`,
    /// at most `maxDelay`.
    public func backoff(after attempt: Int) -> Double {
        min(maxDelay, initialDelay * Double(1 << min(max(0, attempt - 1), 30)))
    }
}
