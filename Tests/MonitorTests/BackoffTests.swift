import Monitor
import Testing

@Suite struct BackoffTests {
    @Test func delaysGrowToTheCapWithJitterAndResetAfterSuccess() {
        var backoff = Backoff(initial: 0.5, maximum: 8)
        var rng = SplitMix64(seed: 42)
        let ceilings = [0.5, 1, 2, 4, 8, 8, 8]
        for ceiling in ceilings {
            #expect(backoff.ceiling == ceiling)
            let delay = backoff.next(using: &rng)
            #expect(delay >= ceiling / 2 && delay <= ceiling)
        }
        backoff.reset()
        #expect(backoff.ceiling == 0.5)
        #expect(backoff.attempts == 0)
    }

    @Test func jitterSpreadsDelays() {
        var rng = SplitMix64(seed: 7)
        var delays: Set<Double> = []
        for _ in 0..<20 {
            var backoff = Backoff(initial: 1, maximum: 30)
            delays.insert(backoff.next(using: &rng))
        }
        #expect(delays.count > 15)
    }
}
