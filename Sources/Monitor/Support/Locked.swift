import Synchronization

/// A value behind `Synchronization.Mutex`, that ThreadSanitizer sees being handed over.
///
/// Use it where a `Mutex` would do: `let state = Locked(State())`, then
/// `state.withLock { $0.count += 1 }`. In every build but `make tsan` it is the `Mutex` and
/// nothing else (the wrapper is inlined away).
///
/// Why it exists: on Linux a contended `Mutex` passes the lock from one thread to the next in
/// code ThreadSanitizer does not watch (its slow path, FUTEX_LOCK_PI and FUTEX_UNLOCK_PI, is in
/// the uninstrumented runtime library, and the kernel hands the lock straight to the waiter).
/// TSan then misses that the second thread's accesses come after the first's and reports
/// correctly locked state as a data race. `make tsan` compiles with `-DHM_TSAN`, and then each
/// `withLock` tells TSan itself: acquire on the mutex's address once the lock is taken, release
/// before it is given back. That is exactly a mutex's ordering, so TSan judges the code under
/// the lock as it would a `pthread_mutex_t`, with no suppression that could hide a real race.
@frozen
public struct Locked<Value: ~Copyable>: ~Copyable {
    @usableFromInline
    let mutex: Mutex<Value>

    /// A lock guarding `initialValue`.
    @inlinable
    public init(_ initialValue: consuming sending Value) {
        mutex = Mutex(initialValue)
    }

    /// Runs `body` with the value, holding the lock; waits for it when another thread holds it.
    @inlinable
    public borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        #if HM_TSAN
        // The mutex's own address is the key: it is stable (a Mutex never moves), and reading
        // it is no access to the value, which TSan would check before the acquire.
        let key = withUnsafePointer(to: mutex) { UnsafeRawPointer($0) }
        return try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            tsanAcquire(key)
            defer { tsanRelease(key) }
            return try body(&value)
        }
        #else
        return try mutex.withLock(body)
        #endif
    }
}

extension Locked: Sendable where Value: ~Copyable {}

#if HM_TSAN
// ThreadSanitizer's annotation interface (compiler-rt's tsan_interface.h), linked into every
// binary built with `-sanitize=thread`. One pointer argument and no result: Swift's calling
// convention passes it as C does.
@usableFromInline @_silgen_name("__tsan_acquire")
func tsanAcquire(_ address: UnsafeRawPointer)

@usableFromInline @_silgen_name("__tsan_release")
func tsanRelease(_ address: UnsafeRawPointer)
#endif
