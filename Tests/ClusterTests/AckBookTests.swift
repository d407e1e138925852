import Testing

@testable import Cluster

struct AckBookTests {
    /// Confirmed requests at the front go in one multiple ack; those behind a request still
    /// running are acknowledged one by one, never held back by it.
    @Test func theFrontGoesAtOnceTheRestOneByOne() {
        var book = AckBook()
        for tag in 1...6 { book.delivered(UInt64(tag)) }
        #expect(book.take() == (nil, []))
        book.confirmed(2)
        book.confirmed(1)
        book.confirmed(5)
        let first = book.take()
        #expect(first.upTo == 2 && first.singles == [5])
        #expect(book.count == 3)  // 3, 4 and 6 run
        #expect(book.take() == (nil, []))
        book.confirmed(4)
        book.confirmed(3)
        book.confirmed(6)
        let second = book.take()
        #expect(second.upTo == 6 && second.singles.isEmpty)
        #expect(book.count == 0)
    }

    /// A rejected request leaves the book: it neither blocks the front nor is acknowledged.
    @Test func aForgottenTagNeitherBlocksNorIsAcknowledged() {
        var book = AckBook()
        for tag in 1...3 { book.delivered(UInt64(tag)) }
        book.confirmed(3)
        book.forget(1)
        #expect(book.take() == (nil, [3]))
        book.confirmed(2)
        #expect(book.take() == (2, []))
        #expect(book.count == 0)
    }
}
