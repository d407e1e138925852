import Foundation

/// A mergeable histogram of latencies (milliseconds) with at most 1 % relative error on any
/// quantile: values fall into logarithmic buckets of ratio 1.02, and a bucket answers with the
/// value whose relative distance to both edges is equal (≤ 0.99 %). Exact count, sum, min, max.
public struct LatencyHistogram: Sendable, Hashable {
    /// Bucket ratio.
    public static let gamma = 1.02
    private static let logGamma = log(gamma)

    /// Counts by bucket index (`floor(log(v) / log(gamma))`); values ≤ 0.001 ms share index `Int.min`.
    public private(set) var buckets: [Int: Int] = [:]
    public private(set) var count = 0
    public private(set) var sum = 0.0
    public private(set) var min = Double.infinity
    public private(set) var max = -Double.infinity

    public init() {}

    public mutating func add(_ value: Double) {
        guard value.isFinite, value >= 0 else { return }
        let index = value <= 0.001 ? Int.min : Int((log(value) / Self.logGamma).rounded(.down))
        buckets[index, default: 0] += 1
        count += 1
        sum += value
        min = Swift.min(min, value)
        max = Swift.max(max, value)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for (index, n) in other.buckets { buckets[index, default: 0] += n }
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
        var seen = 0
        for index in buckets.keys.sorted() {
            seen += buckets[index]!
            if seen >= rank {
                guard index != Int.min else { return min }
                let low = pow(Self.gamma, Double(index))
                let value = 2 * low * Self.gamma / (1 + Self.gamma)
                return Swift.min(max, Swift.max(min, value))
            }
        }
        return max
    }

    /// Compact text: `count sum min max index:n,index:n…` (for storage).
    public var encoded: String {
        guard count > 0 else { return "0" }
        let parts = buckets.keys.sorted().map { "\($0 == Int.min ? "z" : String($0)):\(buckets[$0]!)" }
        return "\(count) \(sum) \(min) \(max) " + parts.joined(separator: ",")
    }

    /// Reads `encoded`; `nil` when malformed. Hand-parsed over the UTF-8 bytes: a report reads
    /// one histogram per check and hour (72,000 for 100 checks × 30 days).
    public init?(encoded text: String) {
        self.init()
        if text == "0" { return }
        var text = text
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
                    while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                        index = index * 10 + Int(bytes[i] - 0x30)
                        i += 1
                    }
                    guard i > start else { return false }
                    if negative { index = -index }
                }
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return false }
                i += 1
                var n = 0
                let start = i
                while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                    n = n * 10 + Int(bytes[i] - 0x30)
                    i += 1
                }
                guard i > start else { return false }
                buckets[index, default: 0] += n
                if i < bytes.count {
                    guard bytes[i] == UInt8(ascii: ",") else { return false }
                    i += 1
                }
            }
            return true
        }
        if !parsed { return nil }
    }
}
