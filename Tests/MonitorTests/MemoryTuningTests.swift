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
    @Test(.enabled(if: glibcMalloc, "malloc is ThreadSanitizer's here, not glibc's"))
    func largeBlocksStayMappedAfterALargerOneIsFreed() throws {
        MemoryTuning.configureMalloc()
        let size = MemoryTuning.mmapThreshold + 4096
        let first = try #require(malloc(4 * size))
        #expect(MemoryTuning.isMapped(first))
        free(first)
        let blocks = try (0..<3).map { _ in try #require(malloc(size)) }
        defer { blocks.forEach { free($0) } }
        #expect(blocks.allSatisfy(MemoryTuning.isMapped))
        // Well below the threshold: from an arena.
        let small = try #require(malloc(MemoryTuning.mmapThreshold / 4))
        defer { free(small) }
        #expect(!MemoryTuning.isMapped(small))
    }
}
