import Logging
import Synchronization

/// Hands every result to every notifier channel; each applies its own policy and queue.
public final class ResultRouter: Sendable {
    public let channels: [NotifierChannel]
    private let logger: Logger
    private let routed = Atomic<Int>(0)
    private let lastRouted = Atomic<Int64>(0)

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
        routed.add(1, ordering: .relaxed)
        lastRouted.store(result.createdMillis, ordering: .relaxed)
    }

    /// Results routed so far.
    public var resultCount: Int { routed.load(ordering: .relaxed) }

    /// Start time (Unix milliseconds) of the last result routed; 0 before the first.
    public var lastResultMillis: Int64 { lastRouted.load(ordering: .relaxed) }
}
