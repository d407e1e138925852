import Testing

@testable import Notifiers

@Suite struct PointBufferTests {
    @Test func batchesStayUntilConfirmed() {
        var buffer = PointBuffer(capacity: 10)
        buffer.append(["a", "b", "c"])
        let first = buffer.batch(max: 2)
        #expect(Array(first.lines) == ["a", "b"])
        // A failed write confirms nothing: the same batch comes again.
        #expect(Array(buffer.batch(max: 2).lines) == ["a", "b"])
        buffer.confirm(first.end)
        #expect(buffer.count == 1)
        #expect(Array(buffer.batch(max: 5).lines) == ["c"])
    }

    @Test func linesArrivingDuringAWriteAreKept() {
        var buffer = PointBuffer(capacity: 10)
        buffer.append(["a", "b"])
        let inFlight = buffer.batch(max: 10)
        buffer.append(["c", "d"])
        buffer.confirm(inFlight.end)
        #expect(Array(buffer.batch(max: 10).lines) == ["c", "d"])
    }

    @Test func overflowDropsTheOldestAndCounts() {
        var buffer = PointBuffer(capacity: 3)
        buffer.append(["1", "2"])
        let inFlight = buffer.batch(max: 2)  // "1", "2"
        buffer.append(["3", "4", "5"])  // drops "1" and "2"
        #expect(buffer.dropped == 2)
        buffer.confirm(inFlight.end)  // they are gone already: nothing else is removed
        #expect(Array(buffer.batch(max: 10).lines) == ["3", "4", "5"])
        #expect(buffer.takeDropped() == 2)
        #expect(buffer.dropped == 0)
    }

    @Test func confirmingPartlyDroppedBatchRemovesOnlyTheRest() {
        var buffer = PointBuffer(capacity: 3)
        buffer.append(["1", "2", "3"])
        let inFlight = buffer.batch(max: 3)
        buffer.append(["4"])  // drops "1"
        buffer.confirm(inFlight.end)  // removes "2", "3"
        #expect(Array(buffer.batch(max: 10).lines) == ["4"])
    }

    @Test func manyLinesStayInOrder() {
        var buffer = PointBuffer(capacity: 5000)
        var next = 0
        var written: [String] = []
        for _ in 0..<100 {
            buffer.append((next..<next + 37).map(String.init))
            next += 37
            let batch = buffer.batch(max: 30)
            written += batch.lines
            buffer.confirm(batch.end)
        }
        while !buffer.isEmpty {
            let batch = buffer.batch(max: 30)
            written += batch.lines
            buffer.confirm(batch.end)
        }
        #expect(written == (0..<3700).map(String.init))
    }
}
