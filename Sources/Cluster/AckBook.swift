/// The run requests of one connection not acknowledged yet, in delivery order, and which of them
/// may be: the ones at the front go in one `basic.ack` with `multiple` (one frame for many), the
/// others one by one, so a slow run at the front never holds back its followers' acks (and with
/// them the prefetch window).
struct AckBook {
    /// Delivery tags not acknowledged yet, ascending (the order the broker delivered them).
    private var open: [UInt64] = []
    /// Those of `open` whose results the broker confirmed.
    private var ready: Set<UInt64> = []

    /// A request delivered with `tag` is running.
    mutating func delivered(_ tag: UInt64) {
        open.append(tag)
    }

    /// The result of `tag`'s request is confirmed: the request may be acknowledged.
    mutating func confirmed(_ tag: UInt64) {
        ready.insert(tag)
    }

    /// `tag`'s request was rejected (or otherwise answered): no ack is due for it.
    mutating func forget(_ tag: UInt64) {
        ready.remove(tag)
        if let i = open.firstIndex(of: tag) { open.remove(at: i) }
    }

    /// What to acknowledge now: every tag up to `upTo` (nil: none) at once, then each of
    /// `singles`. The book forgets them.
    mutating func take() -> (upTo: UInt64?, singles: [UInt64]) {
        guard !ready.isEmpty else { return (nil, []) }
        let leading = open.prefix { ready.contains($0) }.count
        let upTo = leading > 0 ? open[leading - 1] : nil
        for tag in open.prefix(leading) { ready.remove(tag) }
        open.removeFirst(leading)
        let singles = open.filter { ready.contains($0) }
        if !singles.isEmpty {
            open.removeAll { ready.contains($0) }
            ready.removeAll()
        }
        return (upTo, singles)
    }

    /// Requests running or awaiting their ack.
    var count: Int { open.count }
}
