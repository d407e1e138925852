import Testing

@testable import Monitor

@Suite struct DeadlineHeapTests {
    @Test func popsInDeadlineOrderOnlyWhenDue() {
        var heap = DeadlineHeap<Int>()
        for (deadline, value) in [(50, 5), (10, 1), (40, 4), (20, 2), (30, 3)] { heap.push(deadline: Int64(deadline), value: value) }
        #expect(heap.popDue(now: 5) == nil)
        var popped: [Int] = []
        while let entry = heap.popDue(now: 35) { popped.append(entry.value) }
        #expect(popped == [1, 2, 3])
        #expect(heap.first?.deadline == 40)
        #expect(heap.count == 2)
    }

    @Test func compactDropsDeadEntriesAndKeepsOrder() {
        var heap = DeadlineHeap<Int>()
        for value in (0..<100).reversed() { heap.push(deadline: Int64(value), value: value) }
        heap.compact { $0 % 3 == 0 }
        #expect(heap.count == 34)
        var popped: [Int] = []
        while let entry = heap.popDue(now: .max) { popped.append(entry.value) }
        #expect(popped == Array(stride(from: 0, to: 100, by: 3)))
    }
}
