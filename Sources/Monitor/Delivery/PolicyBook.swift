import Foundation
import Synchronization

/// One notifier's report policy for every check, with the per-check state kept on disk so a
/// restart neither repeats an alert nor forgets an open one.
public final class PolicyBook: Sendable {
    private struct Book {
        var states: [String: PolicyState] = [:]
        var dirty = false
    }

    /// The policy for checks without their own threshold.
    public let basePolicy: ReportPolicy
    /// Per-check policies where a check overrides the threshold, by `type/label`.
    private let overrides: [String: ReportPolicy]
    /// The JSON file the state is saved in; `nil` keeps it in memory only.
    public let file: String?
    private let book: Locked<Book>
    /// Yields when an alert opened or closed (state a crash must not lose); the notifier's
    /// `DeliveryService` saves at once, off the cooperative threads. Coalesced: one pending
    /// element at most.
    public let alertTransitions: AsyncStream<Void>
    private let alertTransitionsContinuation: AsyncStream<Void>.Continuation

    /// Loads saved state from `file` when it exists (an unreadable file starts fresh and is
    /// reported through `loadProblem`). With `configuredChecks` (`type/label` keys), the state
    /// of checks no longer configured is dropped (and the file rewritten at the next save).
    public init(
        basePolicy: ReportPolicy, thresholdOverrides: [String: Int] = [:], file: String?, configuredChecks: Set<String>? = nil
    ) {
        self.basePolicy = basePolicy
        self.overrides = thresholdOverrides.mapValues { threshold in
            var policy = basePolicy
            policy.threshold = threshold
            return policy
        }
        self.file = file
        var initial = Book()
        var problem: String?
        if let file, FileSystem.exists(file) {
            do {
                let text = try FileSystem.readText(file)
                initial.states = try JSONDecoder().decode([String: PolicyState].self, from: Data(text.utf8))
                if let configuredChecks {
                    let before = initial.states.count
                    initial.states = initial.states.filter { configuredChecks.contains($0.key) }
                    initial.dirty = initial.states.count != before
                }
            } catch {
                problem = "cannot read saved policy state \(file), starting fresh: \(error)"
            }
        }
        self.loadProblem = problem
        self.book = Locked(initial)
        (alertTransitions, alertTransitionsContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Why saved state could not be restored, if it could not.
    public let loadProblem: String?

    /// Feeds a result; returns why to deliver it, or `nil`. Never blocks: an alert transition is
    /// announced on `alertTransitions` for saving, not written here (this runs on the check's
    /// task, and a save is an `fsync`).
    ///
    /// `key`: the result's `key` when the caller has it (made once per result, not per
    /// notifier: `CheckResult.key` builds the text on each read).
    public func observe(_ result: CheckResult, key: String? = nil) -> ReportReason? {
        // `always` needs no memory: skip the lock and the state file on the hottest path.
        if basePolicy.mode == .always { return .always }
        let key = key ?? result.key
        let policy = overrides.isEmpty ? basePolicy : overrides[key] ?? basePolicy
        let time = Double(result.createdMillis) / 1000
        let (reason, alertChanged) = book.withLock { b -> (ReportReason?, Bool) in
            var outcome: (reason: ReportReason?, changed: Bool, alertChanged: Bool) = (nil, false, false)
            func observe(_ state: inout PolicyState) {
                let before = state
                let reason = policy.observe(result.status, at: time, state: &state)
                let alertChanged = state.lastSent != before.lastSent || state.openAlert != before.openAlert
                    || state.streakAlerted != before.streakAlerted || state.lastAlertTime != before.lastAlertTime
                outcome = (reason, state != before, alertChanged)
            }
            // In place: one lookup of the key, not a read and a write.
            observe(&b.states[key, default: PolicyState()])
            if outcome.changed { b.dirty = true }
            return (outcome.reason, outcome.alertChanged)
        }
        if alertChanged { alertTransitionsContinuation.yield() }
        return reason
    }

    /// The state for one check (`type/label`).
    public func state(for key: String) -> PolicyState? {
        book.withLock { $0.states[key] }
    }

    /// Writes the state to `file` if it changed since the last save. Blocks (`fsync`): call it on
    /// a thread of its own, not on a cooperative thread.
    public func save() throws {
        guard let file else { return }
        let snapshot: [String: PolicyState]? = book.withLock { b in
            guard b.dirty else { return nil }
            b.dirty = false
            return b.states
        }
        guard let snapshot else { return }
        do {
            try FileSystem.writeAtomically(to: file) { (write) throws(FileSystem.Error) in try Self.writeJSON(snapshot, write) }
        } catch {
            book.withLock { $0.dirty = true }
            throw error
        }
    }

    /// The saved file's text: the JSON that `JSONEncoder` with sorted keys writes for the same
    /// states (and `JSONDecoder` reads back), written straight into one string. `JSONEncoder`
    /// built a tree of the whole book first: 8 MB at its peak for 10,000 checks, the largest
    /// single share of the monitor's peak memory there.
    public static func json(_ states: [String: PolicyState]) -> String {
        var out = ""
        writeJSON(states) { out += $0 }
        return out
    }

    /// The text of `json` in pieces of about `piece` bytes, in order: `save` writes each to the
    /// file as it is made (a whole text was 1.3 MB for 10,000 checks, written every few seconds).
    public static func writeJSON<E: Error>(_ states: [String: PolicyState], piece: Int = 65_536, _ emit: (String) throws(E) -> Void) throws(E) {
        var out = "{"
        out.reserveCapacity(piece + 1024)
        for (i, key) in states.keys.sorted().enumerated() {
            if i > 0 { out += "," }
            JSONValue.writeString(key, into: &out)
            out += ":"
            states[key]!.writeJSON(into: &out)
            if out.utf8.count >= piece {
                try emit(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        out += "}"
        try emit(out)
    }
}

extension PolicyState {
    /// Appends the state as JSON: the keys sorted, an absent optional left out (as `Codable`
    /// synthesises it).
    func writeJSON(into out: inout String) {
        out += "{"
        if let lastAlertTime { out += "\"lastAlertTime\":" + JSONValue.format(lastAlertTime) + "," }
        out += "\"lastSent\":\"" + lastSent.rawValue + "\","
        out += "\"openAlert\":" + (openAlert ? "true" : "false") + ","
        out += "\"streakAlerted\":" + (streakAlerted ? "true" : "false") + ","
        out += "\"streakLength\":" + String(streakLength)
        if let streakStatus { out += ",\"streakStatus\":\"" + streakStatus.rawValue + "\"" }
        out += "}"
    }
}
