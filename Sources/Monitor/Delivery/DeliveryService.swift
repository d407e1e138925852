import Logging
import ServiceLifecycle

/// The delivery loop of one notifier: takes batches from its queue and hands them to the
/// notifier, retrying failures with capped exponential backoff. On graceful shutdown it stops
/// taking new results, drains what is queued within `shutdownTimeout` seconds, saves the policy
/// state and shuts the notifier down.
public struct DeliveryService: Service {
    public let channel: NotifierChannel
    /// Seconds allowed for draining at shutdown.
    public let shutdownTimeout: Double
    /// First retry delay in seconds (doubled per retry, capped at 30 s).
    public let retryDelay: Double

    public init(channel: NotifierChannel, shutdownTimeout: Double, retryDelay: Double = 0.5) {
        self.channel = channel
        self.shutdownTimeout = shutdownTimeout
        self.retryDelay = retryDelay
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { background in
            background.addTask { try? await channel.notifier.run() }
            background.addTask { await saveStatePeriodically() }
            await drainUntilShutdown()
            await finish()
            background.cancelAll()
        }
    }

    /// Delivers until graceful shutdown, then drains what is queued within the deadline.
    private func drainUntilShutdown() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await drain() }
            group.addTask {
                do { try await gracefulShutdown() } catch { return }
                channel.queue.finish()
                try? await Task.sleep(for: .seconds(shutdownTimeout))
            }
            // Either the queue drained after shutdown (or the task was cancelled), or the deadline
            // passed: stop the other.
            await group.next()
            group.cancelAll()
        }
    }

    /// Delivers until the queue is finished and empty, or the task is cancelled.
    public func drain() async {
        while true {
            let batch = await channel.queue.next(max: channel.config.batchSize)
            if batch.isEmpty { return }
            await deliver(batch)
        }
    }

    /// Hands one batch to the notifier, with retries.
    func deliver(_ batch: [Delivery]) async {
        var attempt = 0
        while true {
            do {
                try await channel.notifier.send(batch)
                channel.count(delivered: batch.count)
                return
            } catch {
                let permanent = (error as? any PermanentError)?.isPermanent ?? false
                if attempt >= channel.config.retries || Task.isCancelled || permanent {
                    channel.count(failed: batch.count)
                    channel.logger.error(
                        "delivery failed, results lost",
                        metadata: [
                            "notifier": "\(channel.config.name)", "results": "\(batch.count)",
                            "attempts": "\(attempt + 1)", "error": "\(error)",
                        ])
                    return
                }
                let delay = min(30, retryDelay * Double(1 << min(attempt, 16)))
                channel.logger.warning(
                    "delivery failed, will retry",
                    metadata: [
                        "notifier": "\(channel.config.name)", "results": "\(batch.count)",
                        "retry_in": "\(delay)s", "error": "\(error)",
                    ])
                attempt += 1
                try? await Task.sleep(for: .seconds(delay))
            }
        }
    }

    private func saveStatePeriodically() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            saveState()
        }
    }

    private func saveState() {
        do {
            try channel.policies.save()
        } catch {
            channel.logger.warning(
                "cannot save policy state", metadata: ["notifier": "\(channel.config.name)", "error": "\(error)"])
        }
    }

    /// Reports what could not be delivered, saves state and shuts the notifier down.
    func finish() async {
        let left = channel.queue.count
        if left > 0 {
            channel.count(failed: left)
            channel.logger.error(
                "shutdown deadline passed, undelivered results dropped",
                metadata: ["notifier": "\(channel.config.name)", "results": "\(left)", "deadline": "\(shutdownTimeout)s"])
        }
        saveState()
        await channel.notifier.shutdown()
    }
}
