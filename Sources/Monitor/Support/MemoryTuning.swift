import Foundation
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

    /// The size from which glibc's malloc maps a block of its own (given back to the system when
    /// freed) instead of taking it from an arena.
    public static let mmapThreshold = 128 * 1024

    /// Fixes glibc's mmap threshold at `mmapThreshold` (unless `MALLOC_MMAP_THRESHOLD_` or a
    /// `glibc.malloc.mmap_threshold` tunable says otherwise).
    ///
    /// By default glibc raises the threshold to the size of each mapped block freed (up to
    /// 32 MB), so after the first large arrays are freed (the history's batch of 20,000 results
    /// at 10,000 checks a second, a `/metrics` scrape's buffers) the next ones come from the
    /// arenas, and what is freed there between long-lived blocks stays resident. Measured with
    /// `scripts/bench-product.sh hostport 10000 15`: peak RSS 92 → 82 MB.
    public static func fixMmapThreshold() {
        guard getenv("MALLOC_MMAP_THRESHOLD_") == nil else { return }
        if let tunables = getenv("GLIBC_TUNABLES"), String(cString: tunables).contains("mmap_threshold") { return }
        _ = clinux_set_mmap_threshold(Int32(mmapThreshold))
    }

    /// `limitMallocArenas` and `fixMmapThreshold`: what a long-running monitor process does first.
    public static func configureMalloc() {
        limitMallocArenas()
        fixMmapThreshold()
    }

    /// Whether glibc mapped the block at `pointer` (from `malloc`) of its own: the IS_MMAPPED bit
    /// of the size word before it (glibc's `chunk_is_mmapped`).
    static func isMapped(_ pointer: UnsafeMutableRawPointer) -> Bool {
        (pointer - MemoryLayout<Int>.size).load(as: Int.self) & 2 != 0
    }

    /// Gives back the pages of the executable that starting touched (`madvise(MADV_PAGEOUT)` over
    /// its read-only mappings), once the runtime is built.
    ///
    /// Starting runs code that never runs again (argument parsing, YAML, config validation,
    /// service set-up), spread over a 26 MB text and 38 MB read-only data. Each page touched
    /// maps its neighbours too (the kernel's fault-around, 64 KB), so with 10,000 checks about
    /// 17 MB of the binary was resident, of which the running monitor uses about 10 MB. The
    /// pages are dropped from the page cache: what the checks, notifiers and history run is read
    /// back from the file within the first second (once: a slow disk delays those first runs).
    /// The kernel leaves alone pages another process maps too (a second monitor from the same
    /// file) and dirty ones.
    ///
    /// `MADV_PAGEOUT`, never `MADV_DONTNEED`: the read-only mappings include the relocated data
    /// (RELRO), private copies that `DONTNEED` would discard and `PAGEOUT` swaps or keeps.
    ///
    /// Returns the bytes advised (0 where the kernel has no MADV_PAGEOUT, before Linux 5.4) and,
    /// when `measuring` (for a debug log: it reads `/proc/self/smaps` twice), the kilobytes of
    /// the executable resident before and after.
    @discardableResult
    public static func releaseStartupCode(measuring: Bool = false) -> (advisedBytes: Int, residentKilobytes: (before: Int, after: Int)?) {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8), let executable = executablePath() else { return (0, nil) }
        let before = measuring ? residentKilobytes(of: executable) : 0
        var advised = 0
        for line in maps.split(separator: "\n") {
            // address perms offset device inode path
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, fields[5].trimmingPrefix(while: { $0 == " " }) == executable, !fields[1].contains("w"),
                let dash = fields[0].firstIndex(of: "-"), let low = UInt(fields[0][..<dash], radix: 16),
                let high = UInt(fields[0][fields[0].index(after: dash)...], radix: 16), high > low,
                let start = UnsafeMutableRawPointer(bitPattern: low)
            else { continue }
            if clinux_madvise_pageout(start, Int(high - low)) == 0 { advised += Int(high - low) }
        }
        return (advised, measuring ? (before, residentKilobytes(of: executable)) : nil)
    }

    /// Kilobytes of this process resident from mappings of `file` (`/proc/self/smaps`).
    static func residentKilobytes(of file: Substring) -> Int {
        guard let smaps = try? String(contentsOfFile: "/proc/self/smaps", encoding: .utf8) else { return 0 }
        var inFile = false
        var total = 0
        for line in smaps.split(separator: "\n") {
            if let first = line.first, first.isHexDigit, line.contains("-") {
                inFile = line.hasSuffix(" " + file)
            } else if inFile && line.hasPrefix("Rss:") {
                total += Int(line.dropFirst(4).trimmingPrefix(while: { $0 == " " }).prefix(while: \.isNumber)) ?? 0
            }
        }
        return total
    }

    /// The path of the running executable (`/proc/self/exe`).
    private static func executablePath() -> Substring? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return Substring(String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Returns the heap's free pages to the system (`malloc_trim`). glibc keeps memory freed in
    /// the middle of the heap; a burst (the history's batch of every check's first result) would
    /// otherwise stay resident for the life of the process.
    public static func returnFreeMemory() {
        _ = malloc_trim(0)
    }
}
