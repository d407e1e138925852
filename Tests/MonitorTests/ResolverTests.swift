#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import Monitor

/// A blocking lookup that hangs, as `getaddrinfo` does when no DNS server answers, until the test
/// releases it (or a minute passes, so a failing test cannot hang the run). Records every call.
final class HangingLookup: Sendable {
    private struct State {
        var released = false
        var calls: [String] = []
    }

    private let state = Locked(State())

    /// The hosts looked up so far, in order.
    var calls: [String] { state.withLock { $0.calls } }
    var isReleased: Bool { state.withLock { $0.released } }

    func release() { state.withLock { $0.released = true } }

    /// A resolver of `threads` threads and a queue of `capacity`, on this lookup.
    func resolver(threads: Int = 1, capacity: Int = 4) -> Resolver {
        Resolver(pool: BlockingPool(name: "test-resolver", threads: threads, capacity: capacity)) { host, port, _ in
            self.state.withLock { $0.calls.append(host) }
            let giveUp = MonotonicClock.nanos() + 60_000_000_000
            while !self.isReleased && MonotonicClock.nanos() < giveUp { usleep(1000) }
            return .success([SocketAddress(numeric: "127.0.0.1", port: port)!])
        }
    }

    /// Suspends until `count` lookups have started.
    func waitForCalls(_ count: Int) async {
        while calls.count < count { try? await Task.sleep(for: .milliseconds(1)) }
    }
}

/// `MonotonicClock` nanoseconds `seconds` from now.
func deadline(in seconds: Double) -> Int64 { MonotonicClock.nanos() + Int64(seconds * 1e9) }

/// Lookups against a resolver that never answers. Each waits for its own deadline (at most a
/// fraction of a second, bounded from below only: the deadline cannot come early) or for causal
/// events (a lookup started, a caller was answered), never for a wall-clock window.
@Suite struct ResolverTests {
    @Test func aLookupWithNoAnswerFailsAtItsDeadline() async throws {
        let hanging = HangingLookup()
        defer { hanging.release() }
        let resolver = hanging.resolver()
        let start = ContinuousClock.now
        do {
            _ = try await resolver.resolve("hang.test", port: 80, deadline: deadline(in: 0.2))
            Issue.record("a lookup with no answer succeeded")
        } catch {
            // The lookup had what was left of the 0.2 s when it was queued (a little less on a
            // loaded machine); the checks state the run's whole timeout.
            guard case .timedOut(let seconds) = error.reason else {
                Issue.record("expected a time-out, got \(error)")
                return
            }
            #expect(seconds > 0.1 && seconds <= 0.2)
            #expect(error.statingTimeout(0.2).description == "DNS lookup of hang.test did not answer within 0.2 s")
        }
        #expect(start.duration(to: .now) >= .milliseconds(200))
        // On a loaded machine the deadline may pass before the thread even starts the lookup.
        #expect(!hanging.isReleased && hanging.calls.count <= 1, "answered while the lookup still hung")
    }

    @Test func queuedLookupsWhoseCallerLeftNeverStart() async throws {
        let hanging = HangingLookup()
        defer { hanging.release() }
        let resolver = hanging.resolver(threads: 1)
        // "a" takes the only thread and hangs.
        let a = Task { try await resolver.resolve("a.test", deadline: deadline(in: 60)) }
        await hanging.waitForCalls(1)
        // "b" waits behind it and gives up at its deadline; "c" waits and is cancelled.
        do {
            _ = try await resolver.resolve("b.test", deadline: deadline(in: 0.1))
            Issue.record("b's lookup was answered")
        } catch {
            // The time it states is what was left of its 0.1 s when it was queued.
            guard case .timedOut = error.reason else {
                Issue.record("expected a time-out, got \(error)")
                return
            }
            #expect(error.host == "b.test")
        }
        let c = Task { try await resolver.resolve("c.test", deadline: deadline(in: 60)) }
        while resolver.pool.waiting < 1 { try await Task.sleep(for: .milliseconds(1)) }
        c.cancel()
        await #expect(throws: ResolveError(host: "c.test", reason: .cancelled)) { try await c.value }
        #expect(resolver.pool.waiting == 0, "a caller that left keeps no place in the queue")
        // Once the thread is free it runs "a"'s lookup to its end, then "d": never "b" or "c".
        hanging.release()
        #expect(try await a.value == [SocketAddress(numeric: "127.0.0.1", port: 0)!])
        _ = try await resolver.resolve("d.test", deadline: deadline(in: 60))
        #expect(hanging.calls == ["a.test", "d.test"])
    }

    @Test func aFullQueueRefusesAtOnce() async throws {
        let hanging = HangingLookup()
        defer { hanging.release() }
        let resolver = hanging.resolver(threads: 1, capacity: 2)
        let running = Task { try? await resolver.resolve("a.test", deadline: deadline(in: 60)) }
        await hanging.waitForCalls(1)
        let queued = (0..<2).map { i in Task { try? await resolver.resolve("q\(i).test", deadline: deadline(in: 60)) } }
        while resolver.pool.waiting < 2 { try await Task.sleep(for: .milliseconds(1)) }
        do {
            _ = try await resolver.resolve("full.test", deadline: deadline(in: 60))
            Issue.record("a lookup got into a full queue")
        } catch {
            #expect(error.reason == .queueFull(waiting: 2))
            #expect(error.description == "DNS lookup of full.test not started: lookup queue full (2 waiting); the resolver is not answering")
        }
        #expect(!hanging.isReleased, "refused while the queue was still full, not after its deadline")
        hanging.release()
        _ = await running.value
        for task in queued { _ = await task.value }
        #expect(hanging.calls == ["a.test", "q0.test", "q1.test"] || hanging.calls == ["a.test", "q1.test", "q0.test"])
    }

    @Test func aPastDeadlineFailsWithoutQueueing() async {
        let hanging = HangingLookup()
        defer { hanging.release() }
        await #expect(throws: ResolveError(host: "late.test", reason: .timedOut(seconds: 0))) {
            try await hanging.resolver().resolve("late.test", deadline: MonotonicClock.nanos() - 1)
        }
        #expect(hanging.calls.isEmpty)
    }

    @Test func numericHostsNeedNoThread() async throws {
        let hanging = HangingLookup()
        let addresses = try await hanging.resolver().resolve("192.0.2.1", port: 9, deadline: deadline(in: 0.001))
        #expect(addresses == [SocketAddress(numeric: "192.0.2.1", port: 9)!])
        #expect(hanging.calls.isEmpty)
    }
}
