import Monitor
import Testing

@testable import HTTPFace

@Suite struct DateHeaderTests {
    /// The header is the second's date, kept for the rest of that second and made again in the next.
    @Test func theDateOfTheSecond() {
        let header = DateHeader()
        #expect(header.now(millis: 1_795_611_909_042) == "Wed, 25 Nov 2026 13:05:09 GMT")
        #expect(header.now(millis: 1_795_611_909_999) == "Wed, 25 Nov 2026 13:05:09 GMT")
        #expect(header.now(millis: 1_795_611_910_000) == "Wed, 25 Nov 2026 13:05:10 GMT")
        #expect(header.now(millis: 1_795_611_850_000) == "Wed, 25 Nov 2026 13:04:10 GMT")
    }
}
