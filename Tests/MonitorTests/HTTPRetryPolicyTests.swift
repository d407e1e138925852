import Testing

@testable import Monitor

@Suite struct HTTPRetryPolicyTests {
    static func error(_ kind: HTTPError.Kind) -> HTTPError {
        HTTPError(kind: kind, method: "POST", host: "hooks.example", detail: "")
    }

    @Test(arguments: [
        (HTTPError.Kind.connect, true), (.dns, true), (.timeout, true), (.transfer, true), (.status(500), true),
        (.status(502), true), (.status(503), true), (.status(429), true), (.status(400), false), (.status(401), false),
        (.status(403), false), (.status(404), false), (.status(408), false), (.tls, false), (.invalidRequest, false),
        (.tooManyRedirects, false), (.cancelled, false),
    ])
    func retriesOnlyWhatCanRecover(kind: HTTPError.Kind, retried: Bool) {
        let policy = HTTPRetryPolicy(maxAttempts: 3, initialDelay: 0.5, maxDelay: 30)
        let decision = policy.decision(after: 1, error: Self.error(kind), retryAfter: nil)
        #expect(decision == (retried ? .retry(after: 0.5) : .giveUp))
    }

    @Test func backoffDoublesUpToTheCap() {
        let policy = HTTPRetryPolicy(maxAttempts: 10, initialDelay: 0.5, maxDelay: 5)
        #expect((1...7).map { policy.backoff(after: $0) } == [0.5, 1, 2, 4, 5, 5, 5])
    }

    @Test func givesUpAfterMaxAttempts() {
        let policy = HTTPRetryPolicy(maxAttempts: 3, initialDelay: 1, maxDelay: 30)
        let e = Self.error(.status(500))
        #expect(policy.decision(after: 2, error: e, retryAfter: nil) == .retry(after: 2))
        #expect(policy.decision(after: 3, error: e, retryAfter: nil) == .giveUp)
        #expect(HTTPRetryPolicy.never.decision(after: 1, error: e, retryAfter: nil) == .giveUp)
    }

    @Test func retryAfterWinsFor429AndIsCapped() {
        let policy = HTTPRetryPolicy(maxAttempts: 3, initialDelay: 0.5, maxDelay: 30, maxRetryAfter: 60)
        #expect(policy.decision(after: 1, error: Self.error(.status(429)), retryAfter: 7) == .retry(after: 7))
        #expect(policy.decision(after: 1, error: Self.error(.status(429)), retryAfter: 3600) == .retry(after: 60))
        #expect(policy.decision(after: 1, error: Self.error(.status(503)), retryAfter: 2) == .retry(after: 2))
        // Retry-After on a 500 is not a throttle hint: plain backoff.
        #expect(policy.decision(after: 1, error: Self.error(.status(500)), retryAfter: 9) == .retry(after: 0.5))
    }
}
