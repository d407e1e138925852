/// Publisher-confirm bookkeeping for one channel: which spool record each delivery tag carries,
/// when it was sent, and whether the broker returned it as unroutable.
///
/// Tags start at 1 on a new channel and grow by one per publish. An ack or nack settles one tag
/// or, with `multiple`, every tag up to it. RabbitMQ sends `basic.return` *before* the ack of a
/// returned message, so a settled tag reports whether it was returned: an ack alone is not
/// proof of delivery. A plain value, driven by tests without a broker.
struct ConfirmTracker: Sendable {
    /// A settled publish.
    struct Settled: Sendable, Equatable {
        var seq: UInt64
        /// The broker returned it (no queue took it) before confirming.
        var returned: Bool
    }

    private struct Outstanding: Sendable {
        var tag: UInt64
        var seq: UInt64
        var id: String
        var sentAt: Double
        var settled = false
    }

    private var items: [Outstanding] = []
    private var head = 0
    private var returnedIDs: Set<String> = []
    /// Tags published on this channel so far (the last tag handed out).
    private(set) var lastTag: UInt64 = 0
    /// Publishes not yet settled.
    private(set) var count = 0

    /// Forgets everything (a new channel numbers its tags from 1 again).
    mutating func reset() {
        self = ConfirmTracker()
    }

    /// Records a publish of spool record `seq` (result `id`) at `time` (monotonic seconds);
    /// returns its delivery tag.
    @discardableResult
    mutating func published(seq: UInt64, id: String, at time: Double) -> UInt64 {
        lastTag += 1
        items.append(Outstanding(tag: lastTag, seq: seq, id: id, sentAt: time))
        count += 1
        return lastTag
    }

    /// Notes a `basic.return` for the message with this id (its confirm comes next).
    mutating func returned(id: String) {
        returnedIDs.insert(id)
    }

    /// Settles `tag` (and every earlier tag when `multiple`); returns the settled publishes,
    /// oldest first. Unknown or already settled tags are ignored.
    mutating func settle(tag: UInt64, multiple: Bool) -> [Settled] {
        var out: [Settled] = []
        if multiple {
            var i = head
            while i < items.count && items[i].tag <= tag {
                if !items[i].settled { out.append(settle(at: i)) }
                i += 1
            }
        } else if let i = index(of: tag), !items[i].settled {
            out.append(settle(at: i))
        }
        while head < items.count && items[head].settled { head += 1 }
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return out
    }

    /// When the oldest unsettled publish was sent (monotonic seconds), or `nil`.
    var oldestSentAt: Double? {
        var i = head
        while i < items.count {
            if !items[i].settled { return items[i].sentAt }
            i += 1
        }
        return nil
    }

    /// Whether the oldest unsettled publish has waited more than `timeout` seconds for its
    /// confirm at `now` (both in the seconds `published(seq:id:at:)` was given).
    func isOverdue(now: Double, timeout: Double) -> Bool {
        oldestSentAt.map { now - $0 > timeout } ?? false
    }

    /// Restarts the confirm clock of every unsettled publish at `time` (after the broker
    /// stopped blocking publishers: the wait while blocked does not count).
    mutating func restartClock(at time: Double) {
        for i in head..<items.count { items[i].sentAt = time }
    }

    private mutating func settle(at i: Int) -> Settled {
        items[i].settled = true
        count -= 1
        // Returns are rare: no hashing of every confirmed message's id while there are none.
        let wasReturned = !returnedIDs.isEmpty && returnedIDs.remove(items[i].id) != nil
        return Settled(seq: items[i].seq, returned: wasReturned)
    }

    private func index(of tag: UInt64) -> Int? {
        // Tags are consecutive from items[head].tag.
        guard head < items.count, tag >= items[head].tag else { return nil }
        let i = head + Int(tag - items[head].tag)
        return i < items.count && items[i].tag == tag ? i : nil
    }
}
