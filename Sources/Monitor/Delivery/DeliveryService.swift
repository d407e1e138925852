import Logging
import ServiceLifecycle

/// The delivery loop of one notifier: takes batches from its queue and hands them to the
/// notifier, retrying failures with capped exponential backoff.
///
/// On graceful shutdown it stops taking new results and has `shutdownTimeout` seconds for
/// everything else: draining what is queued, saving the policy state and shutting the notifier
/// down. When the deadline passes (or the task is cancelled: a second signal), the work in hand
/// is cancelled, which notifiers answer by stopping at once and keeping on disk what they must
/// (the spooling sinks); what is still queued is counted and logged as dropped.
///
/// Policy state is written off Swift's cooperative threads (a save is an `fsync`): on a thread
/// of its own, every `stateSaveInterval` seconds and as soon as an alert opens or closes.
public struct DeliveryService: Service {
    public let channel: NotifierChannel
    /// Seconds the whole stop may take, from the graceful-shutdown signal.
    public let shutdownTimeout: Double
    /// First retry delay in seconds (doubled per retry, capped at 30 s).
    public let retryDelay: Double
    /// Seconds between two saves of the policy state when nothing urgent happens.
    public let stateSaveInterval: Double

    public init(channel: NotifierChannel, shutdownTimeout: Double, retryDelay: Double = 0.5, stateSaveInterval: Double = 5) {
        self.channel = channel
        self.shutdownTimeout = shutdownTimeout
        self.retryDelay = retryDelay
        self.stateSaveInterval = stateSaveInterval
    }

    public func run() async throws {
        // Started here, not in `init`: `healthmonitor validate` builds services it never runs.
        let stateWriter = DedicatedThread(name: "state-\(channel.config.name)")
        await withTaskGroup(of: Void.self) { background in
            background.addTask { try? await channel.notifier.run() }
            background.addTask { await saveStatePeriodically(on: stateWriter) }
            background.addTask { await saveAlertTransitions(on: stateWriter) }
            await deliverUntilStopped(stateWriter: stateWriter)
            background.cancelAll()
        }
        await stateWriter.finish(abandonAfter: 1)
    }

    /// Delivers until graceful shutdown, then drains and shuts the notifier down by the deadline.
    private func deliverUntilStopped(stateWriter: DedicatedThread) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await drain()
                await finish(stateWriter: stateWriter)
            }
            group.addTask {
                do { try await gracefulShutdown() } catch { return }
                channel.queue.finish()
                try? await Task.sleep(for: .seconds(shutdownTimeout))
            }
            // Either the notifier finished (drained and shut down after graceful shutdown, or
            // the task was cancelled), or the deadline passed: stop the other.
            await group.next()
            group.cancelAll()
        }
    }

    /// Delivers until the queue is finished and empty, or the task is cancelled.
    public func drain() async {
        while !Task.isCancelled {
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

    private func saveStatePeriodically(on writer: DedicatedThread) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(stateSaveInterval))
            await saveState(on: writer)
        }
    }

    private func saveAlertTransitions(on writer: DedicatedThread) async {
        for await _ in channel.policies.alertTransitions {
            await saveState(on: writer)
        }
    }

    private func saveState(on writer: DedicatedThread) async {
        let policies = channel.policies
        do {
            try await writer.run { try policies.save() }
        } catch {
            channel.logger.warning(
                "cannot save policy state", metadata: ["notifier": "\(channel.config.name)", "error": "\(error)"])
        }
    }

    /// Reports what could not be delivered, saves state and shuts the notifier down. Runs to the
    /// end even when cancelled: the notifier's `shutdown()` then returns at once.
    func finish(stateWriter: DedicatedThread) async {
        let left = channel.queue.count
        if left > 0 && channel.journaled {
            channel.logger.warning(
                "shutdown deadline passed; undelivered results stay in the intake log for the next start",
                metadata: ["notifier": "\(channel.config.name)", "results": "\(left)", "deadline": "\(shutdownTimeout)s"])
        } else if left > 0 {
            channel.count(failed: left)
            channel.logger.error(
                "shutdown deadline passed, undelivered results dropped",
                metadata: ["notifier": "\(channel.config.name)", "results": "\(left)", "deadline": "\(shutdownTimeout)s"])
        }
        await saveState(on: stateWriter)
        await channel.notifier.shutdown()
    }
}

/// Every notifier's `DeliveryService` as one service, so that at shutdown they all drain at the
/// same time within the one `shutdown_timeout`, instead of one after the other (the service
/// group stops its services in sequence).
///
/// With an intake log, the group starts it first and stops it last, once every notifier has
/// settled what it could: the log then keeps on disk only what some notifier did not settle.
public struct DeliveryGroup: Service {
    public let services: [DeliveryService]
    public let intake: IntakeLog?
    /// Set once every notifier's delivery has started (`/readyz`).
    public let started: Flag?

    public init(services: [DeliveryService], intake: IntakeLog? = nil, started: Flag? = nil) {
        self.services = services
        self.intake = intake
        self.started = started
    }

    public func run() async throws {
        intake?.start()
        await withDiscardingTaskGroup { group in
            for service in services {
                group.addTask { try? await service.run() }
            }
            started?.set()
        }
        await intake?.stop()
    }
}

/// How service-lifecycle logs the services (their default would print every notifier's options).
extension DeliveryService: CustomStringConvertible {
    public var description: String { "DeliveryService(\(channel.config.name))" }
}

extension DeliveryGroup: CustomStringConvertible {
    public var description: String { "DeliveryGroup(\(services.map(\.channel.config.name).joined(separator: ", ")))" }
}
