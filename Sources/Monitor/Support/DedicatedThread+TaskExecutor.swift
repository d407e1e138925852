#if canImport(Glibc)
import Glibc
#endif

/// A `DedicatedThread` is also a task executor, so async code can run a stretch of blocking work
/// (a file written with `fsync`, a C call) on the thread without hopping back and forth per call:
///
/// ```swift
/// try await withTaskExecutorPreference(thread) {
///     try book.save()   // runs on `thread`, not on a cooperative thread
/// }
/// ```
///
/// Task-local values (loggers, the test runner's current test) carry over, since the work stays
/// in the same task.
extension DedicatedThread: TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        do {
            try submit { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }
        } catch {
            // A task must never be dropped (it would hang forever): say so loudly and let the
            // global executor run it. Preferring a stopped thread is a programming error.
            let message = Array("healthmonitor: \(error); running the task on the global executor instead\n".utf8)
            _ = message.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
        }
    }
}
