#if canImport(Glibc)
import Glibc
#endif

/// This process's resident memory, from `/proc/self/status` (Linux).
enum MemoryUsage {
    struct Unavailable: Error {}

    /// `VmRSS` in KiB.
    static func residentKiB() throws -> Int { try field("VmRSS:") }

    /// `VmHWM` (peak resident) in KiB.
    static func peakKiB() throws -> Int { try field("VmHWM:") }

    /// Resets the peak to the current resident size (`echo 5 > /proc/self/clear_refs`) and
    /// returns that size in KiB.
    static func resetPeak() throws -> Int {
        if let file = fopen("/proc/self/clear_refs", "w") {
            fputs("5", file)
            fclose(file)
        }
        return try residentKiB()
    }

    private static func field(_ name: String) throws -> Int {
        guard let file = fopen("/proc/self/status", "r") else { throw Unavailable() }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 512)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            let line = String(cString: buffer)
            if line.hasPrefix(name), let kib = Int(line.dropFirst(name.count).filter(\.isNumber)) { return kib }
        }
        throw Unavailable()
    }
}
