import Monitor
import Testing

@Suite struct RunScheduleTests {
    @Test func fixedRateMeasuredBetweenStarts() {
        var s = RunSchedule(period: 10, first: 0.5)
        #expect(s.begin(at: 0.5) == 0)
        #expect(s.end(at: 3.5) == 10.5)  // the run took 3 s; the next start stays on the grid
        #expect(abs(s.begin(at: 10.52) - 0.02) < 1e-9)
        #expect(s.runs == 2)
        #expect(s.overruns == 0)
    }

    @Test func overrunStartsAtOnceAndKeepsTheGrid() {
        var s = RunSchedule(period: 10, first: 0)
        _ = s.begin(at: 0)
        #expect(s.end(at: 12) == 12)  // overran slot 10: start at once
        #expect(s.overruns == 1)
        #expect(s.skipped == 0)
        #expect(s.planned == 10)
        #expect(abs(s.begin(at: 12) - 2) < 1e-9)  // lag against the missed slot
        #expect(s.end(at: 13) == 20)  // back on the grid
        _ = s.begin(at: 20)
        #expect(s.end(at: 55) == 55)  // slots 30, 40, 50 passed: 30 and 40 skipped, 50 runs late
        #expect(s.overruns == 2)
        #expect(s.skipped == 2)
        #expect(s.planned == 50)
    }

    /// 1 ms apart, or closer so that every first run is within the first second (or period).
    @Test func firstRunsAreAMillisecondApartWithinTheFirstSecond() {
        for count in [100, 1000, 20_000] {
            let offsets = (0..<count).map { RunSchedule.firstOffset(index: $0, count: count, period: 60) }
            #expect(offsets.first == 0)
            #expect(offsets.allSatisfy { $0 >= 0 && $0 < 1 })
            #expect(Set(offsets).count == count)
            let gap = zip(offsets.dropFirst(), offsets).map { $0 - $1 }.max() ?? 0
            #expect(abs(gap - min(0.001, 1 / Double(count))) < 1e-9, "\(count) checks")
        }
        #expect(abs(RunSchedule.firstOffset(index: 99, count: 100, period: 60) - 0.099) < 1e-9)
        #expect(RunSchedule.firstOffset(index: 1, count: 2, period: 0.001) == 0.0005)
        #expect(RunSchedule.firstOffset(index: 0, count: 1, period: 60) == 0)
    }
}
