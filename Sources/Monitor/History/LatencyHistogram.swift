import Foundation

/// A mergeable histogram of latencies (milliseconds) with at most 1 % relative error on any
/// quantile: values fall into logarithmic buckets of ratio 1.02, and a bucket answers with the
/// value whose relative distance to both edges is equal (≤ 0.99 %). Exact count, sum, min, max.
public struct LatencyHistogram: Sendable, Hashable {
    /// Bucket ratio.
    public static let gamma = 1.02
    private static let logGamma = log(gamma)

    /// Counts of values ≤ 0.001 ms.
    private var zero = 0
    /// While at most `fewLimit` values are in buckets: their bucket indexes, one per value,
    /// ascending (`counts` is empty). A check's pending rollup holds about ten results spread
    /// over some 80 buckets: 40 bytes here, where the dense counts took 700 (at 10,000 checks,
    /// 8 MB of the monitor's peak). Beyond the limit the counts are dense and `few` is empty,
    /// whatever way the values came (added, merged, decoded): equal histograms are equal values.
    private var few: [Int32] = []
    /// Counts by bucket index (`floor(log(v) / log(gamma))`) from `offset` on; no zero count at
    /// either end. Dense: a report merges tens of thousands of hourly histograms, and adding
    /// arrays is much cheaper than hashing.
    private var counts: [Int] = []
    private var offset = 0
    /// Values in buckets kept as `few`, at most.
    static let fewLimit = 32
    /// Whether the values are kept as `few` (tests).
    var isCompact: Bool { counts.isEmpty }
    public private(set) var count = 0
    public private(set) var sum = 0.0
    public private(set) var min = Double.infinity
    public private(set) var max = -Double.infinity

    public init() {}

    /// A histogram from its parts, as `buckets`, `count`, `sum`, `min` and `max` gave them (a
    /// store that keeps the buckets as fields).
    public init(buckets: [Int: Int], count: Int, sum: Double, min: Double, max: Double) {
        for (index, n) in buckets.sorted(by: { $0.key < $1.key }) where n > 0 {
            if index == Int.min { zero += n } else { add(index: index, count: n) }
        }
        self.count = count
        self.sum = sum
        self.min = count > 0 ? min : .infinity
        self.max = count > 0 ? max : -.infinity
    }

    /// Counts by bucket index; values ≤ 0.001 ms under `Int.min`.
    public var buckets: [Int: Int] {
        var out: [Int: Int] = [:]
        if zero > 0 { out[Int.min] = zero }
        forEachBucket { index, n in out[index] = n }
        return out
    }

    /// Calls `body` with each bucket's index and count (not 0), indexes ascending; not the zero
    /// bucket.
    private func forEachBucket(_ body: (Int, Int) -> Void) {
        if counts.isEmpty {
            var i = 0
            while i < few.count {
                var j = i + 1
                while j < few.count && few[j] == few[i] { j += 1 }
                body(Int(few[i]), j - i)
                i = j
            }
        } else {
            for (i, n) in counts.enumerated() where n > 0 { body(offset + i, n) }
        }
    }

    public mutating func add(_ value: Double) {
        guard value.isFinite, value >= 0 else { return }
        if value <= 0.001 {
            zero += 1
        } else {
            add(index: Int((log(value) / Self.logGamma).rounded(.down)), count: 1)
        }
        count += 1
        sum += value
        min = Swift.min(min, value)
        max = Swift.max(max, value)
    }

