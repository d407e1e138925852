import Monitor
import NIOPosix
import Testing

@testable import HTTPFace

@Suite struct BodyPacingTests {
    /// Between two parts of a streamed body the writer waits until the connection's event loop
    /// has run what was handed to it before (there: a write that takes 50 ms); outside a
    /// connection (no event loop) it does not wait.
    @Test func theNextPartWaitsForTheLoopToRunTheLastOne() async throws {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let written = Flag()
        eventLoop.execute {
            usleep(50_000)
            written.set()
        }
        try await BodyPacing.$eventLoop.withValue(eventLoop) { try await BodyPacing.waitForTheWrites() }
        #expect(written.isSet)

        let later = Flag()
        eventLoop.execute {
            usleep(200_000)
            later.set()
        }
        try await BodyPacing.waitForTheWrites()
        #expect(!later.isSet, "without a connection's loop there is nothing to wait for")
        try await eventLoop.submit {}.get()
    }
}
