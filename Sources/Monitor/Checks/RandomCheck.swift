/// `random`: draws a value in [0, 1) and succeeds when it is above `mark`. For demos and for
/// driving notifier policies in tests: the same `seed` gives the same sequence in every run.
public final class RandomCheck: Check {
    /// The options of `random`.
    public static let kind = CheckKind(
        name: "random",
        options: [
            OptionSpec("seed", .integer(), default: 0, help: "seed of the generator; the same seed gives the same values"),
            OptionSpec("mark", .number(0...1), default: 0.5, help: "success when the value is above this"),
        ],
        make: { context in
            RandomCheck(seed: UInt64(bitPattern: Int64(context.options.int("seed") ?? 0)), mark: context.options.double("mark") ?? 0.5)
        })

    private struct State {
        var generator: SplitMix64
        var count = 0
    }

    public let mark: Double
    private let state: Locked<State>

    public init(seed: UInt64, mark: Double) {
        self.mark = mark
        self.state = Locked(State(generator: SplitMix64(seed: seed)))
    }

    public func run() async -> CheckOutcome {
        let (value, count) = state.withLock { s -> (Double, Int) in
            s.count += 1
            return (Double(s.generator.next() >> 11) * 0x1p-53, s.count)
        }
        let measurement: [String: JSONValue] = ["value": .double(value), "mark": .double(mark)]
        if value > mark {
            return .success("[\(count)] value is ok \(value) > \(mark)", measurement)
        }
        return .failure("[\(count)] value is bad \(value) <= \(mark)", measurement)
    }
}

/// SplitMix64: a tiny, well-mixed generator whose sequence depends only on its seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
