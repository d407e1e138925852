internal import CLinux

#if canImport(Glibc)
import Glibc
#endif

/// Process-wide memory settings for a long-running monitor.
public enum MemoryTuning {
    /// Limits glibc's malloc to two arenas (unless `MALLOC_ARENA_MAX` is set).
    ///
    /// glibc gives threads up to 8 × cores arenas, and each keeps the memory freed into it; the
    /// monitor has several threads that allocate (the cooperative pool, the connect reactor, the
    /// ICMP reader, the resolver, the notifier threads). Measured with
    /// `scripts/bench-hostport.sh 10000 30`: peak RSS 102 → 90 MB, CPU per check 51 → 45 µs.
    public static func limitMallocArenas() {
        guard getenv("MALLOC_ARENA_MAX") == nil else { return }
        _ = clinux_limit_malloc_arenas(2)
    }

    /// Returns the heap's free pages to the system (`malloc_trim`). glibc keeps memory freed in
    /// the middle of the heap; a burst (the history's batch of every check's first result) would
    /// otherwise stay resident for the life of the process.
    public static func returnFreeMemory() {
        _ = malloc_trim(0)
    }
}
