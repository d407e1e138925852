import Logging

/// Hands every result to every notifier channel; each applies its own policy and queue.
public final class ResultRouter: Sendable {
    public let channels: [NotifierChannel]
    private let logger: Logger

    public init(channels: [NotifierChannel], logger: Logger) {
        self.channels = channels
        self.logger = logger
    }

    /// Routes one result. Never waits: queues are bounded and drop (counted) when full.
    public func route(_ result: CheckResult) {
        if logger.logLevel <= .debug {
            logger.debug(
                "result",
                metadata: ["check": "\(result.key)", "status": "\(result.status.rawValue)", "message": "\(result.message)"])
        }
        for channel in channels { channel.offer(result) }
    }
}
