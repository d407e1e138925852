/// A min-heap of deadlines (nanoseconds) with a value each, for the event loops' timers.
///
/// Entries are never removed from the middle: an entry whose work finished early stays until it
/// surfaces and the owner ignores it (the owner checks its value is still live). `compact(keeping:)`
/// drops such dead entries in one pass when they pile up, so memory follows the live count.
struct DeadlineHeap<Value> {
    struct Entry {
        var deadline: Int64
        var value: Value
    }

    private(set) var entries: [Entry] = []

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }
    /// The earliest deadline, if any.
    var first: Entry? { entries.first }

    mutating func push(deadline: Int64, value: Value) {
        entries.append(Entry(deadline: deadline, value: value))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest entry if its deadline is at or before `now`.
    mutating func popDue(now: Int64) -> Entry? {
        guard let top = entries.first, top.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(from: 0)
        }
        return top
    }

    /// Keeps only the entries `isLive` accepts and restores the heap order (O(n)).
    mutating func compact(keeping isLive: (Value) -> Bool) {
        entries.removeAll { !isLive($0.value) }
        var index = entries.count / 2
        while index > 0 {
            index -= 1
            siftDown(from: index)
        }
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            var smallest = left
            let right = left + 1
            if right < entries.count && entries[right].deadline < entries[left].deadline { smallest = right }
            guard entries[smallest].deadline < entries[parent].deadline else { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
