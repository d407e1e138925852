/// The lines waiting to be written to InfluxDB, oldest first, bounded: during an outage points
/// pile up here, and past `capacity` the oldest are dropped (and counted).
///
/// A write takes a batch without removing it and confirms it afterwards, so points stay
/// buffered while the write is in flight and across failures. Each line has a sequence number,
/// so a confirmation never removes lines that arrived (or were dropped) meanwhile. A plain value
/// type: tests drive it without a server.
struct PointBuffer: Sendable {
    /// Most lines kept.
    let capacity: Int
    private var lines: [String] = []
    private var head = 0
    /// The sequence number of `lines[head]`.
    private var firstSequence: UInt64 = 0
    /// Lines dropped because the buffer was full, since the last `takeDropped()`.
    private(set) var dropped = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Lines buffered.
    var count: Int { lines.count - head }
    var isEmpty: Bool { count == 0 }

    /// Adds lines, dropping the oldest beyond `capacity`.
    mutating func append(_ new: [String]) {
        lines += new
        let excess = count - capacity
        if excess > 0 {
            head += excess
            firstSequence += UInt64(excess)
            dropped += excess
        }
        // Reclaim the consumed prefix once it dominates the storage.
        if head > 1024 && head * 2 > lines.count {
            lines.removeFirst(head)
            head = 0
        }
    }

    /// A batch of at most `max` oldest lines, and the token confirming it.
    func batch(max: Int) -> (lines: ArraySlice<String>, end: UInt64) {
        let n = min(max, count)
        return (lines[head..<head + n], firstSequence + UInt64(n))
    }

    /// Removes the lines of a written batch (those before `end` still buffered).
    mutating func confirm(_ end: UInt64) {
        guard end > firstSequence else { return }
        let n = Int(min(end - firstSequence, UInt64(count)))
        head += n
        firstSequence += UInt64(n)
        if head == lines.count {
            lines.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    /// The drop count since the last call, reset to zero.
    mutating func takeDropped() -> Int {
        defer { dropped = 0 }
        return dropped
    }
}
