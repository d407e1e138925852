import Monitor

/// The results waiting to go out as one e-mail (`group_seconds`): the first result opens a
/// window of `window` seconds, every result arriving before it closes joins, and when it closes
/// the whole group is sent. A plain value type driven by the caller's clock (seconds on any
/// monotonic scale), so tests need no sleeps.
struct MailGroup: Sendable {
    /// The window length in seconds.
    let window: Double
    /// Results held; the group is mailed at `deadline`.
    private(set) var deliveries: [Delivery] = []
    /// When the open group is due, or `nil` when nothing is waiting.
    private(set) var deadline: Double?

    init(window: Double) {
        self.window = window
    }

    /// Adds results; returns `true` when they opened a new group (the caller then schedules a
    /// flush at `deadline`).
    mutating func add(_ batch: [Delivery], now: Double) -> Bool {
        guard !batch.isEmpty else { return false }
        deliveries += batch
        if deadline == nil {
            deadline = now + window
            return true
        }
        return false
    }

    /// The group when its window has closed at `now` (and empties it), else `nil`.
    mutating func takeIfDue(now: Double) -> [Delivery]? {
        guard let deadline, now >= deadline else { return nil }
        return takeAll()
    }

    /// Everything waiting, due or not (at shutdown).
    mutating func takeAll() -> [Delivery] {
        let out = deliveries
        deliveries = []
        deadline = nil
        return out
    }
}