    /// Adds `n` to the bucket `index`: to `few` while they stay within `fewLimit`, else to the
    /// dense counts.
    private mutating func add(index: Int, count n: Int) {
        if counts.isEmpty, few.count + n <= Self.fewLimit, let compact = Int32(exactly: index) {
            if few.last.map({ $0 <= compact }) ?? true {
                // In order (a decode, most merges): appended, without a search or a shift
                // (callgrind: decoding a rollup's histogram cost 13,000 instructions, most here).
                if n == 1 { few.append(compact) } else { few.append(contentsOf: repeatElement(compact, count: n)) }
                return
            }
            let at = few.firstIndex { $0 > compact } ?? few.count
            few.insert(contentsOf: repeatElement(compact, count: n), at: at)
            return
        }
        if !few.isEmpty {
            let values = few
            few = []
            for index in values { addDense(index: Int(index), count: 1) }
        }
        addDense(index: index, count: n)
    }

    /// Adds `n` to the bucket `index` of the dense counts, growing their range as needed.
    private mutating func addDense(index: Int, count n: Int) {
        if counts.isEmpty {
            offset = index
            counts = [n]
        } else if index < offset {
            counts.insert(contentsOf: repeatElement(0, count: offset - index), at: 0)
            offset = index
            counts[0] += n
        } else if index >= offset + counts.count {
            counts.append(contentsOf: repeatElement(0, count: index - offset - counts.count + 1))
            counts[index - offset] += n
        } else {
            counts[index - offset] += n
        }
    }

    public mutating func merge(_ other: LatencyHistogram) {
        zero += other.zero
        for index in other.few { add(index: Int(index), count: 1) }
        if !other.counts.isEmpty {
            if !few.isEmpty {
                // Ours into a copy of the other's dense counts (the larger part).
                let values = few
                few = []
                counts = other.counts
                offset = other.offset
                for index in values { addDense(index: Int(index), count: 1) }
            } else if counts.isEmpty {
                counts = other.counts
                offset = other.offset
            } else {
                let low = Swift.min(offset, other.offset)
                let high = Swift.max(offset + counts.count, other.offset + other.counts.count)
                if low < offset { counts.insert(contentsOf: repeatElement(0, count: offset - low), at: 0) }
                if high > low + counts.count { counts.append(contentsOf: repeatElement(0, count: high - low - counts.count)) }
                offset = low
                let shift = other.offset - low
                counts.withUnsafeMutableBufferPointer { mine in
                    for (i, n) in other.counts.enumerated() { mine[shift + i] += n }
                }
            }
        }
        count += other.count
        sum += other.sum
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// Mean, or `nil` when empty.
    public var average: Double? { count > 0 ? sum / Double(count) : nil }

    /// The `q` quantile (0…1) by nearest rank, clamped to [min, max]; `nil` when empty.
    public func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = Swift.max(1, Int((q * Double(count)).rounded(.up)))
        if zero >= rank { return min }
        var seen = zero
        var found: Int?
        forEachBucket { index, n in
            guard found == nil else { return }
            seen += n
            if seen >= rank { found = index }
        }
        guard let found else { return max }
        let low = pow(Self.gamma, Double(found))
        let value = 2 * low * Self.gamma / (1 + Self.gamma)
        return Swift.min(max, Swift.max(min, value))
    }

