import AMQPClient
import Monitor
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// The one thread that owns a broker connection (librabbitmq is neither thread-safe nor
/// threaded), kept connected until graceful shutdown: the agent's and the controller's.
final class BrokerThread: Sendable {
    /// Wakes the thread from the others: work for it is ready, or it is to stop.
    let wake = WakeSignal()
    private let stopped = Flag()
    private let thread: DedicatedThread

    init(name: String) {
        thread = DedicatedThread(name: name)
    }

    /// Whether graceful shutdown has begun.
    var isStopping: Bool { stopped.isSet }

    /// Until graceful shutdown: `connect`, then `serve` the connection until it fails or returns
    /// (then it is closed politely). After a failure `lost` hears of it and of the pause before
    /// the next attempt (0.5 s, doubling up to 10 s), during which `pausing` is called every 50 ms.
    func run(
        connect: @escaping @Sendable () throws(AMQPConnection.Failure) -> AMQPConnection,
        serve: @escaping @Sendable (AMQPConnection) throws(AMQPConnection.Failure) -> Void,
        lost: @escaping @Sendable (AMQPConnection.Failure, _ pause: Double) -> Void,
        pausing: @escaping @Sendable () -> Void = {}
    ) async throws {
        try await withGracefulShutdownHandler {
            try await thread.run { [self] in
                var pause = 0.5
                while !isStopping {
                    do throws(AMQPConnection.Failure) {
                        let connection = try connect()
                        pause = 0.5
                        try serve(connection)
                        connection.closeGracefully()
                    } catch {
                        lost(error, pause)
                        let until = MonotonicClock().seconds() + pause
                        while !isStopping, MonotonicClock().seconds() < until {
                            pausing()
                            usleep(50_000)
                        }
                        pause = min(pause * 2, 10)
                    }
                }
            }
        } onGracefulShutdown: { [self] in
            stopped.set()
            wake.signal()
        }
        thread.stop()
    }
}
