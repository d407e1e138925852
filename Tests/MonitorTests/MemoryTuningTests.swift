@testable import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct MemoryTuningTests {
    /// Under ThreadSanitizer (`make tsan`) `malloc` is the sanitizer's, not glibc's.
    static let glibcMalloc = dlsym(nil, "__tsan_init") == nil

    /// glibc's default raises the threshold to the size of a mapped block when it is freed, so
    /// the next block of that size would come from an arena (and stay resident once freed);
    /// fixed, every block from the threshold up is mapped, before and after a larger one is freed.
    ///
    /// In a process of its own, as the monitor sets it up (first thing, in a fresh process):
    /// glibc serves even a large block from an arena that has a free chunk of its size, and in
    /// this one the tests running beside it leave such chunks (it failed once that way).
    @Test(.enabled(if: glibcMalloc, "malloc is ThreadSanitizer's here, not glibc's"))
    func largeBlocksStayMappedAfterALargerOneIsFreed() async {
        await #expect(processExitsWith: .exitCode(0)) {
            MemoryTuning.configureMalloc()
            // What the test runner freed before this point goes back too: no free chunk left
            // in the arenas that could hold the blocks below.
            MemoryTuning.returnFreeMemory()
            let size = MemoryTuning.mmapThreshold + 4096
            guard let first = malloc(4 * size) else { exit(3) }
            guard MemoryTuning.isMapped(first) else { exit(1) }
            free(first)
            let blocks = (0..<3).compactMap { _ in malloc(size) }
            guard blocks.count == 3, blocks.allSatisfy(MemoryTuning.isMapped) else { exit(2) }
            // Well below the threshold: from an arena.
            guard let small = malloc(MemoryTuning.mmapThreshold / 4), !MemoryTuning.isMapped(small) else { exit(4) }
            exit(0)
        }
    }
}
