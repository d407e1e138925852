/// A byte buffer kept from one write to the next (a spool's lines, a round of AMQP frames).
///
/// A batch's bytes (tens to hundreds of KiB) in a new array each time doubled their way up, and
/// each size past glibc's mmap threshold (128 KiB, `MemoryTuning`) was a fresh mapping whose
/// pages faulted in one by one. A buffer that grew past `keptCapacity` (a spill of thousands of
/// records) is let go rather than held for good.
public struct ReusableBytes: Sendable {
    /// The largest capacity kept between uses.
    public static let keptCapacity = 1 << 20

    private var kept: [UInt8] = []

    public init() {}

    /// The buffer, empty, with the capacity of earlier uses (at least `minimumCapacity`).
    public mutating func take(minimumCapacity: Int = 0) -> [UInt8] {
        var buffer: [UInt8] = []
        swap(&buffer, &kept)
        buffer.removeAll(keepingCapacity: true)
        buffer.reserveCapacity(minimumCapacity)
        return buffer
    }

    /// Keeps `buffer` for the next `take` unless it grew past `keptCapacity`.
    public mutating func keep(_ buffer: [UInt8]) {
        if buffer.capacity <= Self.keptCapacity { kept = buffer }
    }
}
