import Logging
import Monitor
import ServiceLifecycle
import UnixSignals

/// How `run` and `once` stop: within one deadline, and at once when asked twice.
///
/// - The first SIGTERM or SIGINT starts a graceful shutdown: the scheduler stops, then every
///   notifier drains at the same time (`DeliveryGroup`) within `settings.shutdown_timeout`.
/// - Should anything still run a second after that deadline, the service group cancels it
///   (service-lifecycle's maximum graceful-shutdown duration).
/// - A second SIGTERM or SIGINT cancels everything at once: notifiers stop where they are, the
///   spooling sinks write what they hold in memory to their spool, and the process exits.
enum StopControl {
    /// Seconds past `shutdown_timeout` before the group escalates to cancellation.
    static let escalationMargin = 1.0
    /// Seconds cancelled services get to end before service-lifecycle gives up on them
    /// (it then stops the process with a fatal error).
    static let cancellationGrace = 5.0

    static func run(_ services: [any Service], shutdownTimeout: Double, logger: Logger) async throws {
        try await run(services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }, shutdownTimeout: shutdownTimeout, logger: logger)
    }

    static func run(
        _ services: [ServiceGroupConfiguration.ServiceConfiguration], shutdownTimeout: Double, logger: Logger
    ) async throws {
        var configuration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(shutdownTimeout + escalationMargin)
        configuration.maximumCancellationDuration = .seconds(cancellationGrace)
        let group = ServiceGroup(configuration: configuration)
        let running = Task { try await group.run() }
        // The service group reacts to the first signal; this watcher counts them and cancels the
        // whole run on the second.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let watcher = Task {
            var seen = 0
            for await signal in signals {
                seen += 1
                if seen == 1 {
                    logger.notice(
                        "stopping: notifiers drain for at most \(shutdownTimeout) s; send the signal again to stop at once",
                        metadata: ["signal": "\(signal)"])
                } else {
                    logger.warning(
                        "second signal: stopping at once; spooling notifiers keep what they hold on disk",
                        metadata: ["signal": "\(signal)"])
                    running.cancel()
                    return
                }
            }
        }
        defer { watcher.cancel() }
        try await withTaskCancellationHandler {
            try await running.value
        } onCancel: {
            running.cancel()
        }
    }
}
