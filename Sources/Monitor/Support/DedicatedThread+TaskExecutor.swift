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
        submit { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }
    }
}
