import Monitor
import Testing

/// One row of a policy table: a mode, a threshold, a status sequence ("S"/"F"), and what must be
/// sent at each step ("." silent; "A" always, "C" change, "F" failure, "R" recovery).
struct PolicyCase: CustomTestStringConvertible, Sendable {
    var mode: ReportMode
    var threshold: Int
    var resolved = false
    var input: String
    var expected: String

    var testDescription: String { "\(mode.rawValue) T=\(threshold)\(resolved ? " resolved" : "") \(input)" }
}

private func run(_ c: PolicyCase) -> String {
    let policy = ReportPolicy(mode: c.mode, threshold: c.threshold, resolved: c.resolved)
    var state = PolicyState()
    var out = ""
    for (i, ch) in c.input.enumerated() {
        let reason = policy.observe(ch == "S" ? .success : .failure, at: Double(i), state: &state)
        switch reason {
        case nil: out += "."
        case .always?: out += "A"
        case .change?: out += "C"
        case .failure?: out += "F"
        case .recovery?: out += "R"
        case .reminder?: out += "M"
        case .manual?: out += "?"
        }
    }
    return out
}

@Suite struct ReportPolicyTests {
    static let flapping = "SSFSFFSSSFFFFSFFFSSSS"

    static let cases: [PolicyCase] = [
        // always: every result, whatever the threshold.
        PolicyCase(mode: .always, threshold: 0, input: flapping, expected: String(repeating: "A", count: flapping.count)),
        PolicyCase(mode: .always, threshold: 1, input: flapping, expected: String(repeating: "A", count: flapping.count)),
        PolicyCase(mode: .always, threshold: 3, input: flapping, expected: String(repeating: "A", count: flapping.count)),
        // change: healthy start is silent; each status change that holds T results is sent once.
        PolicyCase(mode: .change, threshold: 0, input: flapping, expected: "..CCC.C..C...CC..C..."),
        PolicyCase(mode: .change, threshold: 1, input: flapping, expected: "..CCC.C..C...CC..C..."),
        PolicyCase(mode: .change, threshold: 3, input: flapping, expected: "...........C.......C."),
        PolicyCase(mode: .change, threshold: 3, input: "FFFFFFSSSSSS", expected: "..C.....C..."),
        // failure: one message per failure streak reaching T; re-armed by the next streak.
        PolicyCase(mode: .failure, threshold: 0, input: flapping, expected: "..F.F....F....F......"),
        PolicyCase(mode: .failure, threshold: 1, input: flapping, expected: "..F.F....F....F......"),
        PolicyCase(mode: .failure, threshold: 3, input: flapping, expected: "...........F....F...."),
        // failure + resolved: the recovery follows once a success streak reaches T.
        PolicyCase(mode: .failure, threshold: 0, resolved: true, input: flapping, expected: "..FRF.R..F...RF..R..."),
        PolicyCase(mode: .failure, threshold: 1, resolved: true, input: flapping, expected: "..FRF.R..F...RF..R..."),
        PolicyCase(mode: .failure, threshold: 3, resolved: true, input: flapping, expected: "...........F....F..R."),
        // no recovery without a sent failure
        PolicyCase(mode: .failure, threshold: 3, resolved: true, input: "FFSSSFFSSS", expected: ".........."),
    ]

    @Test(arguments: cases)
    func table(_ c: PolicyCase) {
        #expect(run(c) == c.expected)
    }

    /// The original sent the first alert and never re-armed: a second outage, after recovery,
    /// must alert again.
    @Test func failureReArmsAfterRecovery() {
        let c = PolicyCase(mode: .failure, threshold: 2, input: "SFFFFSSSFFFSFF", expected: "..F......F...F")
        #expect(run(c) == c.expected)
    }

    @Test func repeatSendsRemindersWhileTheFailureLasts() {
        let policy = ReportPolicy(mode: .failure, threshold: 2, repeatInterval: 10)
        var state = PolicyState()
        var sent: [(Double, ReportReason)] = []
        // A failure every 3 s for 40 s, then success.
        var t = 0.0
        while t <= 40 {
            if let r = policy.observe(.failure, at: t, state: &state) { sent.append((t, r)) }
            t += 3
        }
        #expect(sent.map(\.0) == [3, 15, 27, 39])
        #expect(sent.map(\.1) == [.failure, .reminder, .reminder, .reminder])
        #expect(policy.observe(.success, at: 42, state: &state) == nil)
        #expect(policy.observe(.success, at: 45, state: &state) == nil)
        #expect(!state.openAlert)
        #expect(policy.observe(.failure, at: 48, state: &state) == nil)
    }
}
