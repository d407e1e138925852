/// When a notifier sends a check's results: the `report`, `threshold`, `resolved` and `repeat`
/// options of one notifier, applied to one check's stream of results.
///
/// Let T = max(threshold, 1); a streak is a run of consecutive results with the same status.
/// - `always`: every result is sent.
/// - `change`: remembers the last status it sent (initially success, so a healthy start is
///   silent); when a streak of the other status reaches T, one message is sent.
/// - `failure`: when a failure streak reaches T, one message; nothing more for that streak; a
///   later failure streak that reaches T sends again. `resolved` also sends the recovery when a
///   success streak of T follows a sent failure; `repeat` re-sends while the failure lasts.
public struct ReportPolicy: Sendable, Hashable {
    public var mode: ReportMode
    public var threshold: Int
    public var resolved: Bool
    /// Seconds between reminders; `nil` for none.
    public var repeatInterval: Double?

    public init(mode: ReportMode, threshold: Int, resolved: Bool = false, repeatInterval: Double? = nil) {
        self.mode = mode
        self.threshold = threshold
        self.resolved = resolved
        self.repeatInterval = repeatInterval
    }

    /// The effective threshold, at least 1.
    public var effectiveThreshold: Int { max(threshold, 1) }

    /// Feeds one result's status (at `time`, Unix seconds) into `state`; returns why to send it,
    /// or `nil` to stay silent.
    public func observe(_ status: Status, at time: Double, state: inout PolicyState) -> ReportReason? {
        if status == state.streakStatus {
            // Counted up to T only: past it nothing depends on the length, so a steady check's
            // state stops changing and the saved state file is not rewritten every few seconds
            // (with 10,000 checks that was a 700-byte JSON encoding per check every 5 s).
            state.streakLength = min(state.streakLength + 1, effectiveThreshold)
        } else {
            state.streakStatus = status
            state.streakLength = 1
            if status == .success { state.streakAlerted = false }
        }
        let reached = state.streakLength >= effectiveThreshold
        switch mode {
        case .always:
            return .always
        case .change:
            guard reached, status != state.lastSent else { return nil }
            state.lastSent = status
            return .change
        case .failure:
            switch status {
            case .failure:
                if reached && !state.streakAlerted {
                    state.streakAlerted = true
                    state.openAlert = true
                    state.lastAlertTime = time
                    return .failure
                }
                if state.streakAlerted, let every = repeatInterval, let last = state.lastAlertTime, time - last >= every {
                    state.lastAlertTime = time
                    return .reminder
                }
                return nil
            case .success:
                guard reached, state.openAlert else { return nil }
                state.openAlert = false
                state.lastAlertTime = nil
                return resolved ? .recovery : nil
            }
        }
    }
}

/// What a notifier remembers about one check between results; saved across restarts.
public struct PolicyState: Sendable, Hashable, Codable {
    /// Status of the current streak (`nil` before the first result).
    public var streakStatus: Status?
    /// Length of the current streak, up to the threshold (what is past it changes nothing).
    public var streakLength: Int = 0
    /// `change`: the last status sent (a healthy start is silent).
    public var lastSent: Status = .success
    /// `failure`: the current failure streak has been alerted.
    public var streakAlerted: Bool = false
    /// `failure`: an alert was sent and its recovery has not been seen yet.
    public var openAlert: Bool = false
    /// `failure`: when the last alert or reminder was sent (Unix seconds).
    public var lastAlertTime: Double?

    public init() {}
}
