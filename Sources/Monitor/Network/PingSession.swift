/// What waits for echo requests sent through an `ICMPEngine`: told once per request whether it
/// was answered or lost.
protocol EchoWaiter: AnyObject, Sendable {
    /// Request `index` was answered after `rttNanos`.
    func replied(index: Int, rttNanos: Int64, ttl: Int?)
    /// Request `index` got no (acceptable) reply in time, or was never sent.
    func lost(index: Int)
}

/// The requests of one `ping` run and what became of them: filled in by the ICMP reader thread,
/// awaited by the check.
final class PingSession: EchoWaiter {
    /// What the run saw.
    struct Summary: Sendable, Hashable {
        /// Requests sent (including sends that failed).
        var sent = 0
        /// Round-trip times of the answered requests, nanoseconds, in request order.
        var roundTrips: [Int64] = []
        /// TTL (IPv4) or hop limit (IPv6) of the last reply.
        var ttl: Int?
        /// `errno` of the first failed send, if any.
        var sendError: Int32?
    }

    private struct State {
        var roundTrips: [Int64?]
        var sent = 0
        var outstanding = 0
        var ttl: Int?
        var sendError: Int32?
        var keys: [UInt64] = []
        /// Called once every request sent has been answered or has expired.
        var whenSettled: (@Sendable () -> Void)?
    }

    private let state: Locked<State>

    init(count: Int) {
        state = Locked(State(roundTrips: [Int64?](repeating: nil, count: count)))
    }

    /// Sends request `index` through `engine`; a failed send counts as a lost request.
    func send(index: Int, engine: ICMPEngine, to destination: SocketAddress, payloadSize: Int, expiry: Int64) {
        state.withLock { s in
            s.sent += 1
            s.outstanding += 1
        }
        switch engine.send(waiter: self, index: index, to: destination, payloadSize: payloadSize, expiry: expiry) {
        case .success(let key):
            state.withLock { $0.keys.append(key) }
        case .failure(let error):
            state.withLock { s in
                if s.sendError == nil { s.sendError = error.code }
            }
            lost(index: index)
        }
    }

    /// The keys of the requests sent so far (for `ICMPEngine.cancel`).
    var keys: [UInt64] { state.withLock { $0.keys } }

    func replied(index: Int, rttNanos: Int64, ttl: Int?) {
        resolve { s in
            s.roundTrips[index] = rttNanos
            if let ttl { s.ttl = ttl }
        }
    }

    func lost(index: Int) {
        resolve { _ in }
    }

    private func resolve(_ update: (inout State) -> Void) {
        let settled = state.withLock { s -> (@Sendable () -> Void)? in
            update(&s)
            s.outstanding -= 1
            guard s.outstanding == 0 else { return nil }
            defer { s.whenSettled = nil }
            return s.whenSettled
        }
        settled?()
    }

    /// Returns when every request sent so far has been answered or has expired.
    func waitForReplies() async {
        await withUnsafeContinuation { continuation in whenSettled { continuation.resume() } }
    }

    /// Calls `action` (once) when every request sent so far has been answered or has expired:
    /// at once when none is outstanding, else on the thread that settles the last one.
    func whenSettled(_ action: @escaping @Sendable () -> Void) {
        let ready = state.withLock { s -> Bool in
            if s.outstanding == 0 { return true }
            s.whenSettled = action
            return false
        }
        if ready { action() }
    }

    /// What happened so far.
    var summary: Summary {
        state.withLock { s in
            Summary(sent: s.sent, roundTrips: s.roundTrips.compactMap { $0 }, ttl: s.ttl, sendError: s.sendError)
        }
    }
}