    /// Compact text: `count sum min max index:n,index:n…` (for storage).
    public var encoded: String {
        guard count > 0 else { return "0" }
        // Written as bytes, digits by hand, then made a string once: the recorder encodes a
        // histogram per check every rollup round, and appending each small string to a `String`
        // cost about 330 instructions (callgrind: 44,000 per histogram of some 20 buckets).
        var out: [UInt8] = []
        out.reserveCapacity(64 + 12 * (counts.count + few.count))
        out.appendDecimal(count)
        out.append(0x20)
        out.append(contentsOf: sum.description.utf8)
        out.append(0x20)
        out.append(contentsOf: min.description.utf8)
        out.append(0x20)
        out.append(contentsOf: max.description.utf8)
        out.append(0x20)
        var first = true
        if zero > 0 {
            out.append(UInt8(ascii: "z"))
            out.append(UInt8(ascii: ":"))
            out.appendDecimal(zero)
            first = false
        }
        forEachBucket { index, n in
            if !first { out.append(UInt8(ascii: ",")) }
            out.appendDecimal(index)
            out.append(UInt8(ascii: ":"))
            out.appendDecimal(n)
            first = false
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The largest bucket index a stored histogram may hold, either sign: latencies from 10^-3
    /// to 10^9 ms have indexes within −350…1,050. A larger one is a corrupt row, read as
    /// malformed: its dense counts (a slot per index in between) could not be held.
    static let maxStoredIndex = 100_000

    /// Reads `encoded`; `nil` when malformed (a count that overflows, an index beyond
    /// `maxStoredIndex`). Hand-parsed over the UTF-8 bytes: a report reads one histogram per
    /// check and hour (72,000 for 100 checks × 30 days).
    public init?(encoded text: String) {
        self.init()
        if text == "0" { return }
        var text = text
        // The buckets (n > 0) as read and the values in them; set all at once below.
        var pairs: [(index: Int, n: Int)] = []
        var bucketed = 0
        let parsed: Bool = text.withUTF8 { bytes in
            var i = 0
            func field() -> Substring? {
                let start = i
                while i < bytes.count && bytes[i] != 0x20 { i += 1 }
                guard i > start else { return nil }
                defer { i += 1 }
                return Substring(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            }
            guard let c = field().flatMap({ Int($0) }), let sum = field().flatMap({ Double($0) }),
                let min = field().flatMap({ Double($0) }), let max = field().flatMap({ Double($0) })
            else { return false }
            (count, self.sum, self.min, self.max) = (c, sum, min, max)
            // "index:n,index:n…", index "z" for the zero bucket.
            while i < bytes.count {
                var index = 0
                if bytes[i] == UInt8(ascii: "z") {
                    index = Int.min
                    i += 1
                } else {
                    var negative = false
                    if bytes[i] == UInt8(ascii: "-") {
                        negative = true
                        i += 1
                    }
                    let start = i
                    while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39, i - start < 7 {
                        index = index * 10 + Int(bytes[i] - 0x30)
                        i += 1
                    }
                    guard i > start, index <= Self.maxStoredIndex else { return false }
                    if negative { index = -index }
                }
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return false }
                i += 1
                var n = 0
                let start = i
                // At most 18 digits: no overflow here.
                while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39, i - start < 18 {
                    n = n * 10 + Int(bytes[i] - 0x30)
                    i += 1
                }
                guard i > start else { return false }
                if index == Int.min {
                    let (total, overflow) = zero.addingReportingOverflow(n)
                    guard !overflow else { return false }
                    zero = total
                } else if n > 0 {
                    let (total, overflow) = bucketed.addingReportingOverflow(n)
                    guard !overflow else { return false }
                    bucketed = total
                    pairs.append((index, n))
                }
                if i < bytes.count {
                    guard bytes[i] == UInt8(ascii: ",") else { return false }
                    i += 1
                }
            }
            return true
        }
        if !parsed { return nil }
        setBuckets(pairs, values: bucketed)
    }

    /// Sets the buckets of an empty histogram from `pairs` (count > 0 each, indexes within
    /// ±`maxStoredIndex`) holding `values` in all. Dense ones, ascending as `encoded` writes
    /// them, in one go (callgrind: a bucket at a time, growing the arrays and moving the first
    /// `fewLimit` values over, cost 330 instructions a bucket); otherwise a bucket at a time
    /// (compact ones in order are appended).
    private mutating func setBuckets(_ pairs: [(index: Int, n: Int)], values bucketed: Int) {
        guard let first = pairs.first, let last = pairs.last else { return }
        if bucketed > Self.fewLimit && zip(pairs, pairs.dropFirst()).allSatisfy({ $0.index < $1.index }) {
            offset = first.index
            counts = Array(repeating: 0, count: last.index - first.index + 1)
            for pair in pairs { counts[pair.index - offset] = pair.n }
        } else {
            for pair in pairs { add(index: pair.index, count: pair.n) }
        }
    }
}
