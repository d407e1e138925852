import Foundation
import HistorySQLite
@testable import Monitor
import Report
import Testing

func record(_ key: String = "ping/x", at millis: Int64, _ success: Bool, latency: Double? = nil, sleep: Double = 60, message: String = "")
    -> HistoryRecord
{
    HistoryRecord(
        id: "\(key)-\(millis)", key: key, createdMillis: millis, success: success, latencyMs: latency,
        message: message.isEmpty ? (success ? "" : "failed at \(millis)") : message, sleep: sleep)
}

@Suite struct HistoryMathTests {
    @Test func floorDivRoundsDownForEveryValue() {
        #expect([9, 10, 0, -1, -10, -11].map { HistoryMath.floorDiv($0, 10) } == [0, 1, 0, -1, -1, -2])
        #expect(HistoryMath.floorDiv(.min, 10_000) == Int64.min / 10_000 - 1)
        #expect(HistoryMath.floorDiv(.max, 10_000) == Int64.max / 10_000)
    }

    let h = HistoryMath.hourMillis

    @Test func aResultCoversUntilTheNextOrTwiceItsSleep() {
        // sleep 60 s: cap 120 s. Gap of 300 s after the second: 180 s of no data.
        let records = [record(at: 0, true), record(at: 60_000, false), record(at: 360_000, true)]
        let intervals = HistoryMath.intervals(records, horizon: 400_000)
        #expect(intervals == [
            .init(start: 0, end: 60_000, success: true),
            .init(start: 60_000, end: 180_000, success: false),
            .init(start: 360_000, end: 400_000, success: true),
        ])
        let s = HistoryMath.summarize(records, since: 0, until: 400_000, now: 400_000)
        #expect(s.results == 3 && s.successes == 2 && s.failures == 1)
        #expect(s.upMillis == 100_000 && s.downMillis == 120_000)
        #expect(s.uptimeTime == 100.0 / 220.0)
        #expect(s.coverage == 220.0 / 400.0)
        #expect(s.uptime == 2.0 / 3.0)
    }

    @Test func aWindowCutsTheIntervalsAndCountsByStart() {
        let records = [record(at: 0, false), record(at: 60_000, true), record(at: 120_000, true)]
        // Window 30 s…150 s: the first result (before the window) covers 30 s of it, down.
        let s = HistoryMath.summarize(records, since: 30_000, until: 150_000, now: 1_000_000)
        #expect(s.results == 2 && s.failures == 0)
        #expect(s.downMillis == 30_000 && s.upMillis == 90_000)
        #expect(s.coverage == 1.0)
    }

    @Test func incidentsAreMaximalFailureRuns() {
        let records = [
            record(at: 0, true), record(at: 10, false, message: "first"), record(at: 20, false), record(at: 30, true),
            record(at: 40, false, message: "second"),
        ]
        let incidents = HistoryMath.incidents(records)
        #expect(incidents == [
            .init(start: 10, end: 30, message: "first"),
            .init(start: 40, end: nil, message: "second"),
        ])
        // From the status changes alone, the same incidents.
        let changes = HistoryMath.changes(records, after: nil)
        #expect(changes.map(\.createdMillis) == [0, 10, 30, 40])
        #expect(HistoryMath.incidents(changes) == incidents)
        #expect(HistoryMath.changes(Array(records.dropFirst(2)), after: records[1]).map(\.createdMillis) == [30, 40])
        // An out-of-order result changes nothing.
        #expect(!HistoryMath.isChange(record(at: 5, false), after: records[3]))
        #expect(incidents[1].duration(now: 100) == 60)
        #expect(HistoryMath.mttr(incidents) == 20)
    }

    @Test func coverageIsSplitAtHourBoundaries() {
        var rollups: [Int64: HourlyRollup] = [:]
        HistoryMath.addCoverage(.init(start: h - 1000, end: 2 * h + 500, success: false), key: "k", to: &rollups)
        #expect(rollups[0]?.downMillis == 1000)
        #expect(rollups[1]?.downMillis == h)
        #expect(rollups[2]?.downMillis == 500)
    }

    /// Generated histories against a brute-force oracle that walks every second.
    @Test(arguments: 1...20) func timeWeightedUptimeAgreesWithABruteForceOracle(seed: Int) {
        var rng = SplitMix(seed: UInt64(seed))
        var records: [HistoryRecord] = []
        var t: Int64 = Int64(rng.next() % 1000) * 1000
        let sleep = Double(5 + rng.next() % 60)
        for _ in 0..<(20 + Int(rng.next() % 80)) {
            records.append(record(at: t, rng.next() % 4 != 0, sleep: sleep))
            // Regular runs, overruns, restarts (long gaps).
            let gap: Int64 = switch rng.next() % 10 {
            case 0: Int64(sleep * 1000) * Int64(2 + rng.next() % 5)
            case 1: Int64(sleep * 1000) + Int64(rng.next() % 20_000)
            default: Int64(sleep * 1000)
            }
            t += gap / 1000 * 1000
        }
        let since = Int64(rng.next() % UInt64(t / 2)) / 1000 * 1000
        let until = since + Int64(rng.next() % UInt64(t)) / 1000 * 1000 + 1000
        let s = HistoryMath.summarize(records, since: since, until: until, now: until)
        var up: Int64 = 0
        var down: Int64 = 0
        var second = since
        while second < until {
            // The newest result started at or before this second, if its coverage reaches it.
            if let i = records.lastIndex(where: { $0.createdMillis <= second }) {
                let covered = second < records[i].createdMillis + records[i].capMillis
                if covered { if records[i].success { up += 1000 } else { down += 1000 } }
            }
            second += 1000
        }
        #expect(s.upMillis == up && s.downMillis == down, "seed \(seed)")
        #expect(s.results == records.filter { $0.createdMillis >= since && $0.createdMillis < until }.count)
    }

    @Test func latencyQuantilesAreWithinOnePercent() {
        var histogram = LatencyHistogram()
        var values: [Double] = []
        var rng = SplitMix(seed: 7)
        for _ in 0..<10_000 {
            let v = Double(rng.next() % 1_000_000) / 1000 + 0.01
            values.append(v)
            histogram.add(v)
        }
        values.sort()
        for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
            let exact = values[Int((q * Double(values.count)).rounded(.up)) - 1]
            let estimate = histogram.quantile(q)!
            #expect(abs(estimate - exact) / exact <= 0.01, "q \(q): \(estimate) vs \(exact)")
        }
        #expect(histogram.max == values.last && histogram.min == values.first)
        let decoded = LatencyHistogram(encoded: histogram.encoded)
        #expect(decoded?.quantile(0.95) == histogram.quantile(0.95) && decoded?.count == 10_000)
        var halves = LatencyHistogram()
        var other = LatencyHistogram()
        for (i, v) in values.enumerated() { if i % 2 == 0 { halves.add(v) } else { other.add(v) } }
        halves.merge(other)
        #expect(halves.quantile(0.99) == histogram.quantile(0.99), "merging loses nothing")
    }

    /// Merging parts in any order gives the same buckets as adding every value to one histogram,
    /// and the text form reads back equal: parts with disjoint, nested and overlapping ranges,
    /// and the zero bucket.
    @Test(arguments: 0..<20) func mergingAndDecodingAgreeWithAddingEverything(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        var whole = LatencyHistogram()
        var parts = (0..<5).map { _ in LatencyHistogram() }
        for part in parts.indices {
            // Each part its own range: 10^(−4…4) ms, a few values each.
            let scale = pow(10, Double(Int(rng.next() % 9) - 4))
            for _ in 0..<(rng.next() % 50) {
                let v = rng.next() % 10 == 0 ? 0 : scale * Double(1 + rng.next() % 1000) / 100
                parts[part].add(v)
                whole.add(v)
            }
        }
        var merged = LatencyHistogram()
        for part in parts.shuffled(using: &rng) { merged.merge(part) }
        #expect(merged.buckets == whole.buckets && merged.count == whole.count)
        #expect(merged.min == whole.min && merged.max == whole.max)
        for q in [0.0, 0.5, 0.99, 1.0] { #expect(merged.quantile(q) == whole.quantile(q)) }
        let decoded = LatencyHistogram(encoded: whole.encoded)
        #expect(decoded?.buckets == whole.buckets && decoded?.encoded == whole.encoded)
    }

    /// Up to `fewLimit` values the buckets are kept one index per value, beyond it dense; the
    /// form depends on the number of values only, so a histogram equals (and hashes as) its
    /// twin built another way: added, merged from parts in any order, decoded.
    @Test(arguments: [5, 32, 33, 200]) func aHistogramEqualsItsTwinsWhateverItsForm(values: Int) {
        var rng = SplitMix(seed: UInt64(values))
        // Multiples of 1/1024: their sum is exact in any order, so the twins' sums are equal too.
        let samples = (0..<values).map { _ in rng.next() % 8 == 0 ? 0 : Double(1 + rng.next() % 5000) / 1024 }
        var added = LatencyHistogram()
        for v in samples { added.add(v) }
        let bucketed = samples.filter { $0 > 0.001 }.count
        #expect(added.isCompact == (bucketed <= LatencyHistogram.fewLimit), "\(bucketed) values in buckets")
        var parts = [LatencyHistogram](repeating: LatencyHistogram(), count: 4)
        for (i, v) in samples.enumerated() { parts[i % 4].add(v) }
        var merged = LatencyHistogram()
        for part in parts.shuffled(using: &rng) { merged.merge(part) }
        var intoDense = parts[0]
        for part in parts.dropFirst().reversed() { intoDense.merge(part) }
        let decoded = LatencyHistogram(encoded: added.encoded)
        for twin in [merged, intoDense, decoded] {
            #expect(twin == added && twin?.hashValue == added.hashValue)
        }
        #expect(merged.buckets == added.buckets && merged.quantile(0.5) == added.quantile(0.5) && merged.quantile(0.99) == added.quantile(0.99))
        #expect(added.buckets.values.reduce(0, +) == samples.count)
    }

    /// The encoder writes its digits by hand: its text is the one string interpolation gives,
    /// for compact and dense histograms, negative bucket indexes, the zero bucket and counts up
    /// to 10^14.
    @Test(arguments: 0..<20) func theEncodedTextIsTheInterpolatedOne(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        var histogram = LatencyHistogram()
        for _ in 0..<(1 + rng.next() % 100) {
            // 10^(−5…6) ms: bucket indexes from about −580 to 700.
            histogram.add(rng.next() % 10 == 0 ? 0 : pow(10, Double(Int(rng.next() % 12) - 5)) * Double(1 + rng.next() % 1000) / 100)
        }
        for _ in 0..<(rng.next() % 40) { histogram.merge(histogram) }
        let buckets = histogram.buckets.sorted { $0.key < $1.key }.map { "\($0.key == Int.min ? "z" : String($0.key)):\($0.value)" }
        let expected = "\(histogram.count) \(histogram.sum) \(histogram.min) \(histogram.max) " + buckets.joined(separator: ",")
        #expect(histogram.encoded == expected)
        #expect(LatencyHistogram(encoded: histogram.encoded) == histogram)
    }

    /// A corrupt stored histogram reads as malformed (`nil`, and the store then keeps an empty
    /// one) instead of trapping: numbers too long to hold, counts whose sum overflows, bucket
    /// indexes too far out to hold dense counts for. Indexes up to the limit still read.
    @Test func aCorruptEncodedTextIsMalformedNotATrap() {
        let huge = (1...11).map { "\($0):900000000000000000" }.joined(separator: ",")
        let zeros = (1...11).map { _ in "z:900000000000000000" }.joined(separator: ",")
        for text in [
            "1 1.0 1.0 1.0 5:99999999999999999999", "1 1.0 1.0 1.0 99999999999999999999:1", "9 1.0 1.0 1.0 \(huge)",
            "9 1.0 1.0 1.0 \(zeros)", "40 1.0 1.0 1.0 -5000000:20,5000000:20", "2 1.0 1.0 1.0 100001:2", "2 1.0 1.0 1.0 -100001:2",
        ] {
            #expect(LatencyHistogram(encoded: text) == nil, "\(text.prefix(60))")
        }
        let widest = LatencyHistogram(encoded: "40 80.0 0.5 3.5 -100000:20,100000:20")
        #expect(widest?.count == 40 && widest?.buckets == [-100_000: 20, 100_000: 20])
    }

    /// The stored text of a histogram is a file format (history files written by earlier
    /// versions are read as they are): count, sum, min, max, then `index:n` with `z` for the
    /// zero bucket, bucket indexes ascending (negative ones included).
    @Test func theEncodedTextKeepsItsFormat() {
        let histogram = LatencyHistogram(buckets: [Int.min: 2, -3: 1, 10: 3, 12: 1], count: 7, sum: 1.5, min: 0.0005, max: 1.25)
        #expect(histogram.encoded == "7 1.5 0.0005 1.25 z:2,-3:1,10:3,12:1")
        #expect(LatencyHistogram(buckets: [4: 1], count: 1, sum: 2.0, min: 2.0, max: 2.0).encoded == "1 2.0 2.0 2.0 4:1")
        #expect(LatencyHistogram().encoded == "0")
        #expect(LatencyHistogram(encoded: "7 1.5 0.0005 1.25 z:2,-3:1,10:3,12:1")?.buckets == histogram.buckets)
        // Buckets out of order (not what `encoded` writes) read the same, compact or dense.
        #expect(LatencyHistogram(encoded: "7 1.5 0.0005 1.25 12:1,z:2,10:3,-3:1") == histogram)
        let dense = LatencyHistogram(buckets: [-3: 20, 10: 30, 12: 1], count: 51, sum: 9.5, min: 0.5, max: 1.25)
        #expect(LatencyHistogram(encoded: "51 9.5 0.5 1.25 10:30,12:1,-3:20") == dense)
        #expect(LatencyHistogram(encoded: dense.encoded) == dense && !dense.isCompact)
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
