import Monitor

/// A notifier that records what it receives, optionally failing or hanging, for delivery tests.
final class RecordingNotifier: Notifier {
    enum Behaviour: Sendable {
        case accept
        case fail
        /// Never returns until cancelled.
        case hang
        /// Takes this long per batch.
        case slow(Duration)
    }

    private let received = Locked<[Delivery]>([])
    private let calls = Locked(0)
    private let shutdowns = Locked(0)
    let behaviour: Behaviour

    init(_ behaviour: Behaviour = .accept) {
        self.behaviour = behaviour
    }

    struct Refused: Error {}

    func send(_ batch: [Delivery]) async throws {
        calls.withLock { $0 += 1 }
        switch behaviour {
        case .accept: break
        case .fail: throw Refused()
        case .hang:
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            throw CancellationError()
        case .slow(let d): try? await Task.sleep(for: d)
        }
        received.withLock { $0 += batch }
    }

    func shutdown() async {
        shutdowns.withLock { $0 += 1 }
    }

    var deliveries: [Delivery] { received.withLock { $0 } }
    var sendCalls: Int { calls.withLock { $0 } }
    var shutdownCalls: Int { shutdowns.withLock { $0 } }
}
